package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"redoubt.dev/redoubt/internal/image/extract"
)

// Cache keeps per-layer results on disk, keyed by the layer's diff ID and the extractors' version,
// so that a layer scanned once (in any image) is not read again. Everything Redoubt writes while
// scanning images goes under its directory.
type Cache struct {
	dir string
}

// DefaultCacheDir is $XDG_CACHE_HOME/redoubt (or the OS equivalent), overridable with
// REDOUBT_CACHE_DIR.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("REDOUBT_CACHE_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: %w (set REDOUBT_CACHE_DIR)", err)
	}
	return filepath.Join(d, "redoubt"), nil
}

// OpenCache opens (creating) a cache directory.
func OpenCache(dir string) (*Cache, error) {
	for _, d := range []string{filepath.Join(dir, "layers"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("cache %s: %w", dir, err)
		}
	}
	return &Cache{dir: dir}, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// TempDir is where scans spool oversized files and package databases.
func (c *Cache) TempDir() string { return filepath.Join(c.dir, "tmp") }

func (c *Cache) path(diffID, key string) (string, bool) {
	algo, hexPart, ok := strings.Cut(diffID, ":")
	if !ok || algo != "sha256" || len(hexPart) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", false
	}
	return filepath.Join(c.dir, "layers", key, hexPart+".gob"), true
}

// cacheKey names the extractor set and version a layer result was made with.
func cacheKey(exs []extract.Extractor) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("v%d|%s", extract.Version, extract.Names(exs))))
	return fmt.Sprintf("v%d-%x", extract.Version, sum[:6])
}

// has reports whether a result for this diff ID is stored (without reading it).
func (c *Cache) has(diffID, key string) bool {
	if c == nil {
		return false
	}
	p, ok := c.path(diffID, key)
	if !ok {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}

func (c *Cache) get(diffID, key string) (*layerResult, bool) {
	if c == nil {
		return nil, false
	}
	p, ok := c.path(diffID, key)
	if !ok {
		return nil, false
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	var lr layerResult
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&lr); err != nil {
		os.Remove(p) // a damaged entry is recomputed
		return nil, false
	}
	if lr.Files == nil {
		lr.Files = map[string]*extract.Result{}
	}
	return &lr, true
}

// diffIDOf returns the diff ID computed when the blob with this digest was last read.
func (c *Cache) diffIDOf(digest string) (string, bool) {
	if c == nil {
		return "", false
	}
	p, ok := c.path(digest, "by-digest")
	if !ok {
		return "", false
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	d := strings.TrimSpace(string(data))
	if _, ok := c.path(d, ""); !ok {
		return "", false
	}
	return d, true
}

// link records that the blob with this digest decompresses to the layer with this diff ID.
func (c *Cache) link(digest, diffID string) error {
	if c == nil {
		return nil
	}
	p, ok := c.path(digest, "by-digest")
	if !ok {
		return nil
	}
	return writeAtomic(p, []byte(diffID+"\n"))
}

// put stores a result atomically: a reader never sees half an entry.
func (c *Cache) put(diffID, key string, lr *layerResult) error {
	if c == nil {
		return nil
	}
	p, ok := c.path(diffID, key)
	if !ok {
		return nil
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(lr); err != nil {
		return err
	}
	return writeAtomic(p, buf.Bytes())
}

// writeAtomic writes a file through a temporary file renamed into place.
func writeAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}
