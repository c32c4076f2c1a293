package vuln

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// An offline bundle, made by Export and read by Import, is an uncompressed tar (the zips inside
// are compressed already) holding:
//
//	redoubt-vulndb.json        the manifest: format, version, creation time, and per source
//	                           its ecosystem, origin URL, publication and fetch times, record
//	                           count, and the SHA-256 and size of its zip in the bundle
//	osv/<Ecosystem>/all.zip    each source's records, as osv.dev lays them out
//	extra/<name>               extra files (see ExtraFile), with their SHA-256 in the manifest
//
// Import checks every checksum before it touches the database, so a bundle damaged on its way
// across an air gap is refused whole.
const (
	manifestName   = "redoubt-vulndb.json"
	manifestFormat = "redoubt-vulndb-bundle"
	bundleVersion  = 1
)

type manifest struct {
	Format  string         `json:"format"`
	Version int            `json:"version"`
	Created time.Time      `json:"created"`
	Sources []bundleSource `json:"sources"`
	Extras  []bundleExtra  `json:"extras,omitempty"`
	Tool    string         `json:"tool,omitempty"`
	Counts  map[string]int `json:"ecosystems,omitempty"`
}

type bundleSource struct {
	Source
	File string `json:"file"`
}

type bundleExtra struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// maxBundleFiles caps the files in a bundle: one per ecosystem and a few extras.
const maxBundleFiles = 1000

