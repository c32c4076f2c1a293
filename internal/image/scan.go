package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"

	"redoubt.dev/redoubt/internal/image/extract"
)

// Progress hears about layers as they are read; a terminal shows it, pipelines ignore it.
type Progress interface {
	// LayerStart is called when a layer starts downloading and reading; size is compressed.
	LayerStart(ref string, index, total int, diffID string, size int64)
	// LayerBytes reports uncompressed bytes read so far.
	LayerBytes(ref string, index int, n int64)
	// LayerDone is called when a layer is finished (cached is true if it was not read at all).
	LayerDone(ref string, index int, cached bool, err error)
}

// Scan inventories an image: its layers, OS, packages and unnecessary components.
func Scan(ctx context.Context, src *Source, o Options) (*Report, error) {
	lim := o.limits()
	tempDir := o.TempDir
	if tempDir == "" && o.Cache != nil {
		tempDir = o.Cache.TempDir()
	}
	exs := extract.All(extract.Options{KeepOwned: watchComponent, TempDir: tempDir})
	key := cacheKey(exs)

	rep := &Report{Ref: src.Ref, Digest: src.Digest, IndexDigest: src.IndexDigest, Platform: src.Platform,
		Packages: []Package{}, Components: []Component{}, Vulnerabilities: []Vulnerability{}}
	cf, err := src.Image.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", src.Ref, err)
	}
	if rep.Platform == "" && cf.OS != "" {
		// Sources that chose no platform (one image of an OCI layout) say what the image says.
		rep.Platform = (&v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}).String()
	}
	layers, err := src.Image.Layers()
	if err != nil {
		return nil, fmt.Errorf("image %s: layers: %w", src.Ref, err)
	}
	createdBy := layerHistory(cf, len(layers))
	rep.Layers = make([]Layer, len(layers))
	results := make([]*layerResult, len(layers))

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.concurrency())
	for i, l := range layers {
		// The diff ID the config claims is only trusted once the layer's content has been hashed:
		// the cache is looked up by the blob's digest (content-addressed, verified on download),
		// which maps to the diff ID computed when the blob was first read.
		info := Layer{Index: i, CreatedBy: createdBy[i]}
		if i < len(cf.RootFS.DiffIDs) {
			info.DiffID = cf.RootFS.DiffIDs[i].String()
		}
		if s, err := l.Size(); err == nil {
			info.Size = s
		}
		rep.Layers[i] = info
		g.Go(func() error {
			// A docker archive's blob digest costs a pass over the blob: it is computed up front
			// only when the cache may hold the layer (it has a result for the diff ID the config
			// claims); otherwise it is hashed on the way while the layer is read.
			lazy, isLazy := l.(lazyDigest)
			if !isLazy || o.Cache.has(info.DiffID, key) {
				d, err := l.Digest()
				if err != nil {
					return fmt.Errorf("image %s: layer %d: %w", src.Ref, i, err)
				}
				info.Digest = d.String()
				rep.Layers[i].Digest = info.Digest
			}
			if diffID, ok := o.Cache.diffIDOf(info.Digest); ok && info.Digest != "" {
				if lr, ok := o.Cache.get(diffID, key); ok {
					results[i] = lr
					rep.Layers[i].Cached, rep.Layers[i].DiffID = true, diffID
					if o.Progress != nil {
						o.Progress.LayerDone(src.Ref, i, true, nil)
					}
					return nil
				}
			}
			if o.Progress != nil {
				o.Progress.LayerStart(src.Ref, i, len(layers), info.DiffID, info.Size)
			}
			lr, diffID, err := readLayer(gctx, src.Ref, l, info, exs, lim, tempDir, o.Progress)
			if o.Progress != nil {
				o.Progress.LayerDone(src.Ref, i, false, err)
			}
			if err != nil {
				return fmt.Errorf("image %s: layer %d (%s): %w", src.Ref, i, info.Digest, err)
			}
			if info.DiffID != "" && info.DiffID != diffID {
				lr = withWarning(lr, fmt.Sprintf("the image config names diff ID %s but the layer's content hashes to %s (a tampered or broken image)", info.DiffID, diffID))
			}
			results[i] = lr
			rep.Layers[i].DiffID = diffID
			if info.Digest == "" && isLazy {
				d, err := lazy.Digest() // hashed while read: no second pass
				if err != nil {
					return fmt.Errorf("image %s: layer %d: %w", src.Ref, i, err)
				}
				info.Digest = d.String()
				rep.Layers[i].Digest = info.Digest
			}
			if err := o.Cache.put(diffID, key, lr); err == nil {
				err = o.Cache.link(info.Digest, diffID)
			} else {
				// A cache that cannot be written costs time, not correctness.
				lr.Warnings = append(lr.Warnings, fmt.Sprintf("layer cache: %v", err))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	assemble(rep, results)
	return rep, nil
}

// layerHistory maps each layer to the history line that created it (history entries marked
// empty_layer made no layer).
func layerHistory(cf *v1.ConfigFile, n int) []string {
	out := make([]string, n)
	i := 0
	for _, h := range cf.History {
		if h.EmptyLayer {
			continue
		}
		if i >= n {
			break
		}
		out[i] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h.CreatedBy), "/bin/sh -c #(nop)"))
		i++
	}
	return out
}

