package extract

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"io/fs"
	"strings"
)

// GoBinary reads the module build information Go embeds in every binary (debug/buildinfo): the
// main module, every dependency (replacements applied) and the toolchain version, reported as the
// package "stdlib" because vulnerabilities in the standard library are published that way. Each
// package carries the binary's GOOS and GOARCH.
type GoBinary struct{}

// Name implements Extractor.
func (GoBinary) Name() string { return "go-binary" }

const maxBinary = 1 << 30

// Required implements Extractor.
func (GoBinary) Required(_ string, mode fs.FileMode, size int64) bool {
	return isExecutable(mode) && size > 1024 && size <= maxBinary
}

var elfMagic = []byte("\x7fELF")

// WantsMagic implements MagicFilter: only ELF files.
func (GoBinary) WantsMagic(head []byte) bool { return bytes.HasPrefix(head, elfMagic) }

// Extract implements Extractor. A binary that is not a Go binary yields nothing, not an error.
func (GoBinary) Extract(_ context.Context, f File) (Result, error) {
	bi, err := buildinfo.Read(f.R)
	if err != nil {
		return Result{}, nil
	}
	var res Result
	// The platform the binary was built for: Go vulnerabilities limited to other platforms (a
	// Windows-only one in a Linux image) do not affect it.
	var goos, goarch string
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	add := func(path, version string) {
		if path == "" || version == "" || version == "(devel)" {
			return
		}
		res.Packages = append(res.Packages, Package{Name: path, Version: version, Type: TypeGo, Path: f.Path, OS: goos, Arch: goarch})
	}
	if gv := goVersion(bi.GoVersion); gv != "" {
		res.Packages = append(res.Packages, Package{Name: "stdlib", Version: gv, Type: TypeGo, Path: f.Path, OS: goos, Arch: goarch})
	}
	add(bi.Main.Path, bi.Main.Version)
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		add(d.Path, d.Version)
	}
	return res, nil
}

// goVersion turns "go1.22.1 X:jsonv2" into "v1.22.1".
func goVersion(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 || !strings.HasPrefix(f[0], "go") {
		return ""
	}
	v, _, _ := strings.Cut(strings.TrimPrefix(f[0], "go"), "-") // "1.23-devel_..." builds
	if v == "" {
		return ""
	}
	return "v" + v
}
