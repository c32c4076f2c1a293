// Package releases holds the Kubernetes release calendar: every minor release Redoubt knows, the
// day it was released, the day its maintenance ends, and the newest patch release known to this
// build. A copy is embedded so that version checks work offline. `redoubt db update` fetches
// FileName from its mirror's base beside the vulnerability data (the CLI registers it as one of
// the database's extra files), and Load prefers that copy when it is newer.
package releases

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FileName is the calendar's file name, under a mirror's base URL (BASE/FileName) and among the
// vulnerability database's extra files.
const FileName = "kubernetes-releases.json"

// MaxFileBytes caps a calendar file: the real one is a few kilobytes.
const MaxFileBytes = 1 << 20

// SchemaVersion is the only calendar format this build reads.
const SchemaVersion = 1

//go:embed kubernetes-releases.json
var embedded []byte

// Date is a calendar day, written as YYYY-MM-DD.
type Date struct{ time.Time }

// MarshalJSON writes the day as YYYY-MM-DD.
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.Format(time.DateOnly)) }

// UnmarshalJSON reads YYYY-MM-DD.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	d.Time = t
	return nil
}

// String renders the day as YYYY-MM-DD.
func (d Date) String() string { return d.Format(time.DateOnly) }

// Calendar is the Kubernetes release calendar.
type Calendar struct {
	SchemaVersion int `json:"schemaVersion"`
	// Generated is the day the data was assembled: the calendar knows nothing after it.
	Generated Date `json:"generated"`
	// SupportedMinors is how many of the newest minors the project maintains (three).
	SupportedMinors int `json:"supportedMinors"`
	// Sources say where every field comes from.
	Sources []string `json:"sources"`
	// Releases are ordered newest first.
	Releases []Release `json:"releases"`

	// Origin is where the calendar was read: "embedded" or a file path.
	Origin string `json:"-"`
}

// Release is one minor release.
type Release struct {
	// Minor is "1.37".
	Minor string `json:"minor"`
	// Released is the day MINOR.0 was released.
	Released Date `json:"released"`
	// EndOfMaintenance is the day the project stops publishing patches for the minor.
	EndOfMaintenance Date `json:"endOfMaintenance"`
	// EndOfMaintenanceEstimated is true when the day follows from the support policy because the
	// project had not published it yet.
	EndOfMaintenanceEstimated bool `json:"endOfMaintenanceEstimated,omitempty"`
	// LatestPatch is the newest patch release known, "1.37.2".
	LatestPatch         string `json:"latestPatch"`
	LatestPatchReleased Date   `json:"latestPatchReleased"`

	minor, patch Version
}

// Embedded returns the calendar compiled into this build.
func Embedded() *Calendar {
	c, err := Parse("embedded", embedded)
	if err != nil {
		// The embedded file is tested; a broken one is a build mistake.
		panic(fmt.Sprintf("releases: embedded calendar: %v", err))
	}
	return c
}

// Parse reads and validates a calendar; name is used in errors.
func Parse(name string, data []byte) (*Calendar, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("release calendar %s: larger than %d bytes", name, MaxFileBytes)
	}
	var c Calendar
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("release calendar %s: %w", name, err)
	}
	if c.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("release calendar %s: schema version %d, this build reads %d (update Redoubt)", name, c.SchemaVersion, SchemaVersion)
	}
	if c.Generated.IsZero() {
		return nil, fmt.Errorf("release calendar %s: no generated date", name)
	}
	if c.SupportedMinors < 1 {
		return nil, fmt.Errorf("release calendar %s: supportedMinors must be at least 1", name)
	}
	if len(c.Releases) < c.SupportedMinors {
		return nil, fmt.Errorf("release calendar %s: %d releases, fewer than the %d supported minors", name, len(c.Releases), c.SupportedMinors)
	}
	seen := map[string]bool{}
	for i := range c.Releases {
		r := &c.Releases[i]
		mv, err := ParseVersion(r.Minor)
		if err != nil || mv.Patch >= 0 {
			return nil, fmt.Errorf("release calendar %s: release %d: minor %q is not MAJOR.MINOR", name, i+1, r.Minor)
		}
		if seen[r.Minor] {
			return nil, fmt.Errorf("release calendar %s: minor %s listed twice", name, r.Minor)
		}
		seen[r.Minor] = true
		pv, err := ParseVersion(r.LatestPatch)
		if err != nil || pv.Patch < 0 || pv.Major != mv.Major || pv.Minor != mv.Minor {
			return nil, fmt.Errorf("release calendar %s: %s: latest patch %q is not %s.PATCH", name, r.Minor, r.LatestPatch, r.Minor)
		}
		if r.Released.IsZero() || r.EndOfMaintenance.IsZero() || !r.EndOfMaintenance.After(r.Released.Time) {
			return nil, fmt.Errorf("release calendar %s: %s: needs a release date before its end of maintenance", name, r.Minor)
		}
		r.minor, r.patch = mv, pv
	}
	slices.SortFunc(c.Releases, func(a, b Release) int { return b.minor.Compare(a.minor) })
	c.Origin = name
	return &c, nil
}