// lazyDigest is a layer whose digest is computed from its bytes (a docker archive's), and that
// computes it while it is read if nothing asked for it before.
type lazyDigest interface {
	Digest() (v1.Hash, error)
	lazy()
}

// withWarning returns a copy of a layer result with one more warning (results may be shared
// through the cache, so they are not changed in place).
func withWarning(lr *layerResult, w string) *layerResult {
	c := *lr
	c.Warnings = append(append([]string(nil), lr.Warnings...), w)
	return &c
}

// readLayer walks a layer's uncompressed stream once, hashing it on the way: the hash is the
// layer's true diff ID.
func readLayer(ctx context.Context, ref string, l v1.Layer, info Layer, exs []extract.Extractor, lim Limits, tempDir string, p Progress) (*layerResult, string, error) {
	rc, err := uncompressed(l)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	pr := newPipeline(rc)
	defer pr.stop()
	m := &meter{r: pr, compressed: info.Size, lim: lim}
	if p != nil {
		var total int64
		var mu sync.Mutex
		m.progress = func(n int64) {
			mu.Lock()
			total += n
			t := total
			mu.Unlock()
			p.LayerBytes(ref, info.Index, t)
		}
	}
	w := &walker{exs: exs, lim: lim, tempDir: tempDir}
	lr, err := w.walk(ctx, m)
	if err != nil {
		return nil, "", err
	}
	// Read to the end: the whole stream makes the diff ID, and a truncated or corrupt stream
	// (or a compressed blob whose digest does not verify) must be noticed.
	if _, err := io.Copy(io.Discard, m); err != nil && !errors.Is(err, io.EOF) {
		return nil, "", err
	}
	return lr, "sha256:" + hex.EncodeToString(pr.sum()), nil
}

// pipeline decompresses and hashes a layer on its own goroutine, a few chunks ahead of the tar
// walker reading it, so the two use two cores when they are free.
type pipeline struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
	err    error // set before chunks is closed
	hash   []byte
	cur    []byte
	buf    []byte
	once   sync.Once
}

const pipelineChunk = 256 << 10

