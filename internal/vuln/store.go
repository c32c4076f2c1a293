package vuln

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // the embedded database engine
)

// FileName is the database file inside a database directory.
const FileName = "vuln.db"

// schemaVersion changes whenever the tables change; a database of another version is refused
// with a message to update it.
const schemaVersion = 3

// ErrNoDatabase is returned by Open when there is no database to open.
var ErrNoDatabase = errors.New("no vulnerability database")

const schema = `
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources(ecosystem TEXT PRIMARY KEY, url TEXT NOT NULL, updated TEXT NOT NULL,
	fetched TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, records INTEGER NOT NULL,
	skipped INTEGER NOT NULL, etag TEXT NOT NULL);
CREATE TABLE vulns(id INTEGER PRIMARY KEY, vid TEXT NOT NULL UNIQUE, modified TEXT NOT NULL,
	withdrawn INTEGER NOT NULL, aliases TEXT, summary TEXT, rating TEXT, refs TEXT);
CREATE TABLE affected(vuln INTEGER NOT NULL, ecosystem TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE entries(source TEXT NOT NULL, name TEXT NOT NULL, method INTEGER NOT NULL,
	crc32 INTEGER NOT NULL, size INTEGER NOT NULL, modified INTEGER NOT NULL, raw BLOB NOT NULL);
CREATE TABLE counts(ecosystem TEXT PRIMARY KEY, vulns INTEGER NOT NULL);
CREATE TABLE aliases(alias TEXT NOT NULL, vuln INTEGER NOT NULL);
CREATE TABLE rated(name TEXT NOT NULL, vuln INTEGER NOT NULL, sev INTEGER NOT NULL);
`

// indexes are created after the bulk insert, which is faster than maintaining them row by row.
const indexes = `
CREATE INDEX affected_pkg ON affected(ecosystem, name);
CREATE INDEX entries_source ON entries(source);
CREATE INDEX aliases_alias ON aliases(alias);
CREATE INDEX rated_name ON rated(name, sev);
INSERT INTO counts SELECT ecosystem, COUNT(DISTINCT vuln) FROM affected GROUP BY ecosystem;
`

// No ANALYZE: every query has one obvious index, and with statistics SQLite re-prepares a
// statement each time its parameters change, which tripled the cost of matching.

// Source describes where one ecosystem's data came from.
type Source struct {
	// Ecosystem is the export's name: "Go", "Debian", "Red Hat".
	Ecosystem string `json:"ecosystem"`
	// URL is where the export was read from: an https URL, a file path, or a bundle.
	URL string `json:"url"`
	// Updated is when the data was published: the server's Last-Modified, the file's
	// modification time, or what the bundle recorded.
	Updated time.Time `json:"updated"`
	// Fetched is when Redoubt read it.
	Fetched time.Time `json:"fetched"`
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	// ETag is the server's entity tag, for conditional updates.
	ETag    string `json:"etag,omitempty"`
	Records int    `json:"records"`
	// Skipped counts records that could not be read; the rest were imported.
	Skipped int `json:"skipped"`
}

// Status describes a database.
type Status struct {
	Dir  string `json:"dir"`
	Path string `json:"path"`
	// Built is when this database file was built.
	Built time.Time `json:"built"`
	// Updated is the oldest source's Updated: the data is at least this fresh.
	Updated time.Time `json:"updated"`
	// Age is how long ago Updated was, when the status was read; AgeSeconds is the same for
	// machines.
	Age        time.Duration `json:"-"`
	AgeSeconds int64         `json:"ageSeconds"`
	Sources    []Source      `json:"sources"`
	// Ecosystems counts vulnerabilities per ecosystem as the records spell it ("Debian:12").
	Ecosystems      map[string]int `json:"ecosystems"`
	Vulnerabilities int            `json:"vulnerabilities"`
	Withdrawn       int            `json:"withdrawn"`
	Extras          []string       `json:"extras,omitempty"`
}

// Stale returns a warning when the database's data is older than maxAge, or "" when it is not
// (or maxAge is zero).
func (s Status) Stale(maxAge time.Duration) string {
	if maxAge <= 0 || s.Age <= maxAge {
		return ""
	}
	return fmt.Sprintf("the vulnerability database in %s is %s old, older than the %s allowed (database.maxAge): run `redoubt db update`, or `redoubt db import FILE` offline",
		s.Dir, humanAge(s.Age), humanAge(maxAge))
}

// humanAge renders a duration in days and hours.
func humanAge(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}

// DB is an open, read-only vulnerability database. It is safe for concurrent use.
type DB struct {
	dir    string
	db     *sql.DB
	status Status
	// covered are the ecosystems (as records spell them) that have any data.
	covered map[string]bool
}

// DefaultDir is where the database lives unless told otherwise: $REDOUBT_DB_DIR, else
// $XDG_CACHE_HOME/redoubt/db, else ~/.cache/redoubt/db (the OS cache directory).
func DefaultDir() string {
	if d := os.Getenv("REDOUBT_DB_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "redoubt", "db")
	}
	return filepath.Join(os.TempDir(), "redoubt", "db")
}

