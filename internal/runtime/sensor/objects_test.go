package sensor

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// TestObjectsMatchSources fails when sensor.bpf.c or kernel.h changed without `go generate`: the
// generator records the sources' hashes in sources.sha256 beside the object it commits.
// Hashing the sources (not the object) keeps the check independent of clang's version.
func TestObjectsMatchSources(t *testing.T) {
	f, err := os.Open("sources.sha256")
	if err != nil {
		t.Fatalf("the generated hash file is missing; run go generate ./internal/runtime/sensor: %v", err)
	}
	defer f.Close()
	recorded := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if ok {
			recorded[name] = sum
		}
	}
	sources, _ := filepath.Glob("*.[ch]")
	if len(sources) == 0 {
		t.Fatal("no eBPF sources (sensor.bpf.c, kernel.h)")
	}
	for _, src := range sources {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		name := filepath.Base(src)
		if got, want := hex.EncodeToString(sum[:]), recorded[name]; got != want {
			t.Errorf("%s changed since bpf_bpfel.o was generated (hash %s, recorded %q): run go generate ./internal/runtime/sensor and commit the result", src, got, want)
		}
		delete(recorded, name)
	}
	for name := range recorded {
		t.Errorf("sources.sha256 names %s, which is gone: run go generate ./internal/runtime/sensor", name)
	}
}

// TestRegeneratedObjectAgrees rebuilds the object from the sources with the local clang and
// checks it declares the same programs, maps and Go types as the committed one. Byte equality
// of the object would tie the check to one clang release; these are what the loader relies on.
func TestRegeneratedObjectAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilds the eBPF object; skipped with -short")
	}
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skip("clang is not installed: cannot rebuild the eBPF object (apt-get install clang llvm libbpf-dev)")
	}
	if _, err := os.Stat("/usr/include/bpf/bpf_helpers.h"); err != nil {
		t.Skip("libbpf headers are not installed (apt-get install libbpf-dev)")
	}
	dir := t.TempDir()
	// The same command as the go:generate line, writing elsewhere.
	cmd := exec.Command("go", "run", "github.com/cilium/ebpf/cmd/bpf2go", "-output-dir", dir,
		"-go-package", "sensor", "-cc", "clang", "-cflags", "-O2 -g -Wall -Werror", "-target", "bpfel",
		"-type", "exec_event", "-type", "exit_event", "-type", "conn_event", "-type", "dup_event",
		"bpf", "sensor.bpf.c", "--", "-I/usr/include/bpf", "-I/usr/include")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bpf2go: %v\n%s", err, out)
	}
	committedGo, _ := os.ReadFile("bpf_bpfel.go")
	freshGo, err := os.ReadFile(filepath.Join(dir, "bpf_bpfel.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committedGo, freshGo) {
		t.Errorf("bpf_bpfel.go differs from what bpf2go generates from the sources: run go generate ./internal/runtime/sensor")
	}
	committed, err := ebpf.LoadCollectionSpec("bpf_bpfel.o")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := ebpf.LoadCollectionSpec(filepath.Join(dir, "bpf_bpfel.o"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := keys(committed.Programs), keys(fresh.Programs); !slices.Equal(a, b) {
		t.Errorf("programs: committed %v, sources %v", a, b)
	}
	for name, m := range fresh.Maps {
		c, ok := committed.Maps[name]
		if !ok {
			t.Errorf("map %s is in the sources, not in the committed object", name)
			continue
		}
		if c.Type != m.Type || c.KeySize != m.KeySize || c.ValueSize != m.ValueSize || c.MaxEntries != m.MaxEntries {
			t.Errorf("map %s: committed %v/%d/%d/%d, sources %v/%d/%d/%d", name,
				c.Type, c.KeySize, c.ValueSize, c.MaxEntries, m.Type, m.KeySize, m.ValueSize, m.MaxEntries)
		}
	}
	for name, p := range fresh.Programs {
		if c := committed.Programs[name]; c != nil && c.SectionName != p.SectionName {
			t.Errorf("program %s attaches to %s in the sources, %s in the committed object", name, p.SectionName, c.SectionName)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
