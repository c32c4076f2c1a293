package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
)

// NPM reads installed Node.js packages: every node_modules/**/package.json (name and version),
// and package-lock.json files (lockfile versions 1 to 3) outside node_modules, for applications
// shipped with a lockfile. Development dependencies in a lockfile are not reported: a production
// image installs them only if their package.json is there, and then that is what is reported.
type NPM struct{}

// Name implements Extractor.
func (NPM) Name() string { return "npm" }

const maxJSONManifest = 8 << 20

// Required implements Extractor.
func (NPM) Required(path string, mode fs.FileMode, size int64) bool {
	if !mode.IsRegular() || size > maxJSONManifest {
		return false
	}
	switch base(path) {
	case "package.json":
		d := dir(path)
		// node_modules/x/package.json or node_modules/@scope/x/package.json, at any depth.
		parent := dir(d)
		return base(parent) == "node_modules" || (strings.HasPrefix(base(parent), "@") && base(dir(parent)) == "node_modules")
	case "package-lock.json":
		return !strings.Contains(path, "node_modules/")
	}
	return false
}

// Extract implements Extractor.
func (NPM) Extract(_ context.Context, f File) (Result, error) {
	if base(f.Path) == "package-lock.json" {
		pkgs, err := ParsePackageLock(f.Reader(), dir(f.Path))
		return Result{Packages: pkgs}, err
	}
	var pj struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.NewDecoder(io.LimitReader(f.Reader(), maxJSONManifest)).Decode(&pj); err != nil {
		return Result{}, err
	}
	if pj.Name == "" || pj.Version == "" {
		return Result{}, nil
	}
	return Result{Packages: []Package{{Name: pj.Name, Version: pj.Version, Type: TypeNPM, Path: f.Path}}}, nil
}

// lockDep is one entry of a lockfile: in lockfileVersion 2 and 3 "packages" entries, whose
// "dependencies" are name-to-range strings (ignored here), or in version 1 "dependencies"
// entries, which nest further entries.
type lockDep struct {
	Version      string          `json:"version"`
	Dev          bool            `json:"dev"`
	Link         bool            `json:"link"`
	Dependencies json.RawMessage `json:"dependencies"`
}

// ParsePackageLock reads a package-lock.json found in directory root. Each package's Path is
// where its installed package.json would be, so that an installed copy and the lockfile entry
// are recognised as the same package.
func ParsePackageLock(r io.Reader, root string) ([]Package, error) {
	var lock struct {
		LockfileVersion int                `json:"lockfileVersion"`
		Packages        map[string]lockDep `json:"packages"`
		Dependencies    map[string]lockDep `json:"dependencies"`
	}
	if err := json.NewDecoder(io.LimitReader(r, maxJSONManifest)).Decode(&lock); err != nil {
		return nil, fmt.Errorf("package-lock.json: %w", err)
	}
	prefix := ""
	if root != "" {
		prefix = root + "/"
	}
	var out []Package
	if len(lock.Packages) > 0 {
		keys := make([]string, 0, len(lock.Packages))
		for k := range lock.Packages {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			d := lock.Packages[k]
			i := strings.LastIndex(k, "node_modules/")
			if k == "" || i < 0 || d.Dev || d.Link || d.Version == "" {
				continue
			}
			out = append(out, Package{Name: k[i+len("node_modules/"):], Version: d.Version, Type: TypeNPM,
				Path: prefix + k + "/package.json", FromLock: true})
		}
		return out, nil
	}
	var walk func(deps map[string]lockDep, at string, depth int)
	walk = func(deps map[string]lockDep, at string, depth int) {
		if depth > 64 {
			return
		}
		if deps == nil {
			return
		}
		keys := make([]string, 0, len(deps))
		for k := range deps {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, name := range keys {
			d := deps[name]
			loc := at + "node_modules/" + name
			if !d.Dev && d.Version != "" && !strings.HasPrefix(d.Version, "file:") {
				out = append(out, Package{Name: name, Version: d.Version, Type: TypeNPM,
					Path: prefix + loc + "/package.json", FromLock: true})
			}
			var nested map[string]lockDep
			if len(d.Dependencies) > 0 && json.Unmarshal(d.Dependencies, &nested) == nil {
				walk(nested, loc+"/", depth+1)
			}
		}
	}
	walk(lock.Dependencies, "", 0)
	return out, nil
}
