package vuln

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"
)

// builder writes a new database file from OSV sources.
type builder struct {
	path string
	db   *sql.DB
	tx   *sql.Tx
	ins  struct{ vuln, affected, entry, delAffected, updVuln, alias, delAliases, rated, delRated *sql.Stmt }
	// seen maps a record ID to its row and modified time: the same record can come in two
	// exports (a GHSA entry for npm and PyPI packages); the newer copy wins.
	seen      map[string]seenRecord
	withdrawn int
	// problems are the first records that could not be read, for the update's report.
	problems []string
}

type seenRecord struct {
	row       int64
	modified  string
	withdrawn bool
}

func newBuilder(ctx context.Context, path string) (*builder, error) {
	db, err := sql.Open("sqlite", sqliteURI(path, ""))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	b := &builder{path: path, db: db, seen: map[string]seenRecord{}}
	// The file is private until it is renamed into place, so durability comes from one fsync
	// before the rename, not from SQLite's journal.
	for _, q := range []string{`PRAGMA journal_mode=OFF`, `PRAGMA synchronous=OFF`, `PRAGMA locking_mode=EXCLUSIVE`, schema} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			db.Close()
			return nil, err
		}
	}
	if b.tx, err = db.BeginTx(ctx, nil); err != nil {
		db.Close()
		return nil, err
	}
	for _, s := range []struct {
		p *(*sql.Stmt)
		q string
	}{
		{&b.ins.vuln, `INSERT INTO vulns(vid, modified, withdrawn, aliases, summary, rating, refs) VALUES(?,?,?,?,?,?,?)`},
		{&b.ins.updVuln, `UPDATE vulns SET modified=?, withdrawn=?, aliases=?, summary=?, rating=?, refs=? WHERE id=?`},
		{&b.ins.affected, `INSERT INTO affected(vuln, ecosystem, name, data) VALUES(?,?,?,?)`},
		{&b.ins.delAffected, `DELETE FROM affected WHERE vuln=?`},
		{&b.ins.alias, `INSERT INTO aliases(alias, vuln) VALUES(?,?)`},
		{&b.ins.delAliases, `DELETE FROM aliases WHERE vuln=?`},
		{&b.ins.rated, `INSERT INTO rated(name, vuln, sev) VALUES(?,?,?)`},
		{&b.ins.delRated, `DELETE FROM rated WHERE vuln=?`},
		{&b.ins.entry, `INSERT INTO entries(source, name, method, crc32, size, modified, raw) VALUES(?,?,?,?,?,?,?)`},
	} {
		if *s.p, err = b.tx.PrepareContext(ctx, s.q); err != nil {
			b.abort()
			return nil, err
		}
	}
	return b, nil
}

// abort discards the half-built file.
func (b *builder) abort() {
	if b.tx != nil {
		b.tx.Rollback()
	}
	b.db.Close()
	os.Remove(b.path)
}

// add imports one zip entry of source. A record that cannot be read is counted and skipped:
// one bad record must not cost the user every other one.
func (b *builder) add(ctx context.Context, source string, e *entry, lim Limits) (ok bool, err error) {
	if _, err := b.ins.entry.ExecContext(ctx, source, e.Name, int(e.Method), int64(e.CRC32), int64(e.Size), e.Modified.Unix(), e.Raw); err != nil {
		return false, err
	}
	data, err := e.data(lim.MaxRecordBytes)
	if err == nil {
		var r *Record
		if r, err = ParseRecord(data); err == nil {
			return true, b.addRecord(ctx, r)
		}
	}
	if len(b.problems) < 20 {
		b.problems = append(b.problems, fmt.Sprintf("%s %s: %v", source, e.Name, err))
	}
	return false, nil
}

