package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// RootModule is the module path of the repository whose tools modules build the binaries.
const RootModule = "redoubt.dev/redoubt"

// KubernetesVersion is the version of the kube-apiserver and kube-controller-manager that
// Binaries builds; it must match the k8s.io/kubernetes requirement in tools/k8s/go.mod.
const KubernetesVersion = "v1.37.2"

// versionPkg is the package whose variables the linker stamps with the Kubernetes version.
const versionPkg = "k8s.io/component-base/version"

// Paths are the control-plane executables Start runs.
type Paths struct {
	Etcd                  string // etcd server
	KubeAPIServer         string // kube-apiserver
	KubeControllerManager string // kube-controller-manager
}

// IsZero reports whether no path is set.
func (p Paths) IsZero() bool { return p == Paths{} }

// build is one `go build` run inside a tools module.
type build struct {
	module   string   // directory of the tools module, relative to the repository root
	ldflags  string   // passed to -ldflags
	packages []string // the main packages
	outputs  []string // the executable names the build writes into the output directory
}

// builds returns the builds that produce the three binaries, in the order they run
// (the fast one first, so a broken toolchain shows up early).
func builds() []build {
	stamp := func(name, value string) string { return "-X " + versionPkg + "." + name + "=" + value }
	major, minor, _ := strings.Cut(strings.TrimPrefix(KubernetesVersion, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	return []build{
		{
			module:   "tools/etcd",
			ldflags:  "-s -w",
			packages: []string{"go.etcd.io/etcd/server/v3"},
			outputs:  []string{"etcd"},
		},
		{
			module: "tools/k8s",
			ldflags: strings.Join([]string{"-s -w",
				stamp("gitVersion", KubernetesVersion),
				stamp("gitMajor", major),
				stamp("gitMinor", minor),
				stamp("gitTreeState", "clean"),
				stamp("gitCommit", strings.Repeat("0", 40)),
				stamp("buildDate", "2026-01-01T00:00:00Z"),
			}, " "),
			packages: []string{"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager"},
			outputs:  []string{"kube-apiserver", "kube-controller-manager"},
		},
	}
}

// Binaries returns the control-plane executables, building them first if the cache lacks them.
//
// The cache lives outside the repository (see CacheDir), in a subdirectory named after a hash
// of the tools modules' go.mod and go.sum, the Go version and the build flags, so it is rebuilt
// only when one of those changes. A build is cold-expensive (about 5-10 minutes and 3 GB of RAM
// on two cores), so progress is logged with log/slog. Concurrent callers, also in other
// processes, wait on a lock file instead of building twice, and binaries are built in a
// temporary directory that is renamed into place, so a killed build never leaves a partial set.
func Binaries(ctx context.Context) (Paths, error) {
	root, err := RepoRoot()
	if err != nil {
		return Paths{}, err
	}
	cache, err := CacheDir()
	if err != nil {
		return Paths{}, err
	}
	goVersion, err := goEnv(ctx, filepath.Join(root, "tools", "k8s"))
	if err != nil {
		return Paths{}, err
	}
	key, err := cacheKey(root, goVersion)
	if err != nil {
		return Paths{}, err
	}
	dir := filepath.Join(cache, key)
	paths := Paths{
		Etcd:                  filepath.Join(dir, "etcd"),
		KubeAPIServer:         filepath.Join(dir, "kube-apiserver"),
		KubeControllerManager: filepath.Join(dir, "kube-controller-manager"),
	}
	if complete(paths) {
		return paths, nil
	}

	if err := os.MkdirAll(cache, 0o755); err != nil {
		return Paths{}, fmt.Errorf("testenv: creating binary cache %s: %w", cache, err)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return Paths{}, err
	}
	defer unlock()
	if complete(paths) { // another process built them while we waited for the lock
		return paths, nil
	}
	if err := buildAll(ctx, root, dir); err != nil {
		return Paths{}, err
	}
	return paths, nil
}

// complete reports whether every binary is present. The directory that holds them only ever
// appears by rename after a successful build, so presence means the set is whole.
func complete(p Paths) bool {
	for _, path := range []string{p.Etcd, p.KubeAPIServer, p.KubeControllerManager} {
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// buildAll builds every binary into a fresh temporary directory beside dir and renames it to
// dir. The caller holds the lock for dir.
func buildAll(ctx context.Context, root, dir string) error {
	// Leftovers of builds that were killed: nobody else may touch them while we hold the lock.
	stale, _ := filepath.Glob(dir + ".tmp-*")
	for _, s := range stale {
		_ = os.RemoveAll(s)
	}
	_ = os.RemoveAll(dir) // an incomplete set, e.g. a binary deleted by hand

	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("testenv: creating build directory: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op after the rename succeeds

	slog.Info("testenv: building control-plane binaries; a cold build takes 5-10 minutes and about 3 GB of RAM",
		"into", dir)
	start := time.Now()
	for _, b := range builds() {
		if err := runBuild(ctx, root, tmp, b); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp made it private
		return fmt.Errorf("testenv: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("testenv: moving built binaries into %s: %w", dir, err)
	}
	slog.Info("testenv: control-plane binaries built", "dir", dir, "took", time.Since(start).Round(time.Second))
	return nil
}

// runBuild runs one `go build` and logs progress while it runs.
func runBuild(ctx context.Context, root, out string, b build) error {
	// With one package, name the output: go would call go.etcd.io/etcd/server/v3 "server".
	target := out + string(filepath.Separator)
	if len(b.outputs) == 1 {
		target = filepath.Join(out, b.outputs[0])
	}
	args := []string{"build", "-trimpath", "-ldflags", b.ldflags, "-o", target}
	args = append(args, b.packages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Join(root, filepath.FromSlash(b.module))
	// The tools modules are separate from any workspace the developer may have.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.SysProcAttr = sysProcAttr()
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output

	what := strings.Join(b.outputs, ", ")
	slog.Info("testenv: building "+what, "module", b.module)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testenv: building %s: starting go: %w", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("testenv: building %s in %s (go %s): %w\n%s",
					what, cmd.Dir, strings.Join(args, " "), err, lastLines(output.Bytes(), tailLines))
			}
			slog.Info("testenv: built "+what, "took", time.Since(start).Round(time.Second))
			return nil
		case <-tick.C:
			slog.Info("testenv: still building "+what, "elapsed", time.Since(start).Round(time.Second))
		}
	}
}

// goEnv returns the version, OS and architecture of the go command as it runs in dir.
func goEnv(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOVERSION", "GOOS", "GOARCH")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return "", fmt.Errorf("testenv: asking the go command for its version in %s: %w", dir, err)
	}
	return strings.Join(strings.Fields(string(out)), " "), nil
}

// cacheKey hashes everything that decides the bytes of the binaries.
func cacheKey(root, goVersion string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "go %s\n", goVersion)
	for _, b := range builds() {
		fmt.Fprintf(h, "build %s -ldflags %q %s\n", b.module, b.ldflags, strings.Join(b.packages, " "))
		for _, name := range []string{"go.mod", "go.sum"} {
			path := filepath.Join(root, filepath.FromSlash(b.module), name)
			data, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("testenv: reading %s for the binary cache key: %w", path, err)
			}
			fmt.Fprintf(h, "%s %d\n", path[len(root):], len(data))
			h.Write(data)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// CacheDir returns the directory the binaries are cached in: $REDOUBT_TESTENV_CACHE if set,
// else redoubt/testenv under the user cache directory ($XDG_CACHE_HOME or ~/.cache).
func CacheDir() (string, error) {
	if dir := os.Getenv("REDOUBT_TESTENV_CACHE"); dir != "" {
		return filepath.Abs(dir)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("testenv: finding a cache directory for the binaries (set REDOUBT_TESTENV_CACHE): %w", err)
	}
	return filepath.Join(base, "redoubt", "testenv"), nil
}

// RepoRoot returns the root of the repository: the nearest directory, from the working
// directory upwards, whose go.mod declares module redoubt.dev/redoubt. Tests run in their
// package's directory, so this finds the root from any test.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: finding the repository root: %w", err)
	}
	return findRoot(wd)
}

// findRoot walks up from dir to the directory whose go.mod declares RootModule.
func findRoot(dir string) (string, error) {
	for d := dir; ; {
		if mod, err := modulePath(filepath.Join(d, "go.mod")); err == nil && mod == RootModule {
			return d, nil
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("testenv: no go.mod of module %s in %s or above: run from inside the repository", RootModule, dir)
		}
		d = parent
	}
}

// modulePath returns the module path a go.mod file declares.
func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			if p, err := strconv.Unquote(fields[1]); err == nil {
				return p, nil
			}
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("testenv: reading %s: %w", gomod, err)
	}
	return "", nil
}