// Export writes the database in dir as an offline bundle to w.
func Export(ctx context.Context, dir string, w io.Writer) error {
	d, err := Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	tmp, err := os.MkdirTemp("", "redoubt-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	m := manifest{Format: manifestFormat, Version: bundleVersion, Created: time.Now().UTC(), Counts: d.status.Ecosystems}
	var files []string
	for i, s := range d.status.Sources {
		zp := filepath.Join(tmp, fmt.Sprintf("%d.zip", i))
		if err := d.writeSourceZip(ctx, s.Ecosystem, zp); err != nil {
			return fmt.Errorf("export %s: %w", s.Ecosystem, err)
		}
		sum, size, err := fileSum(zp)
		if err != nil {
			return err
		}
		bs := bundleSource{Source: s, File: "osv/" + s.Ecosystem + "/all.zip"}
		bs.SHA256, bs.Size = sum, size
		m.Sources = append(m.Sources, bs)
		files = append(files, zp)
	}
	for _, name := range d.status.Extras {
		p := filepath.Join(dir, extraDir, name)
		sum, size, err := fileSum(p)
		if err != nil {
			return err
		}
		m.Extras = append(m.Extras, bundleExtra{Name: name, File: "extra/" + name, SHA256: sum, Size: size})
		files = append(files, p)
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o644, Size: int64(len(mj)), ModTime: m.Created, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err := tw.Write(mj); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for _, s := range m.Sources {
		names = append(names, s.File)
	}
	for _, e := range m.Extras {
		names = append(names, e.File)
	}
	for i, p := range files {
		if err := tarFile(tw, names[i], p, m.Created); err != nil {
			return err
		}
	}
	return tw.Close()
}

func tarFile(tw *tar.Writer, name, p string, mod time.Time) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: mod, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func fileSum(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writeSourceZip writes one source's records as an osv.dev-style zip, each entry byte for byte
// as it was imported.
func (d *DB) writeSourceZip(ctx context.Context, source, p string) error {
	rows, err := d.db.QueryContext(ctx, `SELECT name, method, crc32, size, modified, raw FROM entries WHERE source=? ORDER BY rowid`, source)
	if err != nil {
		return err
	}
	defer rows.Close()
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer f.Close()
	err = writeZip(f, func() (*entry, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		e := &entry{}
		var method, crc, size, mod int64
		if err := rows.Scan(&e.Name, &method, &crc, &size, &mod, &e.Raw); err != nil {
			return nil, err
		}
		e.Method, e.CRC32, e.Size, e.Modified = uint16(method), uint32(crc), uint64(size), time.Unix(mod, 0).UTC()
		return e, nil
	})
	if err != nil {
		return err
	}
	return f.Close()
}

// Import installs the data of a bundle file (made by Export) or of a directory: an unpacked
// bundle, or a mirror laid out as <Ecosystem>/all.zip. Sources in the database that the input
// does not carry are kept.
func Import(ctx context.Context, dir, input string, o UpdateOptions) (*UpdateResult, error) {
	o.defaults()
	st, err := os.Stat(input)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", input, err)
	}
	if st.IsDir() {
		o.Mirror = input
		return installFrom(ctx, dir, o, func(tmp string, _ *DB, res *UpdateResult) ([]fetched, error) {
			return fromLocal(input, tmp, o, res)
		})
	}
	return installFrom(ctx, dir, o, func(tmp string, _ *DB, res *UpdateResult) ([]fetched, error) {
		unpacked := filepath.Join(tmp, "bundle")
		if err := untarBundle(input, unpacked, o.Limits); err != nil {
			return nil, fmt.Errorf("import %s: %w", input, err)
		}
		list, err := fromBundleDir(unpacked, o)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", input, err)
		}
		if err := os.Rename(filepath.Join(unpacked, "extra"), filepath.Join(tmp, "extra")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return list, nil
	})
}

// fromLocal gathers a local directory's exports and its extra files.
func fromLocal(dir, tmp string, o UpdateOptions, res *UpdateResult) ([]fetched, error) {
	list, err := fromDir(dir, o, res)
	if err != nil {
		return nil, err
	}
	extraFrom := dir
	if _, err := os.Stat(filepath.Join(dir, manifestName)); err == nil {
		extraFrom = filepath.Join(dir, "extra")
	}
	for _, name := range allExtras(o.Extras) {
		if _, err := os.Stat(filepath.Join(extraFrom, name)); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("extra file %s: not in %s", name, extraFrom))
			continue
		}
		if err := copyFile(filepath.Join(extraFrom, name), filepath.Join(tmp, "extra", name)); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fromBundleDir reads an unpacked bundle's manifest and checks every file against it.
func fromBundleDir(dir string, o UpdateOptions) ([]fetched, error) {
	mj, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(mj, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", manifestName, err)
	}
	if m.Format != manifestFormat || m.Version != bundleVersion {
		return nil, fmt.Errorf("%s: format %q version %d, this Redoubt reads %q version %d", manifestName, m.Format, m.Version, manifestFormat, bundleVersion)
	}
	var out []fetched
	for _, s := range m.Sources {
		if len(o.Ecosystems) > 0 && !containsFold(o.Ecosystems, s.Ecosystem) {
			continue
		}
		p, err := bundlePath(dir, s.File)
		if err != nil {
			return nil, err
		}
		sum, size, err := fileSum(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.File, err)
		}
		if sum != s.SHA256 || size != s.Size {
			return nil, fmt.Errorf("%s: checksum or size does not match the manifest: the bundle is damaged", s.File)
		}
		src := s.Source
		src.Records, src.Skipped = 0, 0
		src.SHA256, src.Size = sum, size
		out = append(out, fetched{src: src, path: p})
	}
	for _, e := range m.Extras {
		p, err := bundlePath(dir, e.File)
		if err != nil {
			return nil, err
		}
		sum, size, err := fileSum(p)
		if err != nil || sum != e.SHA256 || size != e.Size {
			return nil, fmt.Errorf("%s: checksum or size does not match the manifest: the bundle is damaged", e.File)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the bundle holds no source to import")
	}
	return out, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// bundlePath resolves a file named by a manifest, refusing names that leave the bundle.
func bundlePath(dir, name string) (string, error) {
	clean := path.Clean(name)
	if !validBundleName(clean) {
		return "", fmt.Errorf("manifest names %q, outside the bundle's layout", name)
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

// validBundleName accepts only the bundle's own layout: the manifest, osv/<Ecosystem>/all.zip
// and extra/<name>.
func validBundleName(name string) bool {
	if name == manifestName {
		return true
	}
	parts := strings.Split(name, "/")
	switch {
	case len(parts) == 3 && parts[0] == "osv" && parts[2] == "all.zip":
		return parts[1] != "" && parts[1] != "." && parts[1] != ".."
	case len(parts) == 2 && parts[0] == "extra":
		return validExtraName(parts[1])
	}
	return false
}

// untarBundle unpacks a bundle into dir: only regular files of the bundle's layout, each within
// the archive limit.
func untarBundle(file, dir string, lim Limits) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	n := 0
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("not a bundle made by `redoubt db export` (a tar file): %w", err)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		name := path.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || !validBundleName(name) {
			return fmt.Errorf("entry %q is not part of a bundle's layout", h.Name)
		}
		if n++; n > maxBundleFiles {
			return fmt.Errorf("more than %d files: %w", maxBundleFiles, ErrLimit)
		}
		if h.Size > lim.MaxArchiveBytes {
			return fmt.Errorf("entry %q: %d bytes is more than the %d allowed: %w", h.Name, h.Size, lim.MaxArchiveBytes, ErrLimit)
		}
		if total += h.Size; total > lim.MaxTotalBytes {
			return fmt.Errorf("more than %d bytes in all: %w", lim.MaxTotalBytes, ErrLimit)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if _, err := io.Copy(out, io.LimitReader(tr, h.Size)); err != nil {
			out.Close()
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, manifestName)); err != nil {
		return fmt.Errorf("no %s inside: not a bundle made by `redoubt db export`", manifestName)
	}
	return nil
}
