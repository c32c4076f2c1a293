package cgroup

import (
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Resolver maps cgroup ids to paths under one cgroup v2 hierarchy. The kernel's cgroup id is
// also the cgroup directory's file handle (kernfs), so an unknown id is opened directly with
// open_by_handle_at (needs CAP_DAC_READ_SEARCH) and its path read back: exact, even for a
// cgroup created a microsecond ago. Where handles are refused, the id is the directory's
// inode number, and the resolver walks the hierarchy instead, at most once per MinRescan.
type Resolver struct {
	root string
	// MinRescan bounds how often an unknown id makes the resolver walk the hierarchy again.
	MinRescan time.Duration
	// maxEntries bounds the table: a node with more cgroups than this is attributed partly.
	maxEntries int

	mu       sync.Mutex
	paths    map[uint64]string
	lastWalk time.Time
	mountFD  int // the hierarchy root, for open_by_handle_at; -1 until opened, -2 if refused
}

// NewResolver returns a resolver for the hierarchy mounted at root (see Unified).
func NewResolver(root string) *Resolver {
	return &Resolver{root: root, MinRescan: 100 * time.Millisecond, maxEntries: 1 << 18, mountFD: -1}
}

// Root is the hierarchy's mount point.
func (r *Resolver) Root() string { return r.root }

// Path returns the cgroup path of id, relative to the hierarchy root and starting with "/"
// as /proc/PID/cgroup spells it, or false when no cgroup has that id (any more).
func (r *Resolver) Path(id uint64) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.paths[id]; ok {
		return p, true
	}
	if p, ok := r.byHandle(id); ok {
		if r.paths == nil || len(r.paths) >= r.maxEntries {
			r.paths = map[uint64]string{}
		}
		r.paths[id] = p
		return p, true
	}
	if r.paths != nil && time.Since(r.lastWalk) < r.MinRescan {
		return "", false
	}
	r.walk()
	p, ok := r.paths[id]
	return p, ok
}

// walk rebuilds the table. Errors on single directories (one removed during the walk) are
// skipped: the walk is a best effort by nature.
func (r *Resolver) walk() {
	paths := make(map[uint64]string, len(r.paths)+16)
	_ = filepath.WalkDir(r.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() && p != r.root {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if len(paths) >= r.maxEntries {
			return fs.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		rel, err := filepath.Rel(r.root, p)
		if err != nil {
			return nil
		}
		if rel == "." {
			rel = ""
		}
		paths[st.Ino] = "/" + rel
		return nil
	})
	r.paths = paths
	r.lastWalk = time.Now()
}

// fileidKernfs is the kernel's FILEID_KERNFS handle type: a kernfs node id, which for cgroups
// is the cgroup id.
const fileidKernfs = 0xfe

// byHandle opens the cgroup by its id and reads its path from /proc/self/fd.
func (r *Resolver) byHandle(id uint64) (string, bool) {
	if r.mountFD == -2 {
		return "", false
	}
	if r.mountFD == -1 {
		fd, err := unix.Open(r.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			r.mountFD = -2
			return "", false
		}
		r.mountFD = fd
	}
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], id)
	fd, err := unix.OpenByHandleAt(r.mountFD, unix.NewFileHandle(fileidKernfs, b[:]), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		if err == unix.EPERM || err == unix.EOPNOTSUPP || err == unix.EINVAL {
			unix.Close(r.mountFD)
			r.mountFD = -2 // not allowed or not supported here: walk instead
		}
		return "", false
	}
	defer unix.Close(fd)
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", false
	}
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(r.root, "/"))
	if !ok {
		return "", false
	}
	if rel == "" {
		rel = "/"
	}
	return rel, true
}

// Close releases the descriptor of the hierarchy root.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mountFD >= 0 {
		err := unix.Close(r.mountFD)
		r.mountFD = -2
		return err
	}
	return nil
}
