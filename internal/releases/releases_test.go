package releases

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEmbeddedCalendar(t *testing.T) {
	c := Embedded()
	if c.Newest().Minor != "1.37" {
		t.Errorf("newest minor = %s, want 1.37 (the minor the tests run)", c.Newest().Minor)
	}
	if c.SupportedMinors != 3 {
		t.Errorf("supported minors = %d, want 3", c.SupportedMinors)
	}
	for i := 1; i < len(c.Releases); i++ {
		if !c.Releases[i].Released.Before(c.Releases[i-1].Released.Time) {
			t.Errorf("%s released %s, not before %s released %s", c.Releases[i].Minor, c.Releases[i].Released, c.Releases[i-1].Minor, c.Releases[i-1].Released)
		}
	}
	if len(c.Sources) == 0 {
		t.Error("the calendar names no sources")
	}
}

func TestAssess(t *testing.T) {
	c := Embedded()
	now := day("2026-11-25")
	tests := []struct {
		version   string
		supported bool
		known     bool
		newer     bool
		latest    bool
	}{
		{"v1.37.2", true, true, false, true},
		{"v1.37.1", true, true, false, false},
		{"v1.37.3", true, true, false, true}, // newer than the calendar knows: not behind
		{"v1.36.6", true, true, false, true},
		{"v1.35.10-gke.1146000", true, true, false, true},
		{"v1.35.2-eks-a737599", true, true, false, false},
		{"v1.34.13", false, true, false, true}, // fourth newest, and its maintenance ended 2026-10-27
		{"v1.30.4", false, true, false, false},
		{"v1.21.0", false, false, false, false},
		{"v1.38.0", false, false, true, false},
		{"v2.0.0", false, false, true, false},
	}
	for _, tt := range tests {
		s := c.Assess(mustVersion(t, tt.version), now)
		if s.Supported != tt.supported || s.Known != tt.known || s.Newer != tt.newer || s.Latest != tt.latest {
			t.Errorf("%s: supported=%v known=%v newer=%v latest=%v (%s), want %v %v %v %v",
				tt.version, s.Supported, s.Known, s.Newer, s.Latest, s.Reason, tt.supported, tt.known, tt.newer, tt.latest)
		}
		if s.Reason == "" {
			t.Errorf("%s: no reason given", tt.version)
		}
	}
}

func TestAssessEndOfMaintenancePassed(t *testing.T) {
	// 1.35 is among the three newest, but a calendar read after its maintenance ended must say
	// so rather than trust its rank.
	c := Embedded()
	s := c.Assess(mustVersion(t, "1.35.10"), day("2027-03-01"))
	if s.Supported || !strings.Contains(s.Reason, "ended on 2027-02-28") {
		t.Errorf("1.35 after 2027-02-28: supported=%v (%s)", s.Supported, s.Reason)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in                  string
		major, minor, patch int
		suffix              string
		ok                  bool
	}{
		{"v1.37.2", 1, 37, 2, "", true},
		{"1.30", 1, 30, -1, "", true},
		{"v1.30.4-eks-a737599", 1, 30, 4, "-eks-a737599", true},
		{"v1.31.1+k3s1", 1, 31, 1, "+k3s1", true},
		{"v1.37.0-rc.1", 1, 37, 0, "-rc.1", true},
		{"v1", 0, 0, 0, "", false},
		{"v1.x.2", 0, 0, 0, "", false},
		{"v1.01.2", 0, 0, 0, "", false},
		{"", 0, 0, 0, "", false},
	}
	for _, tt := range tests {
		v, err := ParseVersion(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseVersion(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && (v.Major != tt.major || v.Minor != tt.minor || v.Patch != tt.patch || v.Suffix != tt.suffix) {
			t.Errorf("ParseVersion(%q) = %+v", tt.in, v)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good := string(embedded)
	tests := map[string]string{
		"unknown field":  strings.Replace(good, `"schemaVersion": 1`, `"schemaVersion": 1, "extra": true`, 1),
		"future schema":  strings.Replace(good, `"schemaVersion": 1`, `"schemaVersion": 2`, 1),
		"bad date":       strings.Replace(good, `"generated": "2026-11-25"`, `"generated": "25/11/2026"`, 1),
		"patch mismatch": strings.Replace(good, `"latestPatch": "1.37.2"`, `"latestPatch": "1.36.2"`, 1),
		"duplicate":      strings.Replace(good, `"minor": "1.36"`, `"minor": "1.37"`, 1),
		"too large":      good + strings.Repeat(" ", MaxFileBytes),
	}
	for name, data := range tests {
		if _, err := Parse(name, []byte(data)); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
}

// calendarGenerated returns the embedded calendar with another generated date and newest patch.
func calendarGenerated(t *testing.T, generated, latest137 string) []byte {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(embedded, &raw); err != nil {
		t.Fatal(err)
	}
	raw["generated"] = generated
	raw["releases"].([]any)[0].(map[string]any)["latestPatch"] = latest137
	out, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadPrefersANewerCopy(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(dir)
	if err != nil || c.Origin != "embedded" {
		t.Fatalf("Load of an empty directory = %v, %v; want the embedded calendar", c, err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), calendarGenerated(t, "2027-01-10", "1.37.5"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin != filepath.Join(dir, FileName) || c.Newest().LatestPatch != "1.37.5" {
		t.Errorf("Load = %s with 1.37 patch %s; want the newer copy", c.Origin, c.Newest().LatestPatch)
	}
	if s := c.Assess(mustVersion(t, "v1.37.2"), day("2027-01-11")); s.Latest {
		t.Error("with the newer calendar, 1.37.2 is still called the latest patch")
	}
}

func TestLoadKeepsEmbeddedWhenCopyIsOlder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), calendarGenerated(t, "2026-01-01", "1.37.1"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin != "embedded" {
		t.Errorf("Load chose %s, older than the embedded calendar", c.Origin)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), FileName) {
		t.Errorf("Load of a broken copy: err = %v, want an error naming the file", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(embedded)
	f.Add([]byte(`{"schemaVersion":1,"generated":"2026-01-01","supportedMinors":1,"releases":[{"minor":"1.2","released":"2020-01-01","endOfMaintenance":"2021-01-01","latestPatch":"1.2.3","latestPatchReleased":"2020-05-01"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		// Anything accepted must be usable.
		_ = c.Assess(Version{Major: 1, Minor: 30, Patch: 1}, time.Now())
		_ = c.Newest()
	})
}
