package extract

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"strings"
)

// Apk reads Alpine's installed database, /lib/apk/db/installed: one paragraph per package with
// one-letter keys (P name, V version, A arch, o origin, F directory, R file in that directory).
// The origin is the source package Alpine's advisories name.
type Apk struct {
	KeepOwned func(path string) bool
}

// Name implements Extractor.
func (*Apk) Name() string { return "apk" }

// Required implements Extractor.
func (*Apk) Required(path string, mode fs.FileMode, size int64) bool {
	return path == "lib/apk/db/installed" && mode.IsRegular() && size <= maxDpkgStatus
}

// Extract implements Extractor.
func (a *Apk) Extract(_ context.Context, f File) (Result, error) {
	pkgs, owners, err := ParseApkInstalled(f.Reader(), a.KeepOwned)
	for i := range pkgs {
		pkgs[i].Path = f.Path
	}
	return Result{Packages: pkgs, Owners: owners}, err
}

// ParseApkInstalled reads an apk installed database. keep selects the owned files to return.
func ParseApkInstalled(r io.Reader, keep func(string) bool) ([]Package, map[string][]string, error) {
	var out []Package
	owners := map[string][]string{}
	var cur Package
	var curDir string
	var files []string
	flush := func() {
		if cur.Name != "" && cur.Version != "" {
			if cur.Source == "" {
				cur.Source = cur.Name
			}
			cur.SourceVersion = cur.Version
			out = append(out, cur)
			if len(files) > 0 {
				owners[cur.Name] = files
			}
		}
		cur, curDir, files = Package{Type: TypeApk}, "", nil
	}
	cur.Type = TypeApk
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		v := line[2:]
		switch line[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'o':
			cur.Source = v
		case 'F':
			curDir = v
		case 'R':
			p := v
			if curDir != "" {
				p = curDir + "/" + v
			}
			if keep != nil && keep(p) {
				files = append(files, p)
			}
		}
	}
	flush()
	if len(owners) == 0 {
		owners = nil
	}
	return out, owners, sc.Err()
}
