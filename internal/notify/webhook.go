package notify

import (
	"encoding/json"
	"fmt"
	"time"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/store"
)

// PayloadVersion names the shape of the JSON webhook's body. A change that removes or renames
// a field gets a new version; new fields may be added within one.
const PayloadVersion = "redoubt.dev/notifications/v1"

// Payload is the body of one webhook POST: one notification, or a digest of several.
type Payload struct {
	Version  string `json:"version"`
	Receiver string `json:"receiver"`
	// Digest is true when the message carries more than one notification.
	Digest  bool      `json:"digest"`
	Summary Summary   `json:"summary"`
	Items   []Item    `json:"notifications"`
	SentAt  time.Time `json:"sentAt"`
}

// Summary counts a message's notifications by event and by severity.
type Summary struct {
	Total      int            `json:"total"`
	Opened     int            `json:"opened"`
	Reopened   int            `json:"reopened"`
	Resolved   int            `json:"resolved"`
	BySeverity map[string]int `json:"bySeverity"`
}

// Item is one finding's change.
type Item struct {
	// ID is the outbox notification's ID: a receiver that is sent a message twice (a retry after
	// a lost answer) can drop what it already has by it.
	ID int64 `json:"id"`
	// Event is opened, reopened or resolved.
	Event    store.EventKind `json:"event"`
	ScanID   int64           `json:"scanId,omitempty"`
	Created  time.Time       `json:"created"`
	RecordID string          `json:"recordId"`
	// URL is the finding's API record when a base URL is configured.
	URL        string           `json:"url,omitempty"`
	State      store.State      `json:"state"`
	FirstSeen  time.Time        `json:"firstSeen"`
	LastSeen   time.Time        `json:"lastSeen"`
	ResolvedAt *time.Time       `json:"resolvedAt,omitempty"`
	Workload   finding.Resource `json:"workload"`
	Finding    finding.Finding  `json:"finding"`
}

// Webhook sends the versioned JSON payload.
type Webhook struct {
	poster
	rcv     store.Receiver
	baseURL string
	now     func() time.Time
}

// Store implements Receiver.
func (w *Webhook) Store() store.Receiver { return w.rcv }

// Encode implements Receiver.
func (w *Webhook) Encode(ns []store.Notification) ([]byte, error) {
	p := Payload{Version: PayloadVersion, Receiver: w.rcv.Name, Digest: len(ns) > 1, SentAt: w.now().UTC(), Summary: summarize(ns)}
	for _, n := range ns {
		r := n.Record
		p.Items = append(p.Items, Item{
			ID: n.ID, Event: n.Kind, ScanID: n.ScanID, Created: n.Created, RecordID: r.ID,
			URL: recordURL(w.baseURL, r.ID), State: r.State, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
			ResolvedAt: r.ResolvedAt, Workload: r.Finding.Resource, Finding: r.Finding,
		})
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("receiver %s: encoding the payload: %w", w.rcv.Name, err)
	}
	if len(b) > w.maxBody {
		return nil, fmt.Errorf("receiver %s: %d notifications: %w (%d > %d bytes)", w.rcv.Name, len(ns), ErrTooLarge, len(b), w.maxBody)
	}
	return b, nil
}

func summarize(ns []store.Notification) Summary {
	s := Summary{Total: len(ns), BySeverity: map[string]int{}}
	for _, n := range ns {
		switch n.Kind {
		case store.EventOpened:
			s.Opened++
		case store.EventReopened:
			s.Reopened++
		case store.EventResolved:
			s.Resolved++
		}
		s.BySeverity[n.Record.Finding.Severity.String()]++
	}
	return s
}
