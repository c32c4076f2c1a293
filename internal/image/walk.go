package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"redoubt.dev/redoubt/internal/image/extract"
)

// Entry types in a layer listing.
const (
	typeFile     byte = 'f'
	typeDir      byte = 'd'
	typeSymlink  byte = 'l'
	typeHardlink byte = 'h'
	typeOther    byte = 'o'
)

// entry is one tar entry of a layer, as the final filesystem needs it.
type entry struct {
	Path string
	Type byte
	Mode uint32
	Size int64
	// Link is a symbolic link's target as written, or a hard link's target path.
	Link string
}

// layerResult is everything one pass over a layer learned. It depends only on the layer's bytes
// (and the extractors), so it is cached by diff ID.
type layerResult struct {
	Entries []entry
	// Whiteouts are paths this layer deletes from the layers below; Opaque are directories whose
	// lower contents it hides.
	Whiteouts []string
	Opaque    []string
	// Files are the extractors' results, by path.
	Files map[string]*extract.Result
	// Warnings name entries that were refused or could not be parsed.
	Warnings []string
}

// errLimit marks a layer that broke a limit.
var errLimit = errors.New("limit exceeded")

// meter counts the bytes read from an uncompressed layer and stops at the limits.
type meter struct {
	r          io.Reader
	n          int64
	compressed int64
	lim        Limits
	progress   func(int64)
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.n += int64(n)
	if m.progress != nil && n > 0 {
		m.progress(int64(n))
	}
	if cerr := m.check(); cerr != nil {
		return n, cerr
	}
	return n, err
}

// skipper is a stream that can discard bytes without copying them.
type skipper interface {
	skip(n int64) (int64, error)
}

var errNoSeek = errors.New("stream cannot skip")

// Seek supports only skipping forward (io.SeekCurrent), which tar.Reader uses to pass over the
// contents of files no extractor wants; the bytes still count against the limits.
func (m *meter) Seek(offset int64, whence int) (int64, error) {
	sk, ok := m.r.(skipper)
	if !ok || whence != io.SeekCurrent || offset < 0 {
		return 0, errNoSeek
	}
	if offset == 0 {
		return m.n, nil
	}
	n, err := sk.skip(offset)
	m.n += n
	if m.progress != nil && n > 0 {
		m.progress(n)
	}
	if err == nil {
		err = m.check()
	}
	return m.n, err
}

// check enforces the limits on the bytes read so far.
func (m *meter) check() error {
	if m.lim.MaxLayerBytes > 0 && m.n > m.lim.MaxLayerBytes {
		return fmt.Errorf("%w: more than %d bytes uncompressed", errLimit, m.lim.MaxLayerBytes)
	}
	if m.lim.MaxRatio > 0 && m.compressed > 0 && m.n > m.lim.RatioFloor && m.n > m.compressed*m.lim.MaxRatio {
		return fmt.Errorf("%w: inflated to %d bytes from %d compressed, more than %d times (a decompression bomb?)",
			errLimit, m.n, m.compressed, m.lim.MaxRatio)
	}
	return nil
}

// walker reads one layer.
type walker struct {
	exs     []extract.Extractor
	lim     Limits
	tempDir string
	buf     []byte
	// handed counts the bytes handed to extractors: sparse tar entries inflate holes into zeros
	// that the stream meter never sees, so they are charged here against the same limit.
	handed int64
}

// cleanPath turns a tar entry name into a path relative to the image root. It refuses names
// that climb out of the root; absolute names are read relative to the root, as runtimes do,
// with a warning.
func cleanPath(name string) (p string, warning string, ok bool) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Sprintf("tar entry %q has a NUL byte in its name; skipped", name), false
	}
	abs := strings.HasPrefix(name, "/")
	rel := path.Clean(strings.TrimPrefix(name, "./"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Sprintf("tar entry %q escapes the image root; skipped", name), false
	}
	if abs {
		// path.Clean already resolved "/../x" to "/x": a runtime would also stop at the root.
		warning = fmt.Sprintf("tar entry %q has an absolute path; read relative to the image root", name)
	}
	rel = strings.TrimLeft(rel, "/")
	if rel == "." {
		rel = ""
	}
	return rel, warning, true
}

