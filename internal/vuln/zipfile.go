package vuln

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"strings"
	"time"
)

// Limits bound what Redoubt accepts from a download, a mirror or a bundle: the data is fetched
// from the network and may be hostile (a zip bomb, a zip of a million empty files).
type Limits struct {
	// MaxArchiveBytes caps one downloaded or imported file: an all.zip or a bundle.
	MaxArchiveBytes int64
	// MaxEntries caps the number of files in one archive.
	MaxEntries int
	// MaxRecordBytes caps one decompressed OSV record.
	MaxRecordBytes int64
	// MaxTotalBytes caps the decompressed size of all records of one archive.
	MaxTotalBytes int64
}

// DefaultLimits are generous for osv.dev's real exports (the largest supported ecosystem's
// all.zip is a few hundred MiB) and small enough to stop a bomb.
var DefaultLimits = Limits{
	MaxArchiveBytes: 4 << 30,
	MaxEntries:      2_000_000,
	MaxRecordBytes:  MaxRecordBytes,
	MaxTotalBytes:   32 << 30,
}

// ErrLimit marks input refused because it exceeds a limit.
var ErrLimit = errors.New("limit exceeded")

// entry is one file of an OSV zip, kept compressed as the zip holds it so that `db export` can
// write it back without recompressing.
type entry struct {
	Name     string
	Method   uint16
	CRC32    uint32
	Size     uint64 // uncompressed
	Modified time.Time
	Raw      []byte // compressed with Method
}

// data decompresses the entry, checking its size and checksum against the header: a lying
// header is how zip bombs slip past naive readers.
func (e *entry) data(max int64) ([]byte, error) {
	if e.Size > uint64(max) {
		return nil, fmt.Errorf("%s: %d bytes decompressed is more than the %d allowed: %w", e.Name, e.Size, max, ErrLimit)
	}
	var r io.Reader
	switch e.Method {
	case zip.Store:
		r = bytes.NewReader(e.Raw)
	case zip.Deflate:
		fr := flate.NewReader(bytes.NewReader(e.Raw))
		defer fr.Close()
		r = fr
	default:
		return nil, fmt.Errorf("%s: unsupported compression method %d", e.Name, e.Method)
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(e.Size)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	if uint64(len(b)) != e.Size {
		return nil, fmt.Errorf("%s: decompressed to %d bytes, header says %d", e.Name, len(b), e.Size)
	}
	if crc32.ChecksumIEEE(b) != e.CRC32 {
		return nil, fmt.Errorf("%s: checksum mismatch", e.Name)
	}
	return b, nil
}

// readZip calls fn for every JSON file of an OSV export zip, in the zip's order, within the
// limits. Directories and files that are not JSON are skipped.
func readZip(r io.ReaderAt, size int64, lim Limits, fn func(*entry) error) error {
	if size > lim.MaxArchiveBytes {
		return fmt.Errorf("%d bytes is more than the %d allowed: %w", size, lim.MaxArchiveBytes, ErrLimit)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("not a zip archive: %w", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return fmt.Errorf("%d files is more than the %d allowed: %w", len(zr.File), lim.MaxEntries, ErrLimit)
	}
	var total uint64
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.HasSuffix(f.Name, ".json") || len(f.Name) > 1024 {
			continue
		}
		if f.UncompressedSize64 > uint64(lim.MaxRecordBytes) {
			return fmt.Errorf("%s: %d bytes is more than the %d allowed for one record: %w", f.Name, f.UncompressedSize64, lim.MaxRecordBytes, ErrLimit)
		}
		if f.CompressedSize64 > uint64(lim.MaxRecordBytes)+1024 {
			return fmt.Errorf("%s: %d compressed bytes is more than the %d allowed for one record: %w", f.Name, f.CompressedSize64, lim.MaxRecordBytes, ErrLimit)
		}
		total += f.UncompressedSize64
		if total > uint64(lim.MaxTotalBytes) {
			return fmt.Errorf("more than %d bytes decompressed in all: %w", lim.MaxTotalBytes, ErrLimit)
		}
		rc, err := f.OpenRaw()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		raw, err := io.ReadAll(io.LimitReader(rc, int64(f.CompressedSize64)+1))
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		if uint64(len(raw)) != f.CompressedSize64 {
			return fmt.Errorf("%s: truncated", f.Name)
		}
		e := &entry{Name: path.Clean(f.Name), Method: f.Method, CRC32: f.CRC32, Size: f.UncompressedSize64,
			Modified: f.Modified, Raw: raw}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// writeZip writes entries as a zip, each as it was compressed.
func writeZip(w io.Writer, next func() (*entry, error)) error {
	zw := zip.NewWriter(w)
	for {
		e, err := next()
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		h := &zip.FileHeader{Name: e.Name, Method: e.Method, CRC32: e.CRC32,
			CompressedSize64: uint64(len(e.Raw)), UncompressedSize64: e.Size, Modified: e.Modified}
		fw, err := zw.CreateRaw(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(e.Raw); err != nil {
			return err
		}
	}
	return zw.Close()
}
