package cgroup

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	const id = "4f1c9a3b2e6d8f7a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a"
	cases := []struct {
		name, path string
		want       Container
		ok         bool
	}{
		{"containerd systemd driver",
			"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0c3c9d2e_5b2a_4f0e_9a43_7f1d2c3b4a5e.slice/cri-containerd-" + id + ".scope",
			Container{ID: id, Runtime: "containerd", PodUID: "0c3c9d2e-5b2a-4f0e-9a43-7f1d2c3b4a5e"}, true},
		{"cri-o burstable",
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0c3c9d2e_5b2a_4f0e_9a43_7f1d2c3b4a5e.slice/crio-" + id + ".scope",
			Container{ID: id, Runtime: "cri-o", PodUID: "0c3c9d2e-5b2a-4f0e-9a43-7f1d2c3b4a5e"}, true},
		{"docker guaranteed",
			"/kubepods.slice/kubepods-pod0c3c9d2e_5b2a_4f0e_9a43_7f1d2c3b4a5e.slice/docker-" + id + ".scope",
			Container{ID: id, Runtime: "docker", PodUID: "0c3c9d2e-5b2a-4f0e-9a43-7f1d2c3b4a5e"}, true},
		{"cgroupfs driver",
			"/kubepods/besteffort/pod0c3c9d2e-5b2a-4f0e-9a43-7f1d2c3b4a5e/" + id,
			Container{ID: id, PodUID: "0c3c9d2e-5b2a-4f0e-9a43-7f1d2c3b4a5e"}, true},
		{"sub-cgroup inside a container keeps the container",
			"/kubepods.slice/kubepods-pod0c3c9d2e_5b2a_4f0e_9a43_7f1d2c3b4a5e.slice/cri-containerd-" + id + ".scope/init.scope",
			Container{ID: id, Runtime: "containerd", PodUID: "0c3c9d2e-5b2a-4f0e-9a43-7f1d2c3b4a5e"}, true},
		{"pod sandbox level only",
			"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0c3c9d2e_5b2a_4f0e_9a43_7f1d2c3b4a5e.slice",
			Container{PodUID: "0c3c9d2e-5b2a-4f0e-9a43-7f1d2c3b4a5e"}, true},
		{"docker outside kubernetes", "/system.slice/docker-" + id + ".scope", Container{ID: id, Runtime: "docker"}, true},
		{"node service", "/system.slice/kubelet.service", Container{}, false},
		{"root", "/", Container{}, false},
		{"crio conmon is not the container", "/kubepods.slice/crio-conmon-" + id + ".scope", Container{}, false},
		{"bare hex outside a pod is not a container", "/machine/" + id, Container{}, false},
		{"short id", "/kubepods.slice/cri-containerd-abc.scope", Container{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse(tc.path)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestUnifiedFromMountinfo(t *testing.T) {
	cases := map[string]struct {
		mountinfo, want string
	}{
		"hybrid": {`25 1 0:23 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw
27 25 0:25 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory
`, "/sys/fs/cgroup/unified"},
		"unified": {`30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate
31 30 0:26 /kubepods.slice /var/lib/x rw shared:4 - cgroup2 cgroup2 rw
`, "/sys/fs/cgroup"},
		"escaped": {`30 1 0:26 / /mnt/cg\040v2 rw - cgroup2 cgroup2 rw
`, "/mnt/cg v2"},
		"none": {"25 1 0:23 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "mountinfo")
			if err := os.WriteFile(p, []byte(tc.mountinfo), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := unifiedFrom(p)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestResolverFindsNewCgroup creates a real cgroup v2 directory and checks that its inode
// number, the id the kernel reports for its processes, resolves to its path even though it
// was created after the first walk.
func TestResolverFindsNewCgroup(t *testing.T) {
	root, err := Unified()
	if err != nil {
		t.Skipf("no cgroup v2 hierarchy here: %v", err)
	}
	r := NewResolver(root)
	r.MinRescan = 0
	if _, ok := r.Path(1); ok {
		t.Log("id 1 resolves (the root on some kernels)")
	}
	name := "redoubt-resolver-test"
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot create a cgroup under %s (needs root): %v", root, err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	got, ok := r.Path(st.Ino)
	if !ok || got != "/"+name {
		t.Fatalf("Path(%d) = %q, %v; want /%s", st.Ino, got, ok, name)
	}
	// With handles refused, the walk finds it too; with rescans rate-limited, a second new
	// cgroup waits for the next walk.
	w := NewResolver(root)
	w.mountFD = -2
	w.MinRescan = time.Hour
	if got, ok := w.Path(st.Ino); !ok || got != "/"+name {
		t.Fatalf("walk: Path(%d) = %q, %v; want /%s", st.Ino, got, ok, name)
	}
	if got, ok := r.Path(1 << 62); ok {
		t.Errorf("an id no cgroup has resolves to %q", got)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
}

// TestResolverByHandleIsImmediate checks the file-handle path: a cgroup created after the
// last walk, inside the rescan interval, still resolves.
func TestResolverByHandleIsImmediate(t *testing.T) {
	root, err := Unified()
	if err != nil {
		t.Skipf("no cgroup v2 hierarchy here: %v", err)
	}
	r := NewResolver(root)
	r.MinRescan = time.Hour
	r.Path(1 << 62) // an unknown id: walks once, so the next miss may not walk
	dir := filepath.Join(root, "redoubt-handle-test", "child.scope")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Skipf("cannot create a cgroup under %s (needs root): %v", root, err)
	}
	t.Cleanup(func() { os.Remove(dir); os.Remove(filepath.Dir(dir)) })
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	got, ok := r.Path(st.Ino)
	if r.mountFD == -2 {
		t.Skip("open_by_handle_at is refused here (needs CAP_DAC_READ_SEARCH)")
	}
	if !ok || got != "/redoubt-handle-test/child.scope" {
		t.Fatalf("Path(%d) = %q, %v; want /redoubt-handle-test/child.scope", st.Ino, got, ok)
	}
}