func (b *builder) addRecord(ctx context.Context, r *Record) error {
	withdrawn := r.Withdrawn != ""
	refs := make([]string, 0, len(r.References))
	for _, ref := range r.References {
		if ref.URL != "" && !slices.Contains(refs, ref.URL) {
			refs = append(refs, ref.URL)
		}
	}
	var ratingJSON any
	rt := rate(r.Severity, r.DatabaseSpecific)
	if rt != nil {
		ratingJSON = encodeJSON(rt)
	}
	aliases := encodeJSON(r.Aliases)
	row := int64(0)
	if old, dup := b.seen[r.ID]; dup {
		if r.Modified <= old.modified {
			return nil
		}
		if old.withdrawn {
			b.withdrawn--
		}
		for _, st := range []*sql.Stmt{b.ins.delAffected, b.ins.delAliases, b.ins.delRated} {
			if _, err := st.ExecContext(ctx, old.row); err != nil {
				return err
			}
		}
		if _, err := b.ins.updVuln.ExecContext(ctx, r.Modified, withdrawn, aliases, r.Summary, ratingJSON, encodeJSON(refs), old.row); err != nil {
			return err
		}
		row = old.row
	} else {
		res, err := b.ins.vuln.ExecContext(ctx, r.ID, r.Modified, withdrawn, aliases, r.Summary, ratingJSON, encodeJSON(refs))
		if err != nil {
			return err
		}
		if row, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	b.seen[r.ID] = seenRecord{row: row, modified: r.Modified, withdrawn: withdrawn}
	for _, a := range r.Aliases {
		if _, err := b.ins.alias.ExecContext(ctx, a, row); err != nil {
			return err
		}
	}
	if rt != nil && !withdrawn {
		// Every name of a rated record can lend its rating to an unrated record of the same
		// vulnerability (see DB.aliasRating).
		for _, n := range r.IDs() {
			if _, err := b.ins.rated.ExecContext(ctx, n, row, int(rt.Severity)); err != nil {
				return err
			}
		}
	}
	if withdrawn {
		// Kept so that status counts it, never matched.
		b.withdrawn++
		return nil
	}
	for _, a := range r.Affected {
		if a.Package.Ecosystem == "" || a.Package.Name == "" {
			continue
		}
		d := affectedData{Versions: a.Versions}
		for _, rg := range a.Ranges {
			if rg.Type == RangeSemver || rg.Type == RangeEcosystem {
				d.Ranges = append(d.Ranges, rg)
			}
		}
		if len(d.Ranges) == 0 && len(d.Versions) == 0 {
			continue
		}
		d.Rating = rate(a.Severity, a.DatabaseSpecific, a.EcosystemSpecific)
		eco := normalizeEcosystem(a.Package.Ecosystem)
		d.Platforms = platformsOf(Ecosystem(eco), a.EcosystemSpecific)
		if _, err := b.ins.affected.ExecContext(ctx, row, eco, normalizeName(eco, a.Package.Name), encodeJSON(d)); err != nil {
			return err
		}
	}
	return nil
}

// addSource records where one ecosystem's data came from.
func (b *builder) addSource(ctx context.Context, s Source) error {
	_, err := b.tx.ExecContext(ctx, `INSERT OR REPLACE INTO sources(ecosystem, url, updated, fetched, sha256, size, records, skipped, etag) VALUES(?,?,?,?,?,?,?,?,?)`,
		s.Ecosystem, s.URL, s.Updated.UTC().Format(time.RFC3339), s.Fetched.UTC().Format(time.RFC3339), s.SHA256, s.Size, s.Records, s.Skipped, s.ETag)
	return err
}

// finish indexes, writes the metadata and syncs the file. The caller renames it into place.
func (b *builder) finish(ctx context.Context, built time.Time) error {
	vulns := len(b.seen)
	for k, v := range map[string]string{
		"schema": strconv.Itoa(schemaVersion), "built": built.UTC().Format(time.RFC3339),
		"vulns": strconv.Itoa(vulns - b.withdrawn), "withdrawn": strconv.Itoa(b.withdrawn),
	} {
		if _, err := b.tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?,?)`, k, v); err != nil {
			b.abort()
			return err
		}
	}
	if _, err := b.tx.ExecContext(ctx, indexes); err != nil {
		b.abort()
		return err
	}
	if err := b.tx.Commit(); err != nil {
		b.tx = nil
		b.abort()
		return err
	}
	b.tx = nil
	if err := b.db.Close(); err != nil {
		os.Remove(b.path)
		return err
	}
	f, err := os.OpenFile(b.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