// walk reads a layer's uncompressed tar stream once.
func (w *walker) walk(ctx context.Context, r io.Reader) (*layerResult, error) {
	res := &layerResult{Files: map[string]*extract.Result{}}
	seen := map[string]bool{} // regular files in this layer, for hard links
	tr := tar.NewReader(r)
	warn := func(format string, args ...any) {
		if len(res.Warnings) < 100 {
			res.Warnings = append(res.Warnings, fmt.Sprintf(format, args...))
		} else if len(res.Warnings) == 100 {
			res.Warnings = append(res.Warnings, "more warnings in this layer were left out")
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar: %w", err)
		}
		if len(res.Entries) >= w.lim.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d entries", errLimit, w.lim.MaxEntries)
		}
		if len(hdr.Name) > w.lim.MaxPath || len(hdr.Linkname) > w.lim.MaxPath {
			warn("tar entry %q...: path longer than %d bytes; skipped", hdr.Name[:min(len(hdr.Name), 64)], w.lim.MaxPath)
			continue
		}
		p, msg, ok := cleanPath(hdr.Name)
		if msg != "" {
			warn("%s", msg)
		}
		if !ok || p == "" {
			continue
		}
		dirName, baseName := path.Split(p)
		dirName = strings.TrimSuffix(dirName, "/")
		if baseName == ".wh..wh..opq" {
			res.Opaque = append(res.Opaque, dirName)
			continue
		}
		if strings.HasPrefix(baseName, ".wh.") {
			res.Whiteouts = append(res.Whiteouts, path.Join(dirName, strings.TrimPrefix(baseName, ".wh.")))
			continue
		}
		e := entry{Path: p, Mode: uint32(hdr.FileInfo().Mode()), Size: hdr.Size}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			e.Type = typeFile
			seen[p] = true
		case tar.TypeDir:
			e.Type = typeDir
		case tar.TypeSymlink:
			e.Type, e.Link = typeSymlink, hdr.Linkname
		case tar.TypeLink:
			e.Type = typeHardlink
			target, _, ok := cleanPath(hdr.Linkname)
			e.Link = target
			if !ok || !seen[target] {
				warn("hard link %q points to %q, which is not in this layer; treated as empty", p, hdr.Linkname)
				e.Type, e.Link, e.Size = typeFile, "", 0
				break
			}
			if r, ok := res.Files[target]; ok {
				res.Files[p] = relocate(r, target, p)
			}
			seen[p] = true
		default:
			e.Type = typeOther
		}
		res.Entries = append(res.Entries, e)
		if e.Type == typeFile && e.Size > 0 {
			w.extract(ctx, tr, hdr, p, res, warn)
		}
	}
	return res, nil
}

// relocate copies a hard link target's result to the link's own path.
func relocate(r *extract.Result, from, to string) *extract.Result {
	out := &extract.Result{Owners: r.Owners, Distro: r.Distro}
	for _, p := range r.Packages {
		if p.Path == from {
			p.Path = to
		} else if strings.HasPrefix(p.Path, from+"!/") {
			p.Path = to + strings.TrimPrefix(p.Path, from)
		}
		out.Packages = append(out.Packages, p)
	}
	return out
}

// extract hands one regular file to the extractors that want it.
func (w *walker) extract(ctx context.Context, tr io.Reader, hdr *tar.Header, p string, res *layerResult, warn func(string, ...any)) {
	mode := fs.FileMode(hdr.FileInfo().Mode())
	var want []extract.Extractor
	for _, x := range w.exs {
		if x.Required(p, mode, hdr.Size) {
			want = append(want, x)
		}
	}
	if len(want) == 0 {
		return
	}
	var head [8]byte
	n, err := io.ReadFull(tr, head[:min(int64(len(head)), hdr.Size)])
	if err != nil {
		warn("%s: %v", p, err)
		return
	}
	kept := want[:0]
	for _, x := range want {
		if mf, ok := x.(extract.MagicFilter); ok && !mf.WantsMagic(head[:n]) {
			continue
		}
		kept = append(kept, x)
	}
	if len(kept) == 0 {
		return
	}
	ra, cleanup, err := w.content(tr, head[:n], hdr.Size)
	if err != nil {
		warn("%s: %v", p, err)
		return
	}
	defer cleanup()
	f := extract.File{Path: p, Size: hdr.Size, Mode: mode, R: ra}
	merged := &extract.Result{}
	for _, x := range kept {
		r, err := x.Extract(ctx, f)
		if err != nil {
			warn("%s: %s: %v", p, x.Name(), err)
		}
		merged.Packages = append(merged.Packages, r.Packages...)
		if r.Distro != nil {
			merged.Distro = r.Distro
		}
		for k, v := range r.Owners {
			if merged.Owners == nil {
				merged.Owners = map[string][]string{}
			}
			merged.Owners[k] = append(merged.Owners[k], v...)
		}
	}
	if len(merged.Packages) > 0 || merged.Distro != nil || len(merged.Owners) > 0 {
		res.Files[p] = merged
	}
}

// content reads the rest of a file: into a reused buffer when small, into a temporary file in
// the cache otherwise.
func (w *walker) content(r io.Reader, head []byte, size int64) (io.ReaderAt, func(), error) {
	w.handed += size
	if w.lim.MaxLayerBytes > 0 && w.handed > w.lim.MaxLayerBytes {
		return nil, nil, fmt.Errorf("%w: files handed to parsers exceed %d bytes", errLimit, w.lim.MaxLayerBytes)
	}
	if size <= w.lim.MaxInMemory {
		if int64(cap(w.buf)) < size {
			w.buf = make([]byte, size)
		}
		buf := w.buf[:size]
		copy(buf, head)
		if _, err := io.ReadFull(r, buf[len(head):]); err != nil {
			return nil, nil, err
		}
		return bytes.NewReader(buf), func() {}, nil
	}
	f, err := os.CreateTemp(w.tempDir, "redoubt-file-*")
	if err != nil {
		return nil, nil, fmt.Errorf("spooling a %d-byte file: %w", size, err)
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := f.Write(head); err != nil {
		cleanup()
		return nil, nil, err
	}
	if _, err := io.CopyN(f, r, size-int64(len(head))); err != nil {
		cleanup()
		return nil, nil, err
	}
	return f, cleanup, nil
}