func newPipeline(r io.Reader) *pipeline {
	p := &pipeline{chunks: make(chan []byte, 8), free: make(chan []byte, 9), done: make(chan struct{}), exited: make(chan struct{})}
	for range 9 {
		p.free <- make([]byte, pipelineChunk)
	}
	go func() {
		defer close(p.exited)
		defer close(p.chunks)
		h := sha256.New()
		for {
			var b []byte
			select {
			case b = <-p.free:
			case <-p.done:
				return
			}
			n, err := io.ReadFull(r, b)
			if n > 0 {
				h.Write(b[:n])
				select {
				case p.chunks <- b[:n]:
				case <-p.done:
					return
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				p.hash = h.Sum(nil)
				return
			}
			if err != nil {
				p.err = err
				return
			}
		}
	}()
	return p
}

func (p *pipeline) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.buf != nil {
			p.free <- p.buf[:cap(p.buf)]
			p.buf = nil
		}
		c, ok := <-p.chunks
		if !ok {
			if p.err != nil {
				return 0, p.err
			}
			return 0, io.EOF
		}
		p.buf, p.cur = c, c
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// skip discards up to n bytes without copying them (tar.Reader skips file contents through
// Seek), and returns how many it skipped.
func (p *pipeline) skip(n int64) (int64, error) {
	var done int64
	for done < n {
		if len(p.cur) == 0 {
			if p.buf != nil {
				p.free <- p.buf[:cap(p.buf)]
				p.buf = nil
			}
			c, ok := <-p.chunks
			if !ok {
				return done, p.err
			}
			p.buf, p.cur = c, c
		}
		k := min(int64(len(p.cur)), n-done)
		p.cur = p.cur[k:]
		done += k
	}
	return done, nil
}

// sum is the hash of everything read; valid once Read has returned io.EOF.
func (p *pipeline) sum() []byte { return p.hash }

// stop ends the producer if the reader gave up early, and waits for it: the stream it reads
// must not be closed under it.
func (p *pipeline) stop() {
	p.once.Do(func() { close(p.done) })
	<-p.exited
}

// uncompressed opens a layer's uncompressed stream, decompressing gzip and zstd with
// klauspost/compress (about twice the speed of the standard library's gzip) and passing
// uncompressed layers through.
func uncompressed(l v1.Layer) (io.ReadCloser, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 1<<16)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := kgzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return readCloser{zr, func() error { zr.Close(); return rc.Close() }}, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			rc.Close()
			return nil, err
		}
		return readCloser{zr, func() error { zr.Close(); return rc.Close() }}, nil
	}
	return readCloser{br, rc.Close}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// assemble stacks the layers and keeps what is in the final filesystem.
func assemble(rep *Report, results []*layerResult) {
	t := newTree(watchComponent)
	for i, lr := range results {
		t.apply(lr, i)
		for _, w := range lr.Warnings {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("layer %d: %s", i, w))
		}
	}
	present := func(p string, layer int) bool {
		n := t.lookup(p)
		if n == nil {
			// Written through a linked parent directory (bin/x with bin -> usr/bin).
			n = t.lookup(canonical(t, p))
		}
		return n != nil && n.layer == layer && (n.e.Type == typeFile || n.e.Type == typeHardlink)
	}

	// The OS: os-release as /etc/os-release resolves in the final filesystem.
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		canon, n := t.resolve(p)
		if n == nil {
			continue
		}
		if r := results[n.layer].Files[canon]; n.layer >= 0 && r != nil && r.Distro != nil {
			rep.Distro = r.Distro
			break
		}
	}

	owners := map[string][]string{}
	var pkgs []Package
	installed := map[string]bool{} // npm package.json paths present, to drop lockfile duplicates
	for i, lr := range results {
		paths := make([]string, 0, len(lr.Files))
		for p := range lr.Files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			if !present(p, i) {
				continue
			}
			r := lr.Files[p]
			for name, files := range r.Owners {
				owners[name] = append(owners[name], files...)
			}
			for _, ep := range r.Packages {
				layer := firstLayer(results, i, p, ep)
				pkg := Package{Package: ep, Layer: layer, LayerID: rep.Layers[layer].DiffID, CreatedBy: rep.Layers[layer].CreatedBy}
				if ep.Type == extract.TypeNPM && !ep.FromLock {
					installed[ep.Path] = true
				}
				pkgs = append(pkgs, pkg)
			}
		}
	}
	for _, p := range pkgs {
		if p.FromLock && installed[p.Path] {
			continue
		}
		p.Ecosystem = Ecosystem(p.Type, rep.Distro)
		p.PURL = PURL(&p.Package, rep.Distro)
		rep.Packages = append(rep.Packages, p)
	}
	slices.SortStableFunc(rep.Packages, func(a, b Package) int {
		return strings.Compare(a.Type+"\x00"+a.Name+"\x00"+a.Version+"\x00"+a.Path, b.Type+"\x00"+b.Name+"\x00"+b.Version+"\x00"+b.Path)
	})
	rep.Packages = slices.CompactFunc(rep.Packages, func(a, b Package) bool {
		return a.Type == b.Type && a.Name == b.Name && a.Version == b.Version && a.Path == b.Path
	})

	rep.Components = append(rep.Components, componentsWithOwners(t, rep, owners)...)
	for i := range rep.Components {
		c := &rep.Components[i]
		if c.Layer >= 0 && c.Layer < len(rep.Layers) {
			c.LayerID, c.CreatedBy = rep.Layers[c.Layer].DiffID, rep.Layers[c.Layer].CreatedBy
		}
	}
}

