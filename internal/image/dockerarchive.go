package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// dockerArchive reads `docker save` output directly: the outer tar is indexed once and each
// layer is read in place through a section reader, whatever its compression. (Reading it as a
// go-containerregistry tarball image would recompress uncompressed layers just to compute
// digests, which costs more than the whole scan.)
type dockerArchive struct {
	f       *os.File
	members map[string]member
	config  *v1.ConfigFile
	raw     []byte
	layers  []string
}

type member struct{ off, size int64 }

const maxArchiveMeta = 16 << 20

// countingReader tracks the offset of the outer tar stream, so member data can be located.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Seek lets tar.Reader skip member data without reading it.
func (c *countingReader) Seek(off int64, whence int) (int64, error) {
	n, err := c.r.(io.Seeker).Seek(off, whence)
	if err == nil {
		c.n = n
	}
	return n, err
}

func openDockerArchive(file string) (*dockerArchive, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	a := &dockerArchive{f: f, members: map[string]member{}}
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("reading the archive: %w", err)
		}
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA {
			// tar.Reader has consumed the header; the data starts here.
			a.members[path.Clean(h.Name)] = member{off: cr.n, size: h.Size}
		}
		if len(a.members) > 100_000 {
			f.Close()
			return nil, errors.New("more than 100,000 files in the archive")
		}
	}
	var manifest []struct {
		Config string
		Layers []string
	}
	if err := a.readJSON("manifest.json", &manifest); err != nil {
		f.Close()
		return nil, err
	}
	if len(manifest) != 1 {
		f.Close()
		return nil, fmt.Errorf("the archive holds %d images; Redoubt reads archives of one", len(manifest))
	}
	raw, err := a.read(manifest[0].Config)
	if err != nil {
		f.Close()
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("config %s: %w", manifest[0].Config, err)
	}
	a.config, a.raw, a.layers = cf, raw, manifest[0].Layers
	for _, l := range a.layers {
		if _, ok := a.members[path.Clean(l)]; !ok {
			f.Close()
			return nil, fmt.Errorf("layer %s is not in the archive", l)
		}
	}
	return a, nil
}

// section seeks past tar.Reader's buffering: tar data of a regular member is contiguous, and
// the counting reader saw the header end where the data begins.
func (a *dockerArchive) section(name string) (*io.SectionReader, error) {
	m, ok := a.members[path.Clean(name)]
	if !ok {
		return nil, fmt.Errorf("%s is not in the archive", name)
	}
	return io.NewSectionReader(a.f, m.off, m.size), nil
}

func (a *dockerArchive) read(name string) ([]byte, error) {
	s, err := a.section(name)
	if err != nil {
		return nil, err
	}
	if s.Size() > maxArchiveMeta {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, maxArchiveMeta)
	}
	return io.ReadAll(s)
}

func (a *dockerArchive) readJSON(name string, v any) error {
	b, err := a.read(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// ID is the image ID: the config's digest.
func (a *dockerArchive) ID() string {
	s := sha256.Sum256(a.raw)
	return "sha256:" + hex.EncodeToString(s[:])
}

// ConfigFile implements the image interface Scan needs.
func (a *dockerArchive) ConfigFile() (*v1.ConfigFile, error) { return a.config, nil }

// Layers implements the image interface Scan needs.
func (a *dockerArchive) Layers() ([]v1.Layer, error) {
	out := make([]v1.Layer, len(a.layers))
	for i, name := range a.layers {
		s, err := a.section(name)
		if err != nil {
			return nil, err
		}
		l := &archiveLayer{s: s}
		if i < len(a.config.RootFS.DiffIDs) {
			l.diffID = a.config.RootFS.DiffIDs[i]
		}
		out[i] = l
	}
	return out, nil
}

// Close releases the archive file.
func (a *dockerArchive) Close() error { return a.f.Close() }

// archiveLayer is one layer blob of a docker archive, as stored (compressed or not).
type archiveLayer struct {
	s      *io.SectionReader
	diffID v1.Hash
	once   sync.Once
	digest v1.Hash
	err    error
}

func (l *archiveLayer) lazy() {}

// Digest is the hash of the blob as stored: content-addressed, so it is a safe cache key. When
// the blob was read to the end through Compressed first, that read computed it.
func (l *archiveLayer) Digest() (v1.Hash, error) {
	l.once.Do(func() {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(l.s, 0, l.s.Size())); err != nil {
			l.err = err
			return
		}
		l.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	})
	return l.digest, l.err
}

// DiffID is what the config claims; Scan verifies it by hashing the content it reads.
func (l *archiveLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Compressed returns the blob as stored. Read to the end, it also settles Digest.
func (l *archiveLayer) Compressed() (io.ReadCloser, error) {
	return &hashingReader{l: l, r: io.NewSectionReader(l.s, 0, l.s.Size()), h: sha256.New()}, nil
}

// hashingReader hashes a blob as it is read and, at its end, records the digest.
type hashingReader struct {
	l *archiveLayer
	r io.Reader
	h hash.Hash
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	if err == io.EOF {
		sum := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.h.Sum(nil))}
		h.l.once.Do(func() { h.l.digest = sum })
	}
	return n, err
}

func (h *hashingReader) Close() error { return nil }

// Uncompressed decompresses the blob.
func (l *archiveLayer) Uncompressed() (io.ReadCloser, error) { return uncompressed(l) }

// Size is the blob's size as stored.
func (l *archiveLayer) Size() (int64, error) { return l.s.Size(), nil }

// MediaType is a Docker layer's.
func (l *archiveLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