func sqliteURI(path string, query string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	u := url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(abs), RawQuery: query}
	return u.String()
}

// Open opens the database in dir read-only. Without one it returns an error wrapping
// ErrNoDatabase that says how to get one.
func Open(dir string) (*DB, error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s: run `redoubt db update` to download one, or `redoubt db import FILE` to load an offline bundle made elsewhere with `redoubt db export`", ErrNoDatabase, dir)
		}
		return nil, fmt.Errorf("vulnerability database %s: %w", path, err)
	}
	// immutable: the file is never changed in place (updates replace it by rename), so SQLite
	// need not lock it or look for a journal.
	db, err := sql.Open("sqlite", sqliteURI(path, "mode=ro&immutable=1"))
	if err != nil {
		return nil, fmt.Errorf("vulnerability database %s: %w", path, err)
	}
	d := &DB{dir: dir, db: db}
	if err := d.load(path); err != nil {
		db.Close()
		return nil, fmt.Errorf("vulnerability database %s: %w (run `redoubt db update` to rebuild it)", path, err)
	}
	return d, nil
}

// Close releases the database.
func (d *DB) Close() error { return d.db.Close() }

// Dir is the directory the database was opened from.
func (d *DB) Dir() string { return d.dir }

func (d *DB) load(path string) error {
	ctx := context.Background()
	meta := map[string]string{}
	rows, err := d.db.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return err
		}
		meta[k] = v
	}
	rows.Close()
	if meta["schema"] != strconv.Itoa(schemaVersion) {
		return fmt.Errorf("database format %q, this Redoubt reads format %d", meta["schema"], schemaVersion)
	}
	s := Status{Dir: d.dir, Path: path, Ecosystems: map[string]int{}}
	s.Built, _ = time.Parse(time.RFC3339, meta["built"])
	s.Vulnerabilities, _ = strconv.Atoi(meta["vulns"])
	s.Withdrawn, _ = strconv.Atoi(meta["withdrawn"])
	rows, err = d.db.QueryContext(ctx, `SELECT ecosystem, url, updated, fetched, sha256, size, records, skipped, etag FROM sources ORDER BY ecosystem`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var src Source
		var updated, fetched string
		if err := rows.Scan(&src.Ecosystem, &src.URL, &updated, &fetched, &src.SHA256, &src.Size, &src.Records, &src.Skipped, &src.ETag); err != nil {
			rows.Close()
			return err
		}
		src.Updated, _ = time.Parse(time.RFC3339, updated)
		src.Fetched, _ = time.Parse(time.RFC3339, fetched)
		if s.Updated.IsZero() || src.Updated.Before(s.Updated) {
			s.Updated = src.Updated
		}
		s.Sources = append(s.Sources, src)
	}
	rows.Close()
	rows, err = d.db.QueryContext(ctx, `SELECT ecosystem, vulns FROM counts`)
	if err != nil {
		return err
	}
	d.covered = map[string]bool{}
	for rows.Next() {
		var e string
		var n int
		if err := rows.Scan(&e, &n); err != nil {
			rows.Close()
			return err
		}
		s.Ecosystems[e] = n
		d.covered[e] = true
	}
	rows.Close()
	if entries, err := os.ReadDir(filepath.Join(d.dir, extraDir)); err == nil {
		for _, e := range entries {
			if e.Type().IsRegular() {
				s.Extras = append(s.Extras, e.Name())
			}
		}
	}
	d.status = s
	return nil
}

// Status describes the database: when it was built, how old its data is, where the data came
// from and how much there is.
func (d *DB) Status() Status {
	s := d.status
	s.Sources = slices.Clone(s.Sources)
	if !s.Updated.IsZero() {
		s.Age = time.Since(s.Updated)
		s.AgeSeconds = int64(s.Age.Seconds())
	}
	return s
}

// Covers reports whether the database holds any record for the ecosystem, spelled as a Package's
// Ecosystem is ("Debian:12", "npm"). A scan uses it to say "no data for Alpine:v3.20" rather than
// let silence look like a clean result.
func (d *DB) Covers(ecosystem string) bool { return d.covered[normalizeEcosystem(ecosystem)] }

// affectedData is what the affected table stores per (record, package): only what matching
// reads.
type affectedData struct {
	Ranges   []Range  `json:"r,omitempty"`
	Versions []string `json:"v,omitempty"`
	Rating   *rating  `json:"s,omitempty"`
	// Platforms limit the entry to some platforms (nil: every one); see platformsOf. Databases
	// built before the field existed have none and match every platform.
	Platforms []Platform `json:"p,omitempty"`
}

func encodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain data is encoded
	}
	return string(b)
}

// extraDir holds the extra files an update fetched beside the data.
const extraDir = "extra"
