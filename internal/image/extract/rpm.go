package extract

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	rpmdb "github.com/erikvarga/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // the database/sql driver go-rpmdb uses for rpmdb.sqlite
)

// RPM reads the RPM database in its three formats: BerkeleyDB (Packages), ndb (Packages.db) and
// SQLite (rpmdb.sqlite), in /var/lib/rpm or /usr/lib/sysimage/rpm. Parsing is done by
// github.com/erikvarga/go-rpmdb, the maintained fork of knqyf263/go-rpmdb that osv-scalibr uses
// (the original as served has only BerkeleyDB support). The library opens files by path, so the
// database is copied into TempDir (inside Redoubt's cache) for the duration of the parse.
type RPM struct {
	TempDir string
}

// Name implements Extractor.
func (*RPM) Name() string { return "rpm" }

const maxRPMDB = 512 << 20

// Required implements Extractor.
func (*RPM) Required(path string, mode fs.FileMode, size int64) bool {
	if !mode.IsRegular() || size > maxRPMDB || size == 0 {
		return false
	}
	switch dir(path) {
	case "var/lib/rpm", "usr/lib/sysimage/rpm", "usr/share/rpm":
		switch base(path) {
		case "Packages", "Packages.db", "rpmdb.sqlite":
			return true
		}
	}
	return false
}

// Extract implements Extractor.
func (r *RPM) Extract(ctx context.Context, f File) (res Result, err error) {
	tmp, err := os.CreateTemp(r.TempDir, "rpmdb-*-"+base(f.Path))
	if err != nil {
		return Result{}, fmt.Errorf("copying the rpm database: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, f.Reader()); err != nil {
		tmp.Close()
		return Result{}, fmt.Errorf("copying the rpm database: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Result{}, err
	}
	// The parser trusts offsets in the file; a hostile database must not take the scan down.
	defer func() {
		if p := recover(); p != nil {
			res, err = Result{}, fmt.Errorf("malformed rpm database: %v", p)
		}
	}()
	db, err := rpmdb.Open(tmp.Name())
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	infos, err := db.ListPackagesWithContext(ctx)
	if err != nil {
		return Result{}, err
	}
	for _, pi := range infos {
		if pi.Name == "gpg-pubkey" || pi.Name == "" {
			continue
		}
		p := Package{Name: pi.Name, Version: rpmVersion(pi.EpochNum(), pi.Version, pi.Release),
			Type: TypeRPM, Arch: pi.Arch, Path: f.Path}
		if name, ver, ok := parseSourceRPM(pi.SourceRpm); ok {
			p.Source, p.SourceVersion = name, rpmVersion(pi.EpochNum(), ver, "")
		}
		res.Packages = append(res.Packages, p)
	}
	return res, nil
}

func rpmVersion(epoch int, version, release string) string {
	v := version
	if release != "" {
		v += "-" + release
	}
	if epoch > 0 {
		v = strconv.Itoa(epoch) + ":" + v
	}
	return v
}

// parseSourceRPM splits "openssl-3.0.7-25.el9.src.rpm" into "openssl" and "3.0.7-25.el9".
func parseSourceRPM(s string) (name, version string, ok bool) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".rpm"), ".src")
	s = strings.TrimSuffix(s, ".nosrc")
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return "", "", false
	}
	j := strings.LastIndexByte(s[:i], '-')
	if j <= 0 {
		return "", "", false
	}
	return s[:j], s[j+1:], true
}
