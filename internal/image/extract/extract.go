// Package extract finds installed packages in the files of a container image. Each Extractor says
// which files it wants (Required, from the path, mode and size alone) and parses one file at a
// time (Extract); the layer walker in package image reads every layer once and hands each file to
// the extractors that want it. Extractors never touch the host filesystem: they see one file's
// bytes, already bounded in size by the walker.
package extract

import (
	"context"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// Package types: the kind of package database or artifact a package was found in.
const (
	TypeDeb   = "deb"
	TypeApk   = "apk"
	TypeRPM   = "rpm"
	TypeGo    = "golang"
	TypeNPM   = "npm"
	TypePyPI  = "pypi"
	TypeMaven = "maven"
	TypeCargo = "cargo"
	TypeGem   = "gem"
)

// Package is one installed package.
type Package struct {
	// Name is the package name; Maven packages are "groupId:artifactId".
	Name string `json:"name"`
	// Version is the version as the package database spells it (RPM: [epoch:]version-release).
	Version string `json:"version"`
	Type    string `json:"type"`
	// Source and SourceVersion name the OS source package a binary package was built from
	// (Debian's Source field, Alpine's origin, an RPM's source RPM). Vulnerabilities in OS
	// packages are published against source packages.
	Source        string `json:"source,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	// Arch is the package's architecture as its database names it (dpkg, apk, RPM) or, for Go
	// binaries, GOARCH; OS is GOOS for Go binaries.
	Arch string `json:"arch,omitempty"`
	OS   string `json:"os,omitempty"`
	// Path is the file the package was found in: a database, a manifest, a binary or an archive
	// (nested archives are joined with "!/").
	Path string `json:"path"`
	// FromLock is set for npm packages read from a lockfile rather than an installed package.json.
	FromLock bool `json:"-"`
}

// Distro is an image's operating system, from os-release.
type Distro struct {
	ID         string `json:"id"`
	VersionID  string `json:"versionID,omitempty"`
	Codename   string `json:"codename,omitempty"`
	PrettyName string `json:"prettyName,omitempty"`
}

// Result is what one file yielded.
type Result struct {
	Packages []Package `json:"packages,omitempty"`
	// Owners maps a package name to the files of interest it installed, from the package
	// manager's file lists (paths are relative to the image root, without a leading slash).
	Owners map[string][]string `json:"owners,omitempty"`
	// Distro is set by the os-release extractor.
	Distro *Distro `json:"distro,omitempty"`
}

// File is one file handed to an extractor: its path relative to the image root (no leading
// slash), size and mode, and random access to its bytes.
type File struct {
	Path string
	Size int64
	Mode fs.FileMode
	R    io.ReaderAt
}

// Reader returns a reader over the whole file.
func (f File) Reader() io.Reader { return io.NewSectionReader(f.R, 0, f.Size) }

// Extractor finds packages in one kind of file.
type Extractor interface {
	// Name identifies the extractor in messages and in the layer cache key.
	Name() string
	// Required reports whether the extractor wants the file at path (relative to the image
	// root), judged from its path, mode and size only.
	Required(path string, mode fs.FileMode, size int64) bool
	// Extract parses one file. It must not retain f.R after returning.
	Extract(ctx context.Context, f File) (Result, error)
}

// MagicFilter is implemented by extractors that want a file only if it starts with certain bytes
// (binaries): the walker peeks at the first bytes before reading the whole file.
type MagicFilter interface {
	WantsMagic(head []byte) bool
}

// Options configure the default extractors.
type Options struct {
	// KeepOwned selects, from package managers' file lists, the paths worth remembering (the
	// unnecessary-component detector wants shells, package managers and the like). Nil keeps
	// none.
	KeepOwned func(path string) bool
	// TempDir is where the RPM extractor may write a database copy for the library that parses
	// it; it must be inside Redoubt's cache.
	TempDir string
}

// All returns every extractor, in a fixed order.
func All(o Options) []Extractor {
	return []Extractor{
		OSRelease{},
		&Dpkg{KeepOwned: o.KeepOwned},
		&Apk{KeepOwned: o.KeepOwned},
		&RPM{TempDir: o.TempDir},
		GoBinary{},
		CargoAuditable{},
		NPM{},
		Python{},
		Java{},
		Gem{},
	}
}

// Version identifies the extractors' behaviour for the layer cache: bump it whenever an extractor
// changes what it finds, so that cached layer results are recomputed.
const Version = 2

// Names returns the extractors' names joined, for cache keys.
func Names(es []Extractor) string {
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name()
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

func isExecutable(mode fs.FileMode) bool { return mode.IsRegular() && mode&0o111 != 0 }

// dir returns the directory part of a slash path ("" for a top-level name).
func dir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// base returns the last element of a slash path.
func base(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
