package cgroup

import (
	"io/fs"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Resolver maps cgroup ids to paths under one cgroup v2 hierarchy. The kernel's cgroup id is
// the inode number of the cgroup's directory, so a walk of the hierarchy finds every id; the
// resolver walks again only when asked for an id it does not know (a cgroup created since),
// at most once per MinRescan, and forgets ids whose directory is gone after a walk.
type Resolver struct {
	root string
	// MinRescan bounds how often an unknown id makes the resolver walk the hierarchy again.
	MinRescan time.Duration
	// maxEntries bounds the table: a node with more cgroups than this is attributed partly.
	maxEntries int

	mu       sync.Mutex
	paths    map[uint64]string
	lastWalk time.Time
}

// NewResolver returns a resolver for the hierarchy mounted at root (see Unified).
func NewResolver(root string) *Resolver {
	return &Resolver{root: root, MinRescan: 100 * time.Millisecond, maxEntries: 1 << 18}
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
