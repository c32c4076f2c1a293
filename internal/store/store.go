// Package store keeps what `redoubt serve` learns with history: findings (first seen, last seen,
// resolved, reopened, and the exception that suppressed them), audits (scans), image
// inventories per digest with their vulnerability matches, runtime baselines, and notification
// delivery state. One interface, two engines: SQLite (embedded default, one file under
// --data-dir) and PostgreSQL (--database-url, for several replicas). Both pass the same test
// suite (storetest). Findings are never written into etcd.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
)

// State is where a stored finding is in its life.
type State string

// The states of a stored finding. Suppressed is not a state of its own: an open finding whose
// Finding.Suppressed is set is suppressed, and Query can ask for it.
const (
	StateOpen     State = "open"
	StateResolved State = "resolved"
)

// Scope names one stream of findings that is replaced as a whole by each audit of it. The
// cluster audit is one scope ("cluster"); each image digest's vulnerability matching another
// ("image:sha256:..."), so a database change re-matches an image without touching the rest.
// Event-like findings (runtime detections, audit-log detections) are added with AddFindings and
// are never resolved by absence.
type Scope string

// ScopeCluster is the scope of the deploy/infra/build findings of the cluster audit.
const ScopeCluster Scope = "cluster"

// Record is one finding as stored, with its history summarised.
type Record struct {
	// ID is the finding's fingerprint: stable across audits for the same check, resource,
	// location and vulnerability (see Fingerprint).
	ID        string          `json:"id"`
	Scope     Scope           `json:"scope"`
	State     State           `json:"state"`
	Finding   finding.Finding `json:"finding"`
	FirstSeen time.Time       `json:"firstSeen"`
	LastSeen  time.Time       `json:"lastSeen"`
	// ResolvedAt is when the audit that no longer produced the finding ran; nil while open.
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
}

// EventKind is what happened to a finding at one audit.
type EventKind string

// The history events of a finding.
const (
	EventOpened     EventKind = "opened"
	EventResolved   EventKind = "resolved"
	EventReopened   EventKind = "reopened"
	EventSuppressed EventKind = "suppressed"   // an exception began to apply
	EventUnsupp     EventKind = "unsuppressed" // an exception stopped applying (removed, expired)
)

// Event is one entry of a finding's history.
type Event struct {
	FindingID string    `json:"findingId"`
	Kind      EventKind `json:"kind"`
	At        time.Time `json:"at"`
	ScanID    int64     `json:"scanId,omitempty"`
	// Suppression is the exception that began to apply, for EventSuppressed.
	Suppression *finding.Suppression `json:"suppression,omitempty"`
}

