// Package image reads container images and inventories what is in them, layer by layer: the
// operating system, the installed packages (OS and language), and the components that have no
// business in a production image (shells, package managers, network tools, debuggers, compilers),
// each with the layer that added it.
//
// Images come from a registry, an OCI layout directory or a docker-archive tarball (Open). Scan
// reads each layer once, streaming its tar without unpacking anything to disk, hands the files
// the extractors of package extract want to them, and records the layer's file listing and
// whiteouts. Layers are then stacked in order (whiteouts and opaque directories honoured) into
// the final filesystem, and only what is present there is reported. Per-layer results are cached
// by diff ID, so a layer shared by many images is read once.
//
// Images are hostile input: every limit (bytes per layer, decompression ratio, entries, path
// length, file size handed to a parser) is enforced while streaming, and nothing is ever written
// outside the cache directory.
package image

import (
	"runtime"

	"redoubt.dev/redoubt/internal/image/extract"
	"redoubt.dev/redoubt/internal/vuln"
)

// Limits bound the work and memory one image may cost.
type Limits struct {
	// MaxLayerBytes caps the uncompressed bytes of one layer.
	MaxLayerBytes int64
	// MaxRatio caps uncompressed/compressed size once a layer has inflated past RatioFloor:
	// ordinary layers compress 2-10 times, decompression bombs thousands of times.
	MaxRatio   int64
	RatioFloor int64
	// MaxEntries caps the tar entries of one layer.
	MaxEntries int
	// MaxPath caps the length of one path in a layer.
	MaxPath int
	// MaxInMemory is the largest file held in memory for an extractor; bigger files (up to the
	// extractor's own cap) are spooled to the cache's temporary directory.
	MaxInMemory int64
}

// DefaultLimits suit real images of many gigabytes while stopping bombs.
var DefaultLimits = Limits{
	MaxLayerBytes: 16 << 30,
	MaxRatio:      200,
	RatioFloor:    256 << 20,
	MaxEntries:    2_000_000,
	MaxPath:       4096,
	MaxInMemory:   32 << 20,
}

// Options control a scan.
type Options struct {
	// Cache keeps per-layer results; nil scans every layer every time.
	Cache *Cache
	// Limits; the zero value means DefaultLimits.
	Limits Limits
	// Progress, when set, is told about each layer as it is read (for a terminal).
	Progress Progress
	// Concurrency is how many layers are read at once; 0 means the number of CPUs.
	Concurrency int
	// TempDir is where oversized files are spooled; "" means the cache's, else the OS default.
	TempDir string
}

func (o *Options) limits() Limits {
	if o.Limits == (Limits{}) {
		return DefaultLimits
	}
	return o.Limits
}

func (o *Options) concurrency() int {
	if o.Concurrency > 0 {
		return o.Concurrency
	}
	return max(1, runtime.GOMAXPROCS(0))
}

// Report is everything a scan found in one image.
type Report struct {
	// Ref is the reference scanned, as given.
	Ref string `json:"ref"`
	// Digest is the manifest digest of the image scanned (for a multi-platform image, the
	// platform's manifest); IndexDigest the index it was chosen from.
	Digest      string          `json:"digest"`
	IndexDigest string          `json:"indexDigest,omitempty"`
	Platform    string          `json:"platform,omitempty"`
	Distro      *extract.Distro `json:"distro,omitempty"`
	Layers      []Layer         `json:"layers"`
	Packages    []Package       `json:"packages"`
	Components  []Component     `json:"components"`
	// Vulnerabilities are the known vulnerabilities of the packages, filled by a matcher (see
	// package imagescan): one per vulnerability and package, aliases merged.
	Vulnerabilities []Vulnerability `json:"vulnerabilities"`
	// Warnings are things a person should know that did not stop the scan: a path that escapes
	// the root, a hard link to nothing, a file too large to parse.
	Warnings []string `json:"warnings,omitempty"`
}

// Vulnerability is one known vulnerability of one package of the image.
type Vulnerability struct {
	// Package is the index of the package in Report.Packages.
	Package int `json:"package"`
	vuln.Match
}

// Layer describes one layer of the image.
type Layer struct {
	Index  int    `json:"index"`
	DiffID string `json:"diffID"`
	Digest string `json:"digest,omitempty"`
	// Size is the compressed size.
	Size int64 `json:"size"`
	// CreatedBy is the history line that made the layer: the Dockerfile instruction.
	CreatedBy string `json:"createdBy,omitempty"`
	// Cached is true when the layer's result came from the cache.
	Cached bool `json:"cached"`
}

// Package is one installed package in the final filesystem, with the layer that added it.
type Package struct {
	extract.Package
	// Ecosystem is the OSV ecosystem the package's vulnerabilities are published in, with the
	// release where one applies ("Debian:12", "Alpine:v3.20", "npm"); "" when unknown.
	Ecosystem string `json:"ecosystem,omitempty"`
	PURL      string `json:"purl"`
	Layer     int    `json:"layer"`
	LayerID   string `json:"layerDiffID"`
	CreatedBy string `json:"createdBy,omitempty"`
}

// MatchName and MatchVersion are the name and version vulnerabilities are published against:
// the source package for OS packages (Debian and Alpine advisories name source packages).
func (p *Package) MatchName() string {
	if p.Source != "" {
		return p.Source
	}
	return p.Name
}

// MatchVersion pairs with MatchName.
func (p *Package) MatchVersion() string {
	if p.Source != "" && p.SourceVersion != "" {
		return p.SourceVersion
	}
	return p.Version
}

// Component is a tool found in the final filesystem that a production image does not need.
type Component struct {
	// Class is shell, package-manager, network-tool, debugger or build-tool.
	Class string `json:"class"`
	// Name is the tool ("curl"); Names every name it answers to in the binary directories
	// (sh, ash and busybox are one file in Alpine).
	Name  string   `json:"name"`
	Names []string `json:"names,omitempty"`
	// Path is the file, relative to the root; Target is what a symbolic link resolves to.
	Path   string `json:"path"`
	Target string `json:"target,omitempty"`
	// Package is the OS package that installed it, when a package database says so.
	Package     string `json:"package,omitempty"`
	PackageType string `json:"packageType,omitempty"`
	// Layer is the layer that added the file (or, when Removed, the layer that deleted it; -1
	// when unknown).
	Layer     int    `json:"layer"`
	LayerID   string `json:"layerDiffID,omitempty"`
	CreatedBy string `json:"createdBy,omitempty"`
	// Removed is true when the file is gone but its package is still registered: the package
	// database (and so every scanner) still lists a tool that is not there.
	Removed bool `json:"removed,omitempty"`
}
