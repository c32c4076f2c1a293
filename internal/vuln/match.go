package vuln

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// Match is one vulnerability affecting one input package. Records that describe the same
// vulnerability (a GO entry, its GHSA and its CVE) are merged into one Match.
type Match struct {
	// Index is the package's position in the slice given to Match.
	Index int `json:"index"`
	// ID is the vulnerability's name: its CVE when the merged records name exactly one, else the
	// ID of the most specific record (the ecosystem's own database before GHSA).
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	// Severity comes from the CVSS vector (v3 base score computed from the vector, then v4),
	// else the source's own rating, else CVSS v2, else an alias record's; a vulnerability no
	// source rates is Unknown, with SeveritySource "unrated" (never a guessed rating).
	Severity       finding.Severity `json:"severity"`
	SeveritySource string           `json:"severitySource"`
	// CVSS is the vector the severity was computed from, if any.
	CVSS string `json:"cvss,omitempty"`
	// Fixed is the version that fixes the vulnerability for this package ("" when no record
	// knows a fix, or when one of the merged records says it is not fixed).
	Fixed string `json:"fixed,omitempty"`
	// Withdrawn is never true in results: withdrawn records do not match.
	Withdrawn  bool     `json:"withdrawn,omitempty"`
	References []string `json:"references,omitempty"`
}

// Vulnerability returns the match as the finding model spells it, for the package it is about.
func (m *Match) Vulnerability(p Package) *finding.Vulnerability {
	return &finding.Vulnerability{ID: m.ID, Aliases: m.Aliases, Package: p.Name, Ecosystem: p.Ecosystem,
		InstalledVersion: p.Version, FixedVersion: m.Fixed, Fixable: m.Fixed != ""}
}

// VersionError reports an input package whose version cannot be read in its ecosystem's
// ordering. Such a package is matched only against the records' explicit versions lists.
type VersionError struct {
	Index   int
	Package Package
	Err     error
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("package %s %s %q: version cannot be compared (%v); matched against explicit version lists only",
		e.Package.Ecosystem, e.Package.Name, e.Package.Version, e.Err)
}

func (e *VersionError) Unwrap() error { return e.Err }

// matchedRecord is one record that affects one input package.
type matchedRecord struct {
	row     int64
	fixed   string
	unfixed bool
	rating  *rating // package-level rating, if the record gives one
}

type vulnRow struct {
	id      string
	aliases []string
	summary string
	rating  *rating
	refs    []string
}