// firstLayer finds the layer that added a package found in layer i's copy of a database file:
// databases such as dpkg's status are rewritten by every layer that installs anything, so the
// package came from the earliest layer of the unbroken run of copies that list it.
func firstLayer(results []*layerResult, i int, p string, pkg extract.Package) int {
	first := i
	for j := i - 1; j >= 0; j-- {
		lr := results[j]
		if r, ok := lr.Files[p]; ok {
			if !slices.ContainsFunc(r.Packages, func(q extract.Package) bool {
				return q.Name == pkg.Name && q.Version == pkg.Version && q.Arch == pkg.Arch
			}) {
				break
			}
			first = j
			continue
		}
		if deletes(lr, p) {
			break
		}
	}
	return first
}

// deletes reports whether a layer's whiteouts or opaque directories remove path p.
func deletes(lr *layerResult, p string) bool {
	for _, w := range lr.Whiteouts {
		if w == p || strings.HasPrefix(p, w+"/") {
			return true
		}
	}
	for _, d := range lr.Opaque {
		if d == "" || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// componentsWithOwners finds the components, names the package that installed each, and adds
// the components whose package is registered but whose file is gone.
func componentsWithOwners(t *tree, rep *Report, owners map[string][]string) []Component {
	comps := findComponents(t)
	typeOf := map[string]string{}
	for _, p := range rep.Packages {
		if p.Type == extract.TypeDeb || p.Type == extract.TypeApk {
			typeOf[p.Name] = p.Type
		}
	}
	// Owned paths as the final filesystem spells them (merged /usr: /bin/sh is usr/bin/sh).
	ownerOf := map[string]string{}
	var names []string
	for name := range owners {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if typeOf[name] == "" {
			continue // the package is no longer installed
		}
		for _, p := range owners[name] {
			ownerOf[canonical(t, p)] = name
		}
	}
	for i := range comps {
		c := &comps[i]
		owner := ownerOf[c.Path]
		if owner == "" && c.Target != "" {
			owner = ownerOf[c.Target]
		}
		if owner != "" {
			c.Package, c.PackageType = owner, typeOf[owner]
		}
	}
	// Registered but gone.
	have := map[string]bool{}
	for _, c := range comps {
		have[c.Path] = true
	}
	for _, name := range names {
		if typeOf[name] == "" {
			continue
		}
		seen := map[string]bool{}
		for _, p := range owners[name] {
			cp := canonical(t, p)
			if seen[cp] || have[cp] {
				continue
			}
			seen[cp] = true
			if _, n := t.resolve(cp); n != nil {
				continue
			}
			class, _ := componentClass(path.Base(cp))
			layer, ok := t.removed[cp]
			if !ok {
				layer, ok = t.removed[p]
			}
			if !ok {
				layer = -1
			}
			comps = append(comps, Component{Class: class, Name: path.Base(cp), Path: cp, Package: name,
				PackageType: typeOf[name], Layer: layer, Removed: true})
		}
	}
	return comps
}

// canonical resolves the directory part of a path through the final filesystem's links.
func canonical(t *tree, p string) string {
	d, b := path.Split(p)
	if cd, n := t.resolve(strings.TrimSuffix(d, "/")); n != nil {
		return path.Join(cd, b)
	}
	return p
}
