package testenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeRepo writes a repository skeleton: the root go.mod and the tools modules' go.mod and
// go.sum, and returns its root.
func fakeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"go.mod":             "module redoubt.dev/redoubt\n\ngo 1.26\n",
		"tools/k8s/go.mod":   "module redoubt.dev/redoubt/tools/k8s\n",
		"tools/k8s/go.sum":   "k8s.io/kubernetes v1.37.2 h1:abc=\n",
		"tools/etcd/go.mod":  "module redoubt.dev/redoubt/tools/etcd\n",
		"tools/etcd/go.sum":  "go.etcd.io/etcd/server/v3 v3.7.3 h1:def=\n",
		"internal/x/doc.go":  "package x\n",
		"other/mod/go.mod":   "module example.com/other\n",
		"other/mod/sub/a.go": "package sub\n",
	}
	for name, data := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestFindRoot(t *testing.T) {
	root := fakeRepo(t)
	for _, start := range []string{"", "internal/x", "tools/k8s", "other/mod/sub"} {
		got, err := findRoot(filepath.Join(root, filepath.FromSlash(start)))
		if err != nil {
			t.Errorf("findRoot(%q): %v", start, err)
		} else if got != root {
			t.Errorf("findRoot(%q) = %s, want %s", start, got, root)
		}
	}
	if _, err := findRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "redoubt.dev/redoubt") {
		t.Errorf("findRoot outside the repository: err = %v, want one naming the module", err)
	}
}

func TestRepoRootFromTest(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tools/k8s/go.sum", "tools/etcd/go.sum"} {
		if _, err := os.Stat(filepath.Join(root, want)); err != nil {
			t.Errorf("repository root %s lacks %s: %v", root, want, err)
		}
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("REDOUBT_TESTENV_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got, err := CacheDir(); err != nil || got != "/xdg/redoubt/testenv" {
		t.Errorf("with XDG_CACHE_HOME: CacheDir() = %q, %v", got, err)
	}
	t.Setenv("REDOUBT_TESTENV_CACHE", "/explicit/cache")
	if got, err := CacheDir(); err != nil || got != "/explicit/cache" {
		t.Errorf("with REDOUBT_TESTENV_CACHE: CacheDir() = %q, %v", got, err)
	}
}

func TestCacheKey(t *testing.T) {
	root := fakeRepo(t)
	key := func(goVersion string) string {
		t.Helper()
		k, err := cacheKey(root, goVersion)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key("go1.26.8 linux amd64")
	if again := key("go1.26.8 linux amd64"); again != base {
		t.Fatalf("cacheKey is not stable: %s then %s", base, again)
	}
	if other := key("go1.26.9 linux amd64"); other == base {
		t.Error("cacheKey ignores the Go version")
	}
	for _, name := range []string{"tools/k8s/go.sum", "tools/etcd/go.sum", "tools/k8s/go.mod"} {
		path := filepath.Join(root, filepath.FromSlash(name))
		old, _ := os.ReadFile(path)
		if err := os.WriteFile(path, append(old, "x v1.0.0 h1:zzz=\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		if key("go1.26.8 linux amd64") == base {
			t.Errorf("cacheKey ignores %s", name)
		}
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(root, "tools/etcd/go.sum")); err != nil {
		t.Fatal(err)
	}
	if _, err := cacheKey(root, "go"); err == nil || !strings.Contains(err.Error(), "go.sum") {
		t.Errorf("cacheKey without tools/etcd/go.sum: err = %v, want one naming the file", err)
	}
}

func TestBuildsMatchDocumentedFlags(t *testing.T) {
	const want = "-s -w -X k8s.io/component-base/version.gitVersion=v1.37.2 " +
		"-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 " +
		"-X k8s.io/component-base/version.gitTreeState=clean " +
		"-X k8s.io/component-base/version.gitCommit=0000000000000000000000000000000000000000 " +
		"-X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"
	for _, b := range builds() {
		if b.module == "tools/k8s" && b.ldflags != want {
			t.Errorf("kubernetes ldflags:\n got %s\nwant %s", b.ldflags, want)
		}
	}
}

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file, so a second open in this process contends too.
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: err = %v, want deadline exceeded", err)
	}
	unlock()
	unlock2, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestCompleteNeedsEveryBinary(t *testing.T) {
	dir := t.TempDir()
	p := Paths{
		Etcd:                  filepath.Join(dir, "etcd"),
		KubeAPIServer:         filepath.Join(dir, "kube-apiserver"),
		KubeControllerManager: filepath.Join(dir, "kube-controller-manager"),
	}
	for i, path := range []string{p.Etcd, p.KubeAPIServer, p.KubeControllerManager} {
		if complete(p) {
			t.Fatalf("complete with %d of 3 binaries", i)
		}
		if err := os.WriteFile(path, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if !complete(p) {
		t.Error("not complete with all 3 binaries")
	}
}