// Match finds the vulnerabilities affecting each package. Packages of ecosystems the
// database has no data for simply have no matches: they never stop the others from being
// matched. The result is ordered by Index, then ID.
//
// The error is nil, a database failure (then there are no matches), or the joined
// *VersionErrors of packages whose version cannot be parsed; in that last case the matches
// returned are complete for every other package.
func (d *DB) Match(ctx context.Context, pkgs []Package) ([]Match, error) {
	type key struct{ eco, name string }
	byKey := map[key][]int{}
	var keys []key
	for i, p := range pkgs {
		eco := normalizeEcosystem(p.Ecosystem)
		k := key{eco, normalizeName(eco, p.Name)}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], i)
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stmt, err := conn.PrepareContext(ctx, `SELECT vuln, data FROM affected WHERE ecosystem=? AND name=?`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	perPkg := make([][]matchedRecord, len(pkgs))
	var verrs []error
	parsers := map[string]*parser{}
	sem := newParser(RangeSemver)
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !d.covered[k.eco] {
			continue
		}
		rows, err := stmt.QueryContext(ctx, k.eco, k.name)
		if err != nil {
			return nil, err
		}
		type cand struct {
			row int64
			d   affectedData
		}
		var cands []cand
		for rows.Next() {
			var c cand
			var data []byte
			if err := rows.Scan(&c.row, &data); err != nil {
				rows.Close()
				return nil, err
			}
			if err := json.Unmarshal(data, &c.d); err != nil {
				rows.Close()
				return nil, fmt.Errorf("vulnerability database %s: corrupt row for %s %s: %w", d.dir, k.eco, k.name, err)
			}
			cands = append(cands, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(cands) == 0 {
			continue
		}
		base := Ecosystem(k.eco)
		eco := parsers[base]
		if eco == nil {
			eco = newParser(base)
			parsers[base] = eco
		}
		for _, i := range byKey[k] {
			installed := normalizeVersion(k.eco, pkgs[i].Name, pkgs[i].Version)
			if _, err := eco.parse(installed); err != nil {
				verrs = append(verrs, &VersionError{Index: i, Package: pkgs[i], Err: err})
			}
			for _, c := range cands {
				if !affectsPlatform(c.d.Platforms, pkgs[i].OS, pkgs[i].Arch) {
					continue
				}
				v := evaluate(installed, &c.d, eco, sem)
				if v.affected {
					perPkg[i] = append(perPkg[i], matchedRecord{row: c.row, fixed: v.fixed, unfixed: v.fixed == "", rating: c.d.Rating})
				}
			}
		}
	}
	vulns, err := d.loadVulns(ctx, conn, perPkg)
	if err != nil {
		return nil, err
	}
	rated, err := conn.PrepareContext(ctx, `SELECT v.vid, v.rating FROM rated r JOIN vulns v ON v.id=r.vuln
		WHERE r.name=? AND v.withdrawn=0 ORDER BY r.sev DESC LIMIT 1`)
	if err != nil {
		return nil, err
	}
	defer rated.Close()
	q := &queries{rated: rated, ratings: map[string]*rating{}}
	var out []Match
	for i, recs := range perPkg {
		if len(recs) == 0 {
			continue
		}
		ms, err := d.merge(ctx, q, i, recs, vulns, parsers[Ecosystem(normalizeEcosystem(pkgs[i].Ecosystem))])
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, errors.Join(verrs...)
}

// loadVulns reads the records that matched, by row.
func (d *DB) loadVulns(ctx context.Context, conn *sql.Conn, perPkg [][]matchedRecord) (map[int64]*vulnRow, error) {
	out := map[int64]*vulnRow{}
	stmt, err := conn.PrepareContext(ctx, `SELECT vid, aliases, summary, rating, refs FROM vulns WHERE id=?`)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	for _, recs := range perPkg {
		for _, r := range recs {
			if out[r.row] != nil {
				continue
			}
			v, err := scanVuln(stmt.QueryRowContext(ctx, r.row))
			if err != nil {
				return nil, fmt.Errorf("vulnerability database %s: record %d: %w", d.dir, r.row, err)
			}
			out[r.row] = v
		}
	}
	return out, nil
}

func scanVuln(row *sql.Row) (*vulnRow, error) {
	var v vulnRow
	var aliases, refs string
	var rt sql.NullString
	if err := row.Scan(&v.id, &aliases, &v.summary, &rt, &refs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(aliases), &v.aliases); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(refs), &v.refs); err != nil {
		return nil, err
	}
	if rt.Valid {
		v.rating = new(rating)
		if err := json.Unmarshal([]byte(rt.String), v.rating); err != nil {
			return nil, err
		}
	}
	return &v, nil
}

// merge groups the records that matched one package by alias (records naming each other, or
// sharing an alias, describe one vulnerability) and turns each group into one Match.
// queries are the statements prepared once per Match call.
type queries struct {
	rated *sql.Stmt
	// ratings caches aliasRating's lookups by name (nil: no rated record has the name).
	ratings map[string]*rating
}

func (d *DB) merge(ctx context.Context, q *queries, index int, recs []matchedRecord, vulns map[int64]*vulnRow, p *parser) ([]Match, error) {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if parent[x] == "" || parent[x] == x {
			parent[x] = x
			return x
		}
		r := find(parent[x])
		parent[x] = r
		return r
	}
	union := func(a, b string) { parent[find(a)] = find(b) }
	for _, r := range recs {
		v := vulns[r.row]
		for _, a := range v.aliases {
			union(a, v.id)
		}
		find(v.id)
	}
	groups := map[string][]matchedRecord{}
	var roots []string
	for _, r := range recs {
		root := find(vulns[r.row].id)
		if _, ok := groups[root]; !ok {
			roots = append(roots, root)
		}
		groups[root] = append(groups[root], r)
	}
	var out []Match
	for _, root := range roots {
		m, err := d.mergeGroup(ctx, q, index, groups[root], vulns, p)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Match) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// idRank orders record IDs for choosing a group's name: an ecosystem's own database first,
// then GitHub's, then anything else.
func idRank(id string) int {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return 3
	case strings.HasPrefix(id, "GHSA-"):
		return 1
	case strings.HasPrefix(id, "OSV-"):
		return 2
	}
	return 0
}

