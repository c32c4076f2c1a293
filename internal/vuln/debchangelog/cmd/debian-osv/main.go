// Command debian-osv writes OSV records derived from real Debian changelogs (see package
// debchangelog) as an osv.dev-style export, <out>/Debian/all.zip: it runs `apt-get download`
// for the newest version of each package named, reads its changelog.Debian.gz with dpkg-deb,
// and converts every CVE mentioned into a record for the source package.
//
//	go run ./internal/vuln/debchangelog/cmd/debian-osv -out ~/.cache/redoubt-testdata/debian-osv
//
// Tests that need Debian data look for it there (or in $REDOUBT_DEBIAN_OSV); the CI script runs
// this first.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"redoubt.dev/redoubt/internal/vuln"
	"redoubt.dev/redoubt/internal/vuln/debchangelog"
)

func main() {
	out := flag.String("out", "", "directory to write Debian/all.zip into (required)")
	ecosystem := flag.String("ecosystem", "Debian:12", "OSV ecosystem of the records")
	pkgs := flag.String("packages", "curl,libssl3,perl-base", "comma-separated binary packages whose newest changelogs to read")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "debian-osv: -out is required")
		os.Exit(2)
	}
	if err := run(*out, *ecosystem, strings.Split(*pkgs, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "debian-osv:", err)
		os.Exit(1)
	}
}

func run(out, ecosystem string, pkgs []string) error {
	debs := filepath.Join(out, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return err
	}
	var sets [][]vuln.Record
	for _, p := range pkgs {
		deb, err := download(debs, p)
		if err != nil {
			return err
		}
		log, err := changelog(deb, p)
		if err != nil {
			return fmt.Errorf("%s: %w", deb, err)
		}
		entries, err := debchangelog.Parse(bytes.NewReader(log))
		if err != nil {
			return fmt.Errorf("%s: %w", deb, err)
		}
		recs, err := debchangelog.Records(ecosystem, filepath.Base(deb), entries)
		if err != nil {
			return fmt.Errorf("%s: %w", deb, err)
		}
		fmt.Fprintf(os.Stderr, "%s: source %s, %d entries, %d CVEs\n", filepath.Base(deb), entries[0].Source, len(entries), len(recs))
		sets = append(sets, recs)
	}
	recs := debchangelog.Merge(sets...)
	dst := filepath.Join(out, "Debian", "all.zip")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, r := range recs {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		w, err := zw.Create(r.ID + ".json")
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d records to %s\n", len(recs), dst)
	return os.Rename(tmp, dst)
}

// download fetches the newest candidate of a binary package with apt-get, once.
func download(dir, pkg string) (string, error) {
	if m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb")); len(m) == 1 {
		return m[0], nil
	}
	cmd := exec.Command("apt-get", "download", pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download %s: %v\n%s(run apt-get update first)", pkg, err, b)
	}
	m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(m) != 1 {
		return "", fmt.Errorf("apt-get download %s: want one .deb in %s, found %d", pkg, dir, len(m))
	}
	return m[0], nil
}

// changelog extracts usr/share/doc/<pkg>/changelog.Debian.gz from a .deb with dpkg-deb.
func changelog(deb, pkg string) ([]byte, error) {
	out, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb --fsys-tarfile: %w", err)
	}
	want := "./usr/share/doc/" + pkg + "/changelog.Debian.gz"
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("no %s inside", want)
		}
		if err != nil {
			return nil, err
		}
		if h.Name == want {
			return io.ReadAll(io.LimitReader(tr, debchangelog.MaxBytes))
		}
	}
}
