package extract

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Dpkg reads Debian's package database: /var/lib/dpkg/status, the one-file-per-package
// /var/lib/dpkg/status.d/ of distroless images, and the file lists in /var/lib/dpkg/info/*.list
// (only the paths KeepOwned selects are kept). Each binary package carries its source package
// and version (the Source field, "name" or "name (version)"), which Debian's advisories name.
type Dpkg struct {
	KeepOwned func(path string) bool
}

// Name implements Extractor.
func (*Dpkg) Name() string { return "dpkg" }

const maxDpkgStatus = 64 << 20

// Required implements Extractor.
func (d *Dpkg) Required(path string, mode fs.FileMode, size int64) bool {
	if !mode.IsRegular() || size > maxDpkgStatus {
		return false
	}
	switch dir(path) {
	case "var/lib/dpkg":
		return base(path) == "status"
	case "var/lib/dpkg/status.d":
		b := base(path)
		return !strings.HasSuffix(b, ".md5sums") && !strings.HasPrefix(b, ".")
	case "var/lib/dpkg/info":
		return d.KeepOwned != nil && strings.HasSuffix(path, ".list")
	}
	return false
}

// Extract implements Extractor.
func (d *Dpkg) Extract(_ context.Context, f File) (Result, error) {
	if strings.HasSuffix(f.Path, ".list") && dir(f.Path) == "var/lib/dpkg/info" {
		return d.list(f)
	}
	pkgs, err := ParseDpkgStatus(f.Reader(), dir(f.Path) == "var/lib/dpkg/status.d")
	for i := range pkgs {
		pkgs[i].Path = f.Path
	}
	return Result{Packages: pkgs}, err
}

// list reads one package's file list, keeping the paths of interest.
func (d *Dpkg) list(f File) (Result, error) {
	name := strings.TrimSuffix(base(f.Path), ".list")
	name, _, _ = strings.Cut(name, ":") // "libc6:amd64.list"
	var keep []string
	sc := bufio.NewScanner(f.Reader())
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		p := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "/")
		if p != "" && d.KeepOwned(p) {
			keep = append(keep, p)
		}
	}
	if err := sc.Err(); err != nil {
		return Result{}, err
	}
	if len(keep) == 0 {
		return Result{}, nil
	}
	return Result{Owners: map[string][]string{name: keep}}, nil
}

// ParseDpkgStatus reads dpkg status paragraphs. In a status file only packages whose Status says
// "installed" count; status.d files (distroless) have no Status field and every paragraph counts.
func ParseDpkgStatus(r io.Reader, statusD bool) ([]Package, error) {
	var out []Package
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	fields := map[string]string{}
	flush := func() {
		defer clear(fields)
		name, version := fields["Package"], fields["Version"]
		if name == "" || version == "" {
			return
		}
		if st, ok := fields["Status"]; ok || !statusD {
			if f := strings.Fields(st); len(f) != 3 || f[2] != "installed" {
				return
			}
		}
		p := Package{Name: name, Version: version, Type: TypeDeb, Arch: fields["Architecture"],
			Source: name, SourceVersion: version}
		if src := fields["Source"]; src != "" {
			s, v, ok := strings.Cut(src, " ")
			p.Source = s
			if ok {
				p.SourceVersion = strings.Trim(strings.TrimSpace(v), "()")
			}
		}
		out = append(out, p)
	}
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // continuation of a multi-line field (Description, Conffiles)
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return out, fmt.Errorf("line %q is not a field", truncate(string(line), 60))
		}
		switch key := string(k); key {
		case "Package", "Version", "Source", "Status", "Architecture":
			fields[key] = string(bytes.TrimSpace(v))
		}
	}
	flush()
	return out, sc.Err()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
