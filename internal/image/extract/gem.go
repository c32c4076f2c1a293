package extract

import (
	"context"
	"io"
	"io/fs"
	"regexp"
	"strings"
)

// Gem reads installed Ruby gems from their specifications/*.gemspec files (the Ruby files
// RubyGems writes on install, in any GEM_HOME). The name and version assignments are read from
// the text; the file is never evaluated.
type Gem struct{}

// Name implements Extractor.
func (Gem) Name() string { return "gem" }

// Required implements Extractor.
func (Gem) Required(path string, mode fs.FileMode, size int64) bool {
	if !mode.IsRegular() || size > 1<<20 || !strings.HasSuffix(path, ".gemspec") {
		return false
	}
	d := dir(path)
	return base(d) == "specifications" || (base(d) == "default" && base(dir(d)) == "specifications")
}

var (
	gemName    = regexp.MustCompile(`(?m)^\s*\w+\.name\s*=\s*["']([^"']+)["']`)
	gemVersion = regexp.MustCompile(`(?m)^\s*\w+\.version\s*=\s*["']([^"']+)["']`)
)

// Extract implements Extractor.
func (Gem) Extract(_ context.Context, f File) (Result, error) {
	data, err := io.ReadAll(io.LimitReader(f.Reader(), 1<<20))
	if err != nil {
		return Result{}, err
	}
	name, version := ParseGemspec(data)
	if name == "" || version == "" {
		// Fall back to the file name RubyGems gives it: NAME-VERSION.gemspec.
		n := strings.TrimSuffix(base(f.Path), ".gemspec")
		if i := strings.LastIndexByte(n, '-'); i > 0 {
			name, version = n[:i], n[i+1:]
		}
	}
	if name == "" || version == "" {
		return Result{}, nil
	}
	return Result{Packages: []Package{{Name: name, Version: version, Type: TypeGem, Path: f.Path}}}, nil
}

// ParseGemspec finds the name and version assignments in a gemspec.
func ParseGemspec(data []byte) (name, version string) {
	if m := gemName.FindSubmatch(data); m != nil {
		name = string(m[1])
	}
	if m := gemVersion.FindSubmatch(data); m != nil {
		version = string(m[1])
	}
	return name, version
}
