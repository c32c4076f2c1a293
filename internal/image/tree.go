package image

import (
	"path"
	"sort"
	"strings"
)

// node is one path of the final filesystem: the entry of the topmost layer that wrote it.
type node struct {
	kids  map[string]*node
	e     entry
	layer int
}

// tree is the final filesystem view built by stacking layer listings.
type tree struct {
	root *node
	// removed records, for paths the watch predicate selects, the layer whose whiteout (or
	// opaque directory) deleted them.
	removed map[string]int
	watch   func(string) bool
}

func newTree(watch func(string) bool) *tree {
	return &tree{root: &node{e: entry{Type: typeDir}, layer: -1}, removed: map[string]int{}, watch: watch}
}

// lookup finds a path without following symbolic links.
func (t *tree) lookup(p string) *node {
	n := t.root
	if p == "" {
		return n
	}
	for _, part := range strings.Split(p, "/") {
		if n.kids == nil {
			return nil
		}
		if n = n.kids[part]; n == nil {
			return nil
		}
	}
	return n
}

// remove deletes a path (and everything under it) as layer deletes it.
func (t *tree) remove(p string, layer int) {
	parent := t.lookup(path.Dir(p))
	if p == "" || parent == nil || parent.kids == nil {
		return
	}
	name := path.Base(p)
	if n := parent.kids[name]; n != nil {
		t.noteRemoved(p, n, layer)
		delete(parent.kids, name)
	}
}

// hide deletes a directory's contents from lower layers (an opaque directory).
func (t *tree) hide(dir string, layer int) {
	n := t.lookup(dir)
	if n == nil {
		return
	}
	for name, k := range n.kids {
		t.noteRemoved(path.Join(dir, name), k, layer)
	}
	n.kids = nil
}

func (t *tree) noteRemoved(p string, n *node, layer int) {
	if t.watch == nil {
		return
	}
	if n.e.Type != typeDir && t.watch(p) {
		t.removed[p] = layer
	}
	for name, k := range n.kids {
		t.noteRemoved(p+"/"+name, k, layer)
	}
}

// add writes an entry of a layer over whatever lower layers had at its path.
func (t *tree) add(e entry, layer int) {
	n := t.root
	parts := strings.Split(e.Path, "/")
	for i, part := range parts {
		if n.kids == nil {
			n.kids = map[string]*node{}
		}
		k := n.kids[part]
		last := i == len(parts)-1
		switch {
		case last && k != nil && k.e.Type == typeDir && e.Type == typeDir:
			k.e, k.layer = e, layer // a directory's metadata changed; its contents stay
		case last:
			n.kids[part] = &node{e: e, layer: layer}
			delete(t.removed, e.Path)
		case k != nil && k.e.Type == typeSymlink:
			// A parent that a lower layer made a link to a directory (merged /usr: bin -> usr/bin):
			// runtimes write through the link, inside the root, and so does the tree.
			if _, d := t.resolve(strings.Join(parts[:i+1], "/")); d != nil && d.e.Type == typeDir {
				k = d
				break
			}
			k = &node{e: entry{Path: strings.Join(parts[:i+1], "/"), Type: typeDir, Mode: 0o755}, layer: layer}
			n.kids[part] = k
		case k == nil || k.e.Type != typeDir:
			// A parent the tar did not list (or that replaces a file): an implicit directory.
			k = &node{e: entry{Path: strings.Join(parts[:i+1], "/"), Type: typeDir, Mode: 0o755}, layer: layer}
			n.kids[part] = k
		}
		n = k
	}
}

// apply stacks one layer's listing on the tree.
func (t *tree) apply(lr *layerResult, layer int) {
	for _, d := range lr.Opaque {
		t.hide(d, layer)
	}
	for _, w := range lr.Whiteouts {
		t.remove(w, layer)
	}
	for _, e := range lr.Entries {
		t.add(e, layer)
	}
}

// maxLinks bounds symbolic link resolution, as the kernel does (ELOOP).
const maxLinks = 40

// resolve follows symbolic links (and hard links) inside the image: absolute targets are read
// from the image root and ".." never climbs above it, so a link can never reach the host. It
// returns the canonical path and its node, or nil when the path does not exist or loops.
func (t *tree) resolve(p string) (string, *node) {
	hops := 0
	return t.resolveFrom(nil, strings.Split(p, "/"), &hops)
}

func (t *tree) resolveFrom(base []string, rest []string, hops *int) (string, *node) {
	cur := append([]string(nil), base...)
	n := t.lookup(strings.Join(cur, "/"))
	if n == nil {
		return "", nil
	}
	for i := 0; i < len(rest); i++ {
		part := rest[i]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(cur) > 0 {
				cur = cur[:len(cur)-1]
				n = t.lookup(strings.Join(cur, "/"))
			}
			continue
		}
		if n == nil || n.kids == nil {
			return "", nil
		}
		k := n.kids[part]
		if k == nil {
			return "", nil
		}
		switch k.e.Type {
		case typeSymlink:
			*hops++
			if *hops > maxLinks {
				return "", nil
			}
			target := k.e.Link
			var from []string
			if !strings.HasPrefix(target, "/") {
				from = cur
			}
			tp, tn := t.resolveFrom(from, strings.Split(strings.TrimLeft(target, "/"), "/"), hops)
			if tn == nil {
				return "", nil
			}
			cur = splitPath(tp)
			n = tn
		default:
			cur = append(cur, part)
			n = k
		}
	}
	return strings.Join(cur, "/"), n
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// children lists a directory's entries, sorted by name.
func (n *node) children() []string {
	names := make([]string, 0, len(n.kids))
	for k := range n.kids {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
