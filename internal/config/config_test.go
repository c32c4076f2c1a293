package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cfg, err := Parse("p.yaml", []byte(`# policy
registries:
  allowed: [reg.internal]
podSecurity:
  level: baseline
rbac:
  breakGlassGroups: [oncall-admins]
database:
  maxAge: 3d
exceptions:
  - check: run-as-root
    resource: {namespace: shop, kind: StatefulSet, name: db}
    reason: the vendor image needs root
    owner: team-data
    expires: 2027-01-31
  - vulnerabilities: [CVE-2023-1, GHSA-*]
    packages: [lodash]
    images: ["reg.internal/web*"]
    reason: not reachable
    owner: team-web
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PSSLevel != "baseline" || cfg.AllowedRegistries[0] != "reg.internal" || cfg.BreakGlassGroups[0] != "oncall-admins" || cfg.MaxDatabaseAge != 72*time.Hour {
		t.Errorf("settings not read: %+v", cfg)
	}
	if len(cfg.Exceptions) != 2 {
		t.Fatalf("%d exceptions", len(cfg.Exceptions))
	}
	e := cfg.Exceptions[0]
	if e.Checks[0] != "run-as-root" || e.Resources[0].Kind != "StatefulSet" || e.Line != 11 || e.File != "p.yaml" ||
		e.Source != "config" || e.Expires.Format(time.DateOnly) != "2027-01-31" {
		t.Errorf("first exception: %+v", e)
	}
	if e := cfg.Exceptions[1]; len(e.Vulnerabilities) != 2 || e.Packages[0] != "lodash" || e.Line != 16 {
		t.Errorf("second exception: %+v", e)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown key", "exceptionz: []\n", `p.yaml:1: unknown field "exceptionz"`},
		{"unknown exception key", "exceptions:\n- checks: [a]\n  reason: r\n  owner: o\n  expiry: 2027-01-01\n", `p.yaml:5: unknown field "expiry"`},
		{"missing reason", "exceptions:\n- checks: [a]\n  owner: o\n", "p.yaml:2: exception 1: a reason is required"},
		{"missing owner and bad date", "exceptions:\n- checks: [a]\n  reason: r\n- checks: [b]\n  reason: r\n  owner: o\n  expires: next week\n",
			"p.yaml:2: exception 1: an owner is required\np.yaml:4: exception 2: expires \"next week\": want a date as YYYY-MM-DD"},
		{"matches everything", "exceptions:\n- reason: r\n  owner: o\n", "an exception for everything is not allowed"},
		{"bad level", "podSecurity: {level: strict}\n", `podSecurity.level "strict": want baseline or restricted`},
		{"syntax", "exceptions: [\n", "p.yaml: line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestEmptyFileAndFind(t *testing.T) {
	cfg, err := Parse("p.yaml", nil)
	if err != nil || cfg.PSSLevel != "restricted" {
		t.Fatalf("empty policy: %+v %v", cfg, err)
	}
	dir := t.TempDir()
	if got := Find([]string{dir}); got != "" {
		t.Errorf("found %q in an empty directory", got)
	}
	p := filepath.Join(dir, FileName)
	if err := os.WriteFile(p, []byte("exceptions: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Find([]string{dir}); got != p {
		t.Errorf("Find(dir) = %q", got)
	}
	if got := Find([]string{filepath.Join(dir, "a.yaml")}); got != p {
		t.Errorf("Find(file) = %q, want the policy beside it", got)
	}
	if _, err := Load(filepath.Join(dir, "nope.yaml")); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("missing file error %v does not name the file", err)
	}
}

func TestReleaseCalendarMaxAge(t *testing.T) {
	if d := Default().ReleaseCalendarMaxAge; d != 60*24*time.Hour {
		t.Errorf("default release calendar max age %v, want 60 days", d)
	}
	cfg, err := Parse("p.yaml", []byte("kubernetes:\n  releaseCalendarMaxAge: 30d\n"))
	if err != nil || cfg.ReleaseCalendarMaxAge != 30*24*time.Hour {
		t.Errorf("30d: %v, %v", cfg, err)
	}
	if _, err := Parse("p.yaml", []byte("kubernetes:\n  releaseCalendarMaxAge: soon\n")); err == nil || !strings.Contains(err.Error(), "kubernetes.releaseCalendarMaxAge") {
		t.Errorf("bad age: %v", err)
	}
}

func TestParseNetwork(t *testing.T) {
	cfg, err := Parse("p.yaml", []byte(`network:
  sensitive:
    - namespace: shop-data
    - labels: {data: pii}
  podCIDRs: [10.244.0.0/16]
  nodeCIDRs: [192.168.1.0/24, 10.0.0.7]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Network.NodeCIDRs) != 2 || cfg.Network.NodeCIDRs[1].String() != "10.0.0.7/32" {
		t.Errorf("network.nodeCIDRs: %v", cfg.Network.NodeCIDRs)
	}
	if len(cfg.Network.Sensitive) != 2 || cfg.Network.PodCIDRs[0].String() != "10.244.0.0/16" {
		t.Fatalf("network settings not read: %+v", cfg.Network)
	}
	if !cfg.Network.Sensitive[0].Matches("shop-data", "StatefulSet", "db", nil) || cfg.Network.Sensitive[0].Matches("shop-web", "Deployment", "web", nil) {
		t.Error("namespace selector matches the wrong workloads")
	}
	if !cfg.Network.Sensitive[1].Matches("x", "Deployment", "y", map[string]string{"data": "pii", "app": "y"}) || cfg.Network.Sensitive[1].Matches("x", "Deployment", "y", nil) {
		t.Error("label selector matches the wrong workloads")
	}
	for body, want := range map[string]string{
		"network:\n  podCIDRs: [10.0.0.0/33]\n":       `network.podCIDRs[0]: "10.0.0.0/33" is not a CIDR`,
		"network:\n  nodeCIDRs: [nodes]\n":            `network.nodeCIDRs[0]: "nodes" is not a CIDR or an address`,
		"network:\n  sensitive:\n    - {}\n":          "network.sensitive[0]: selects every workload",
		"network:\n  sensitive:\n    - name: \"[\"\n": `network.sensitive[0]: pattern "["`,
	} {
		if _, err := Parse("p.yaml", []byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", body, err, want)
		}
	}
}