// Load returns the calendar to use: dir/FileName (the copy `redoubt db update` fetched), when
// there is one and it is newer than the embedded calendar, or else the embedded one. A copy that
// cannot be read is an error: silently falling back would hide a broken update.
func Load(dir string) (*Calendar, error) {
	emb := Embedded()
	if dir == "" {
		return emb, nil
	}
	path := filepath.Join(dir, FileName)
	data, err := readLimited(path)
	if errors.Is(err, os.ErrNotExist) {
		return emb, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if c.Generated.Before(emb.Generated.Time) {
		return emb, nil
	}
	return c, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("release calendar %s: %w", path, err)
	}
	return data, nil
}

// Newest returns the newest minor release in the calendar.
func (c *Calendar) Newest() *Release { return &c.Releases[0] }

// Lookup returns the calendar's entry for the minor of v.
func (c *Calendar) Lookup(v Version) (*Release, bool) {
	for i := range c.Releases {
		r := &c.Releases[i]
		if r.minor.Major == v.Major && r.minor.Minor == v.Minor {
			return r, true
		}
	}
	return nil, false
}

// Support is the calendar's verdict on one version.
type Support struct {
	// Known is false when the calendar does not know the minor: newer than the calendar (Newer:
	// the calendar is out of date and nothing can be said), or older than its oldest entry (long
	// unsupported).
	Known bool
	Newer bool
	// Supported is true when the minor is among the newest SupportedMinors and its maintenance
	// has not ended.
	Supported bool
	// Reason explains the verdict in a sentence.
	Reason string
	// Release is the calendar entry, when known.
	Release *Release
	// Latest is true when the version is the newest patch of its minor the calendar knows (or
	// newer).
	Latest bool
}

// Assess judges a version at the given time.
func (c *Calendar) Assess(v Version, now time.Time) Support {
	newest := c.Newest()
	if v.MinorsBehind(newest.minor) < 0 {
		return Support{Newer: true, Reason: fmt.Sprintf("%s is newer than %s, the newest minor this release calendar (generated %s) knows; update it with `redoubt db update`", v.MinorString(), newest.Minor, c.Generated)}
	}
	r, ok := c.Lookup(v)
	if !ok {
		oldest := c.Releases[len(c.Releases)-1]
		return Support{Reason: fmt.Sprintf("%s is older than %s, the oldest minor in the release calendar, and long out of maintenance", v.MinorString(), oldest.Minor)}
	}
	s := Support{Known: true, Release: r, Latest: v.Patch >= r.patch.Patch}
	rank := slices.IndexFunc(c.Releases, func(x Release) bool { return x.Minor == r.Minor })
	switch {
	case rank >= c.SupportedMinors:
		s.Reason = fmt.Sprintf("%s is not among the %d newest minors (%s); its maintenance ended on %s", r.Minor, c.SupportedMinors, c.supportedList(), r.EndOfMaintenance)
	case !now.Before(r.EndOfMaintenance.Time):
		s.Reason = fmt.Sprintf("maintenance of %s ended on %s", r.Minor, r.EndOfMaintenance)
	default:
		s.Supported = true
		est := ""
		if r.EndOfMaintenanceEstimated {
			est = " (estimated)"
		}
		s.Reason = fmt.Sprintf("%s is maintained until %s%s", r.Minor, r.EndOfMaintenance, est)
	}
	return s
}

func (c *Calendar) supportedList() string {
	var out []string
	for i := 0; i < c.SupportedMinors && i < len(c.Releases); i++ {
		out = append(out, c.Releases[i].Minor)
	}
	return strings.Join(out, ", ")
}

// Age is how old the calendar's data is at the given time.
func (c *Calendar) Age(now time.Time) time.Duration { return now.Sub(c.Generated.Time) }

// Version is a Kubernetes version as components report it: "v1.37.2", "1.30.4-eks-a737599",
// "v1.31.1-gke.1146000". Patch is -1 for a bare MAJOR.MINOR.
type Version struct {
	Major, Minor, Patch int
	// Suffix is whatever follows the numbers: a pre-release or a vendor's build tag.
	Suffix string
	Raw    string
}

// ParseVersion reads a version with or without the leading "v".
func ParseVersion(s string) (Version, error) {
	v := Version{Raw: s, Patch: -1}
	rest := strings.TrimPrefix(strings.TrimSpace(s), "v")
	end := strings.IndexAny(rest, "-+")
	if end >= 0 {
		v.Suffix = rest[end:]
		rest = rest[:end]
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return v, fmt.Errorf("version %q: want MAJOR.MINOR[.PATCH]", s)
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return v, fmt.Errorf("version %q: %q is not a number", s, p)
		}
		nums[i] = n
	}
	v.Major, v.Minor = nums[0], nums[1]
	if len(nums) == 3 {
		v.Patch = nums[2]
	}
	return v, nil
}

// Compare orders versions by major, minor and patch (suffixes are ignored).
func (v Version) Compare(o Version) int {
	return cmp.Or(cmp.Compare(v.Major, o.Major), cmp.Compare(v.Minor, o.Minor), cmp.Compare(v.Patch, o.Patch))
}

// MinorString is "1.37".
func (v Version) MinorString() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// String is "1.37.2" (or "1.37" without a patch).
func (v Version) String() string {
	if v.Patch < 0 {
		return v.MinorString()
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// MinorsBehind is how many minor releases v is behind o (negative when ahead). Both must share
// the major version, as every Kubernetes 1.x release does.
func (v Version) MinorsBehind(o Version) int { return o.Minor - v.Minor + 100*(o.Major-v.Major) }
