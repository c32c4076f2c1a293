package vuln

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// A Go vulnerability whose every affected import is limited to goos ["windows"] does not affect
// a linux/amd64 binary, as govulncheck decides; one whose imports name no platform affects
// every binary; and a package whose platform is unknown matches them all. Real records of the Go
// vulnerability database: GO-2026-5024 (golang.org/x/sys/windows), GO-2025-3750 (stdlib
// syscall and os on Windows), GO-2022-0969 (net/http and x/net/http2, every platform).
func TestMatchPlatform(t *testing.T) {
	var files []string
	for _, f := range goVulnDBFiles(t) {
		switch filepath.Base(f) {
		case "GO-2026-5024.json", "GO-2025-3750.json", "GO-2022-0969.json":
			files = append(files, f)
		}
	}
	if len(files) != 3 {
		t.Fatalf("want 3 records of the Go vulnerability database, found %v", files)
	}
	rust := writeRecords(t,
		rec("RUSTSEC-TEST-WIN", `"affected":[{"package":{"ecosystem":"crates.io","name":"winonly"},"ecosystem_specific":{"affects":{"os":["windows"],"arch":[],"functions":[]}},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]`),
		rec("RUSTSEC-TEST-MAC-ARM", `"affected":[{"package":{"ecosystem":"crates.io","name":"macarm"},"ecosystem_specific":{"affects":{"os":["macos"],"arch":["aarch64"]}},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}]`),
		rec("GO-TEST-MIXED", `"affected":[{"package":{"ecosystem":"Go","name":"example.com/mixed"},"ecosystem_specific":{"imports":[{"path":"example.com/mixed/win","goos":["windows"]},{"path":"example.com/mixed/all"}]},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]`),
		rec("GO-TEST-ARCH", `"affected":[{"package":{"ecosystem":"Go","name":"example.com/arch"},"ecosystem_specific":{"imports":[{"path":"example.com/arch/asm","goarch":["arm64"]}]},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]`),
	)
	d := buildDB(t, map[string][]string{"Go": files, "crates.io": rust})
	tests := []struct {
		name string
		pkg  Package
		want []string
	}{
		{"x/sys on linux/amd64", Package{Ecosystem: "Go", Name: "golang.org/x/sys", Version: "v0.30.0", OS: "linux", Arch: "amd64"}, nil},
		{"x/sys on windows", Package{Ecosystem: "Go", Name: "golang.org/x/sys", Version: "v0.30.0", OS: "windows", Arch: "amd64"}, []string{"CVE-2026-39824"}},
		{"x/sys, platform unknown", Package{Ecosystem: "Go", Name: "golang.org/x/sys", Version: "v0.30.0"}, []string{"CVE-2026-39824"}},
		{"x/sys fixed", Package{Ecosystem: "Go", Name: "golang.org/x/sys", Version: "v0.44.0", OS: "windows"}, nil},
		{"stdlib on linux: only the every-platform record", Package{Ecosystem: "Go", Name: "stdlib", Version: "v1.18.2", OS: "linux", Arch: "amd64"}, []string{"CVE-2022-27664"}},
		{"stdlib on windows", Package{Ecosystem: "Go", Name: "stdlib", Version: "v1.18.2", OS: "windows", Arch: "arm64"}, []string{"CVE-2022-27664", "CVE-2025-0913"}},
		{"one import for every platform makes the entry affect every platform", Package{Ecosystem: "Go", Name: "example.com/mixed", Version: "v0.9.0", OS: "linux", Arch: "amd64"}, []string{"GO-TEST-MIXED"}},
		{"goarch alone", Package{Ecosystem: "Go", Name: "example.com/arch", Version: "v0.9.0", OS: "linux", Arch: "amd64"}, nil},
		{"goarch alone, matching", Package{Ecosystem: "Go", Name: "example.com/arch", Version: "v0.9.0", OS: "linux", Arch: "arm64"}, []string{"GO-TEST-ARCH"}},
		{"RustSec affects.os on linux", Package{Ecosystem: "crates.io", Name: "winonly", Version: "1.0.0", OS: "linux", Arch: "amd64"}, nil},
		{"RustSec affects.os on windows", Package{Ecosystem: "crates.io", Name: "winonly", Version: "1.0.0", OS: "windows", Arch: "amd64"}, []string{"RUSTSEC-TEST-WIN"}},
		{"RustSec names translated: macos/aarch64 is darwin/arm64", Package{Ecosystem: "crates.io", Name: "macarm", Version: "1.0.0", OS: "darwin", Arch: "arm64"}, []string{"RUSTSEC-TEST-MAC-ARM"}},
		{"RustSec names translated, other arch", Package{Ecosystem: "crates.io", Name: "macarm", Version: "1.0.0", OS: "darwin", Arch: "amd64"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := d.Match(context.Background(), []Package{tc.pkg})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
