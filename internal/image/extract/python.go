package extract

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"strings"
)

// Python reads installed Python distributions: *.dist-info/METADATA (wheels, pip) and
// *.egg-info/PKG-INFO or a bare *.egg-info file (setuptools). Only the header's Name and Version
// are read.
type Python struct{}

// Name implements Extractor.
func (Python) Name() string { return "python" }

// Required implements Extractor.
func (Python) Required(path string, mode fs.FileMode, size int64) bool {
	if !mode.IsRegular() || size > maxJSONManifest {
		return false
	}
	b, d := base(path), base(dir(path))
	switch {
	case b == "METADATA":
		return strings.HasSuffix(d, ".dist-info")
	case b == "PKG-INFO":
		return strings.HasSuffix(d, ".egg-info")
	}
	return strings.HasSuffix(b, ".egg-info")
}

// Extract implements Extractor.
func (Python) Extract(_ context.Context, f File) (Result, error) {
	name, version, err := ParsePythonMetadata(f.Reader())
	if err != nil || name == "" || version == "" {
		return Result{}, err
	}
	return Result{Packages: []Package{{Name: name, Version: version, Type: TypePyPI, Path: f.Path}}}, nil
}

// ParsePythonMetadata reads Name and Version from a core-metadata header (RFC 822 style; the
// header ends at the first blank line).
func ParsePythonMetadata(r io.Reader) (name, version string, err error) {
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	sc.Buffer(make([]byte, 0, 4096), 256<<10)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "name":
			name = strings.TrimSpace(v)
		case "version":
			version = strings.TrimSpace(v)
		}
		if name != "" && version != "" {
			break
		}
	}
	return name, version, sc.Err()
}