// The policy file documented in the README must be one Redoubt accepts.
func TestREADMEPolicyParses(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\nregistries:")
	if !ok {
		t.Fatal("README has no policy file example")
	}
	body, _, _ := strings.Cut(rest, "```")
	cfg, err := Parse("README.md", []byte("registries:"+body))
	if err != nil {
		t.Fatalf("the README's policy file does not parse: %v", err)
	}
	if len(cfg.Exceptions) != 3 || len(cfg.Exceptions[2].Subjects) != 1 || cfg.ImageLayout == "" || len(cfg.Network.Sensitive) == 0 {
		t.Errorf("README policy read as %+v", cfg)
	}
}

// The policy file is searched upward from the scanned path to the repository root, so a scan
// of a sub-directory keeps the project's policy; nothing above the repository, and nothing
// above a path outside any repository, is taken.
func TestFindSearchesUpToTheRepositoryRoot(t *testing.T) {
	write := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("exceptions: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	top := t.TempDir()
	repo := filepath.Join(top, "repo")
	write(filepath.Join(top, FileName)) // above the repository: never taken
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(repo, "examples", "shop", FileName))
	write(filepath.Join(repo, "examples", "shop", "web", "web.yaml"))
	write(filepath.Join(repo, "other", "deep", "x.yaml"))
	write(filepath.Join(top, "loose", "sub", "x.yaml"))
	shopPolicy := filepath.Join(repo, "examples", "shop", FileName)
	for _, tc := range []struct {
		name, path, want string
	}{
		{"the directory's own", filepath.Join(repo, "examples", "shop"), shopPolicy},
		{"a sub-directory keeps its parent's", filepath.Join(repo, "examples", "shop", "web"), shopPolicy},
		{"a file keeps its parent's", filepath.Join(repo, "examples", "shop", "web", "web.yaml"), shopPolicy},
		{"none up to the repository root", filepath.Join(repo, "other", "deep"), ""},
		{"outside a repository, only the directory itself", filepath.Join(top, "loose", "sub"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Find([]string{tc.path}); got != tc.want {
				t.Errorf("Find(%s) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
	// A relative path gives a relative answer, as the user spelled it.
	t.Chdir(filepath.Join(repo, "examples"))
	if got, want := Find([]string{filepath.Join("shop", "web")}), filepath.Join("shop", FileName); got != want {
		t.Errorf("Find(shop/web) = %q, want %q", got, want)
	}
}

func TestParseFloatingTags(t *testing.T) {
	cfg, err := Parse("p.yaml", []byte("images:\n  floatingTags:\n    versionParts: 2\n    allow: [\"reg/library/postgres:*\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FloatingTags.VersionParts != 2 || len(cfg.FloatingTags.Allow) != 1 {
		t.Errorf("floatingTags %+v", cfg.FloatingTags)
	}
	if d, _ := Parse("p.yaml", nil); d.FloatingTags.VersionParts != DefaultVersionParts {
		t.Errorf("default versionParts %d", d.FloatingTags.VersionParts)
	}
	if off, err := Parse("p.yaml", []byte("images: {floatingTags: {versionParts: 0}}\n")); err != nil || off.FloatingTags.VersionParts != 0 {
		t.Errorf("versionParts 0 (off): %+v %v", off.FloatingTags, err)
	}
	for _, bad := range []string{"images: {floatingTags: {versionParts: 9}}\n", "images: {floatingTags: {allow: [\"[x\"]}}\n"} {
		if _, err := Parse("p.yaml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "images.floatingTags") {
			t.Errorf("%q: error %v", bad, err)
		}
	}
}