// Scan is one stored audit of a scope.
type Scan struct {
	ID       int64     `json:"id"`
	Scope    Scope     `json:"scope"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Findings counts the findings the audit produced; New, Reopened and Resolved what changed.
	Findings int `json:"findings"`
	New      int `json:"new"`
	Reopened int `json:"reopened"`
	Resolved int `json:"resolved"`
	// Note is free text about the audit's input ("snapshot version 41", "database 2026-12-01").
	Note string `json:"note,omitempty"`
}

// Change is what one audit changed: the records that are new, reopened, or resolved by it.
// Notifications are sent from it.
type Change struct {
	Scan     Scan
	New      []Record
	Reopened []Record
	Resolved []Record
}

// Query selects stored findings. Empty fields match everything.
type Query struct {
	Phase     []finding.Phase
	Severity  []finding.Severity
	Namespace string
	// Workload is "Kind/name" or "name".
	Workload string
	Check    string
	// State is open, resolved or suppressed (open and suppressed).
	State string
	Scope Scope
	// Digest keeps findings about the image with this manifest digest (Location.Digest): the
	// workloads running an image, and what is wrong with it.
	Digest string
	// Since keeps findings whose LastSeen is at or after it.
	Since time.Time
	// Text matches the message, title, check or resource name (case-insensitive substring).
	Text string
	// Limit bounds the page (default 100, at most 1000); After is the cursor returned by the
	// previous page.
	Limit int
	After string
}

// Image is one image digest's stored inventory: packages by layer, components, and the
// vulnerability matches of its last matching.
type Image struct {
	Digest    string        `json:"digest"`
	Refs      []string      `json:"refs"`
	Report    *image.Report `json:"report"`
	ScannedAt time.Time     `json:"scannedAt"`
	// MatchedAt is when the vulnerabilities were last matched, and against which database.
	MatchedAt time.Time `json:"matchedAt"`
	DBVersion string    `json:"dbVersion,omitempty"`
}

// ErrNotFound is returned for an ID, digest or baseline that is not stored.
var ErrNotFound = errors.New("not found")

// ErrSchemaTooNew is returned by Open when the database was migrated by a newer Redoubt.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary knows")

// Store is the persistence every part of `redoubt serve` writes through. Every method is safe for
// concurrent use; every write is one transaction, so a crash (kill -9) leaves the store as it was
// before the write or after it, never between.
type Store interface {
	// RecordScan stores one audit of a scope: every finding in fs is upserted (first seen kept,
	// last seen = at, reopened if it was resolved), and every open finding of the scope that fs
	// does not hold is resolved at `at`. It returns what changed.
	RecordScan(ctx context.Context, scope Scope, started, at time.Time, fs []finding.Finding, note string) (*Change, error)
	// AddFindings stores event-like findings (runtime, audit log) without resolving others; it
	// returns the records that are new (or reopened).
	AddFindings(ctx context.Context, scope Scope, at time.Time, fs []finding.Finding) (*Change, error)

	// Findings returns one page of findings and the cursor of the next page ("" at the end).
	Findings(ctx context.Context, q Query) ([]Record, string, error)
	// Finding returns one finding by ID, and History its events, oldest first.
	Finding(ctx context.Context, id string) (*Record, error)
	History(ctx context.Context, id string) ([]Event, error)
	// Scans returns the newest scans first, at most limit of them.
	Scans(ctx context.Context, scope Scope, limit int) ([]Scan, error)

	// PutImage stores (replaces) an image digest's inventory; Image and Images read them back.
	PutImage(ctx context.Context, img *Image) error
	Image(ctx context.Context, digest string) (*Image, error)
	// Images calls fn for every stored image, one at a time, so re-matching every inventory after
	// a database change does not hold them all in memory.
	Images(ctx context.Context, fn func(*Image) error) error

	// Close releases the database.
	Close() error
}

// StoredException is an exception added through the API (POST /api/v1/exceptions): the same
// model as the exceptions of .redoubt.yaml, with who added it and when.
type StoredException struct {
	// ID is assigned by AddException.
	ID        string            `json:"id"`
	Exception finding.Exception `json:"exception"`
	// CreatedBy is the Kubernetes user that added it; CreatedAt when (set by AddException when zero).
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}

// ExceptionStore keeps exceptions added through the API. It is apart from Store so that an
// engine can be used before it has them; the API answers 501 for exceptions until it does.
// Exception.Expires must survive the round trip (its JSON tag drops it: store it in a column).
type ExceptionStore interface {
	// AddException stores an exception in one transaction and returns it with ID and CreatedAt set.
	AddException(ctx context.Context, e StoredException) (*StoredException, error)
	// Exceptions returns every stored exception, oldest first, expired ones included.
	Exceptions(ctx context.Context) ([]StoredException, error)
}

// Fingerprint is a finding's stable ID: a hash of finding.Key (check, resource, location,
// vulnerability and message), so the same finding from two audits, or from two replicas, is one
// record.
func Fingerprint(f *finding.Finding) string {
	sum := sha256.Sum256([]byte(f.Key()))
	return hex.EncodeToString(sum[:16])
}

// ErrInvalidQuery is returned (wrapped, naming the field and value) for a Query that cannot be
// answered: an unknown state, phase or severity, a negative limit, a cursor that is not one
// this store returned. The API turns it into a 400, never an empty list.
var ErrInvalidQuery = errors.New("invalid query")

// ErrQueueEmpty is returned by Queue.Claim when no job is ready.
var ErrQueueEmpty = errors.New("no job ready")

// ErrLeaseLost is returned by Queue.Complete and Queue.Release when the caller's claim expired
// and the job was claimed again (or completed) by someone else.
var ErrLeaseLost = errors.New("claim lease lost")

// Job is one image digest waiting to be scanned, or claimed for scanning.
type Job struct {
	Digest string `json:"digest"`
	// Ref is a reference to pull the image by (repository@digest as a workload runs it).
	Ref      string    `json:"ref"`
	Enqueued time.Time `json:"enqueued"`
	// Owner is who holds the claim and LeaseUntil when it expires; an expired claim returns the
	// job to the queue, so a replica that died does not keep it.
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// Attempts counts the claims so far, this one included.
	Attempts int `json:"attempts"`
}

// Queue is the image-scan work queue several replicas share: each digest is scanned once, by
// whichever replica claims it. Both engines implement it (PostgreSQL with FOR UPDATE SKIP
// LOCKED; SQLite, one process, with its single writer). Times are passed in, like RecordScan's,
// so every replica and every test decides what "now" is; replicas' clocks should agree to well
// within a lease.
type Queue interface {
	// Enqueue adds a digest to scan; a digest already queued (or claimed) is left as it is.
	Enqueue(ctx context.Context, digest, ref string, at time.Time) error
	// Claim takes the oldest ready job for owner until now+lease; ErrQueueEmpty when none is.
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration) (*Job, error)
	// Complete removes a claimed job; ErrLeaseLost if owner no longer holds it.
	Complete(ctx context.Context, digest, owner string) error
	// Release gives a claimed job back, ready again at retryAt (a scan that failed).
	Release(ctx context.Context, digest, owner string, retryAt time.Time) error
	// Pending counts the jobs queued or claimed.
	Pending(ctx context.Context) (int, error)
}

// Receiver is a notification destination as the store knows it: which changes it is sent.
type Receiver struct {
	Name string `json:"name"`
	// MinSeverity: new and reopened findings at or above it are sent (suppressed ones never).
	MinSeverity finding.Severity `json:"minSeverity"`
	// Resolved: resolutions of findings at or above MinSeverity are sent too.
	Resolved bool `json:"resolved"`
}

// Notification is one change of one finding to deliver to one receiver.
type Notification struct {
	ID       int64     `json:"id"`
	Receiver string    `json:"receiver"`
	Kind     EventKind `json:"kind"` // opened, reopened or resolved
	ScanID   int64     `json:"scanId,omitempty"`
	Created  time.Time `json:"created"`
	// Record is the finding as it is stored now.
	Record    Record    `json:"record"`
	Attempts  int       `json:"attempts"`
	NextTry   time.Time `json:"nextTry,omitzero"`
	LastError string    `json:"lastError,omitempty"`
}

// ReceiverStats is a receiver's delivery backlog, for logs and metrics.
type ReceiverStats struct {
	Receiver string `json:"receiver"`
	Pending  int    `json:"pending"`
	// Oldest is when the oldest undelivered notification was made; zero when none waits.
	Oldest time.Time `json:"oldest,omitzero"`
	// Failing counts undelivered notifications that have failed at least once.
	Failing int `json:"failing"`
}

// Outbox is notification delivery state. RecordScan and AddFindings write a notification for
// every receiver a change concerns in the same transaction as the change, so nothing is lost
// while a receiver is down or the process dies; senders claim batches (a digest), and mark them
// delivered or failed with the time to try again.
type Outbox interface {
	// SetReceivers replaces the receivers; notifications pending for a removed one are dropped.
	SetReceivers(ctx context.Context, rs []Receiver) error
	// ClaimNotifications takes up to max due notifications of a receiver, oldest first, for
	// owner until now+lease; an empty list when none is due.
	ClaimNotifications(ctx context.Context, receiver, owner string, now time.Time, lease time.Duration, max int) ([]Notification, error)
	// Delivered marks claimed notifications sent; DeliveryFailed returns them to wait until
	// nextTry, recording why. Either is ErrLeaseLost if owner no longer holds every one of them.
	Delivered(ctx context.Context, owner string, ids []int64, at time.Time) error
	DeliveryFailed(ctx context.Context, owner string, ids []int64, nextTry time.Time, reason string) error
	// OutboxStats reports each receiver's backlog.
	OutboxStats(ctx context.Context) ([]ReceiverStats, error)
	// PruneDelivered deletes notifications delivered before `before` and returns how many: the
	// outbox would otherwise grow with every change for as long as serve runs.
	PruneDelivered(ctx context.Context, before time.Time) (int, error)
}
