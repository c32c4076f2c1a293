package vuln

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// benchPackages is a realistic inventory of a few thousand packages: every Go module the Go
// vulnerability database names, at an old and a recent version, the curl, openssl and perl
// source packages at vulnerable versions, the GHSA npm packages, and the Debian packages
// installed on this machine (mostly without advisories, as in a real image).
func benchPackages(b *testing.B, files []string) []Package {
	var pkgs []Package
	seen := map[string]bool{}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		r, err := ParseRecord(data)
		if err != nil {
			continue
		}
		for _, a := range r.Affected {
			if a.Package.Ecosystem != "Go" || seen[a.Package.Name] {
				continue
			}
			seen[a.Package.Name] = true
			old, recent := "v0.1.0", "v1.30.0"
			if a.Package.Name == "stdlib" || a.Package.Name == "toolchain" {
				old, recent = "go1.20.1", "go1.26.8"
			}
			pkgs = append(pkgs, Package{Ecosystem: "Go", Name: a.Package.Name, Version: old}, Package{Ecosystem: "Go", Name: a.Package.Name, Version: recent})
		}
	}
	pkgs = append(pkgs, Package{Ecosystem: "Debian:12", Name: "curl", Version: "7.88.1-10+deb12u5"}, Package{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.17-1~deb12u2"},
		Package{Ecosystem: "Debian:12", Name: "perl", Version: "5.36.0-7+deb12u3"}, Package{Ecosystem: "npm", Name: "lodash", Version: "4.17.15"}, Package{Ecosystem: "npm", Name: "minimist", Version: "1.2.5"})
	if f, err := os.Open("/var/lib/dpkg/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "Package: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(line, "Version: "); ok && name != "" {
				pkgs = append(pkgs, Package{Ecosystem: "Debian:12", Name: name, Version: v})
				name = ""
			}
		}
	}
	return pkgs
}

// BenchmarkMatch matches a few thousand packages against the whole Go vulnerability database,
// the Debian changelog records and the GHSA records.
func BenchmarkMatch(b *testing.B) {
	files := goVulnDBFiles(b)
	sources := map[string][]string{"Go": files, "npm": ghsaFiles(b)}
	dbFiles := debianFilesForBench(b)
	if dbFiles != nil {
		sources["Debian"] = dbFiles
	}
	d := buildDB(b, sources)
	pkgs := benchPackages(b, files)
	ms, err := d.Match(context.Background(), pkgs)
	var verr *VersionError
	if err != nil && !errors.As(err, &verr) {
		b.Fatal(err)
	}
	matched := map[int]bool{}
	for _, m := range ms {
		matched[m.Index] = true
	}
	for b.Loop() {
		if _, err := d.Match(context.Background(), pkgs); err != nil && !errors.As(err, &verr) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pkgs)), "packages")
	b.ReportMetric(float64(len(ms)), "matches")
	b.ReportMetric(float64(len(matched)), "vulnerable-packages")
}

// BenchmarkImportGoVulnDB measures building a database from the Go vulnerability database's
// export (4,789 records).
func BenchmarkImportGoVulnDB(b *testing.B) {
	mirror := mirrorDir(b, map[string][]string{"Go": goVulnDBFiles(b)})
	for b.Loop() {
		if _, err := Import(context.Background(), b.TempDir(), mirror, UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func debianFilesForBench(b *testing.B) []string {
	dir := os.Getenv("REDOUBT_DEBIAN_OSV")
	if dir == "" {
		c, _ := os.UserCacheDir()
		dir = c + "/redoubt-testdata/debian-osv"
	}
	p := dir + "/Debian/all.zip"
	if _, err := os.Stat(p); err != nil {
		b.Logf("no Debian records at %s; benchmarking without them", p)
		return nil
	}
	return zipFiles(b, p)
}

// BenchmarkOpen measures what every scan pays before matching: opening the database and
// reading its status.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	if _, err := Import(context.Background(), dir, mirrorDir(b, map[string][]string{"Go": goVulnDBFiles(b)}), UpdateOptions{}); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(dir + "/" + FileName)
	for b.Loop() {
		d, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		d.Status()
		d.Close()
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "db-MiB")
}