func (d *DB) mergeGroup(ctx context.Context, q *queries, index int, recs []matchedRecord, vulns map[int64]*vulnRow, p *parser) (Match, error) {
	// De-duplicate: one record can match through two affected entries.
	slices.SortFunc(recs, func(a, b matchedRecord) int {
		va, vb := vulns[a.row], vulns[b.row]
		return cmp.Or(cmp.Compare(idRank(va.id), idRank(vb.id)), cmp.Compare(va.id, vb.id))
	})
	primary := vulns[recs[0].row]
	names := map[string]bool{}
	var cves []string
	for _, r := range recs {
		v := vulns[r.row]
		for _, n := range append([]string{v.id}, v.aliases...) {
			if !names[n] {
				names[n] = true
				if strings.HasPrefix(n, "CVE-") {
					cves = append(cves, n)
				}
			}
		}
	}
	m := Match{Index: index, ID: primary.id, Summary: primary.summary}
	if len(cves) == 1 {
		m.ID = cves[0]
	}
	for n := range names {
		if n != m.ID {
			m.Aliases = append(m.Aliases, n)
		}
	}
	slices.Sort(m.Aliases)

	// Fixed: every record must know a fix; the highest one fixes them all.
	unfixed := false
	for _, r := range recs {
		if r.unfixed {
			unfixed = true
			break
		}
		if m.Fixed == "" {
			m.Fixed = r.fixed
			continue
		}
		if p != nil {
			if fv, err := p.parse(r.fixed); err == nil {
				if c, ok := p.compare(fv, m.Fixed); ok && c > 0 {
					m.Fixed = r.fixed
				}
			}
		}
	}
	if unfixed {
		m.Fixed = ""
	}

	// Severity: the highest rating any record of the group gives (package-level first), else
	// an alias record's from elsewhere in the database.
	var best *rating
	consider := func(rt *rating) {
		if rt.known() && (best == nil || rt.Severity > best.Severity) {
			best = rt
		}
	}
	for _, r := range recs {
		if r.rating.known() {
			consider(r.rating)
		} else {
			consider(vulns[r.row].rating)
		}
		for _, ref := range vulns[r.row].refs {
			if !slices.Contains(m.References, ref) {
				m.References = append(m.References, ref)
			}
		}
	}
	if best == nil {
		rt, err := d.aliasRating(ctx, q, append([]string{m.ID}, m.Aliases...))
		if err != nil {
			return m, err
		}
		best = rt
	}
	switch {
	case best != nil:
		m.Severity, m.SeveritySource, m.CVSS = best.Severity, best.Source, best.Vector
	default:
		m.Severity, m.SeveritySource = finding.Unknown, "unrated"
	}
	return m, nil
}

// aliasRating looks for a rating in records of the same vulnerability that did not match this
// package (a GHSA record filed under another ecosystem, say): the highest rating of any record
// whose ID or aliases include one of the group's names.
func (d *DB) aliasRating(ctx context.Context, q *queries, ids []string) (*rating, error) {
	var best *rating
	for _, id := range ids {
		r, cached := q.ratings[id]
		if !cached {
			var vid, rt string
			err := q.rated.QueryRowContext(ctx, id).Scan(&vid, &rt)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return nil, err
			default:
				r = new(rating)
				if err := json.Unmarshal([]byte(rt), r); err != nil {
					return nil, err
				}
				r.Source = "alias " + vid + " " + r.Source
			}
			q.ratings[id] = r
		}
		if r != nil && (best == nil || r.Severity > best.Severity) {
			best = r
		}
	}
	return best, nil
}
