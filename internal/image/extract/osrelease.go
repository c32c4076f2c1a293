package extract

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// OSRelease reads /etc/os-release (or /usr/lib/os-release, which /etc/os-release usually links
// to): the distribution and release that OS packages are matched against.
type OSRelease struct{}

// Name implements Extractor.
func (OSRelease) Name() string { return "os-release" }

// Required implements Extractor.
func (OSRelease) Required(path string, mode fs.FileMode, size int64) bool {
	return (path == "etc/os-release" || path == "usr/lib/os-release") && mode.IsRegular() && size < 64<<10
}

// Extract implements Extractor.
func (OSRelease) Extract(_ context.Context, f File) (Result, error) {
	d, err := ParseOSRelease(f.Reader())
	if err != nil {
		return Result{}, err
	}
	if d.ID == "" {
		return Result{}, fmt.Errorf("no ID= line")
	}
	return Result{Distro: d}, nil
}

// ParseOSRelease reads os-release's KEY=value lines (values optionally quoted).
func ParseOSRelease(r io.Reader) (*Distro, error) {
	d := &Distro{}
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		v = strings.ReplaceAll(v, `\"`, `"`)
		switch k {
		case "ID":
			d.ID = strings.ToLower(v)
		case "VERSION_ID":
			d.VersionID = v
		case "VERSION_CODENAME":
			d.Codename = v
		case "PRETTY_NAME":
			d.PrettyName = v
		}
	}
	return d, sc.Err()
}
