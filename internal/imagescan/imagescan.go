// Package imagescan is the build phase: it scans the images a snapshot's workloads run (once
// per digest), matches their packages against the vulnerability database, and turns what was
// found into findings: one per vulnerability and package, and one per unnecessary component,
// each attached to every workload container that runs the image, with the image layer that
// brought it.
//
// Scanning is a source step (ScanSnapshot fills inventory.Image.Scan before the audit); the
// analyzer (Analyze) only reads the snapshot.
package imagescan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/extract"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/vuln"
)

// Matcher finds known vulnerabilities of packages; *vuln.DB is one.
type Matcher interface {
	Match(ctx context.Context, pkgs []vuln.Package) ([]vuln.Match, error)
}

// MatchOptions control matching.
type MatchOptions struct {
	// IgnoreUnfixed drops vulnerabilities no version fixes yet.
	IgnoreUnfixed bool
}

// Query returns the package as the vulnerability database is asked about it: OS packages by
// their source package and version, in the ecosystem of the image's release. ok is false for
// packages whose ecosystem is unknown (an OS package in an image without os-release). Go and
// Rust packages carry the platform they were built for, so that records limited to other
// platforms do not match: the binary's own GOOS/GOARCH for Go, else the image's platform
// ("linux/amd64").
func Query(p *image.Package, platform string) (q vuln.Package, ok bool) {
	if p.Ecosystem == "" {
		return vuln.Package{}, false
	}
	q = vuln.Package{Ecosystem: p.Ecosystem, Name: p.MatchName(), Version: p.MatchVersion()}
	switch p.Type {
	case extract.TypeGo, extract.TypeCargo:
		os, arch, _ := strings.Cut(platform, "/")
		arch, _, _ = strings.Cut(arch, "/") // the variant ("arm64/v8") does not matter here
		q.OS, q.Arch = cmp.Or(p.OS, os), cmp.Or(p.Arch, arch)
	}
	return q, true
}

// Match fills rep.Vulnerabilities. Packages whose version the database cannot order are
// reported as warnings and still matched against explicit version lists.
func Match(ctx context.Context, rep *image.Report, m Matcher, o MatchOptions) error {
	var qs []vuln.Package
	var idx []int
	for i := range rep.Packages {
		if q, ok := Query(&rep.Packages[i], rep.Platform); ok {
			qs = append(qs, q)
			idx = append(idx, i)
		}
	}
	rep.Vulnerabilities = []image.Vulnerability{}
	if len(qs) == 0 {
		return nil
	}
	matches, err := m.Match(ctx, qs)
	if err != nil {
		var verr *vuln.VersionError
		if !errors.As(err, &verr) {
			return fmt.Errorf("image %s: matching vulnerabilities: %w", rep.Ref, err)
		}
		for _, e := range unjoin(err) {
			rep.Warnings = append(rep.Warnings, e.Error())
		}
	}
	for _, mt := range matches {
		if o.IgnoreUnfixed && mt.Fixed == "" {
			continue
		}
		rep.Vulnerabilities = append(rep.Vulnerabilities, image.Vulnerability{Package: idx[mt.Index], Match: mt})
	}
	return nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// ScanOptions say where images come from and how they are scanned.
type ScanOptions struct {
	// Layout is an OCI layout whose ref.name annotations name the snapshot's images; images in
	// it are scanned from it.
	Layout *image.Layout
	// Pull allows fetching images that are not in Layout from their registries.
	Pull   bool
	Source image.SourceOptions
	Scan   image.Options
	// DB matches packages against vulnerabilities; nil skips matching.
	DB    Matcher
	Match MatchOptions
	// Log hears one line per image (scanned, skipped, failed); nil discards.
	Log io.Writer
}

// ScanSnapshot scans every image the snapshot's workloads run and records the result (or why
// there is none) on each inventory.Image. Images with the same digest are scanned once;
// references without a digest are scanned once per reference. Failures are per image: the
// rest are still scanned.
func ScanSnapshot(ctx context.Context, s *inventory.Snapshot, o ScanOptions) {
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	byKey := map[string]*image.Report{}
	errByKey := map[string]string{}
	for _, img := range s.Images {
		if err := ctx.Err(); err != nil {
			img.ScanError = err.Error()
			continue
		}
		key := img.Digest
		if key == "" {
			key = img.Ref
		}
		if rep, ok := byKey[key]; ok {
			img.Scan = rep
			continue
		}
		if e, ok := errByKey[key]; ok {
			img.ScanError = e
			continue
		}
		rep, err := scanOne(ctx, img, o)
		if err != nil {
			img.ScanError = err.Error()
			errByKey[key] = img.ScanError
			fmt.Fprintf(log, "image %s: not scanned: %v\n", img.Ref, err)
			continue
		}
		img.Scan = rep
		byKey[key] = rep
		if rep.Digest != "" {
			byKey[rep.Digest] = rep
		}
		fmt.Fprintf(log, "image %s: %s, %s, %s\n", img.Ref, count(len(rep.Packages), "package", "packages"),
			count(len(rep.Vulnerabilities), "vulnerability", "vulnerabilities"), count(len(rep.Components), "component", "components"))
	}
}

// count writes a number with its noun in the right form: "1 package", "2 packages".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// ErrNoSource says an image is neither in the layout nor allowed to be pulled.
var ErrNoSource = errors.New("not in the image layout, and pulling from registries was not asked for (--pull)")

func scanOne(ctx context.Context, img *inventory.Image, o ScanOptions) (*image.Report, error) {
	var src *image.Source
	var err error
	if o.Layout != nil {
		plat, perr := v1Platform(o.Source.Platform)
		if perr != nil {
			return nil, perr
		}
		src, err = o.Layout.Find(img.Ref, plat)
		if err != nil && !errors.Is(err, image.ErrNotInLayout) {
			return nil, err
		}
	}
	if src == nil {
		if !o.Pull {
			return nil, ErrNoSource
		}
		if src, err = image.Open(ctx, img.Ref, o.Source); err != nil {
			return nil, err
		}
	}
	defer src.Close()
	src.Ref = img.Ref
	rep, err := image.Scan(ctx, src, o.Scan)
	if err != nil {
		return nil, err
	}
	if img.Digest != "" && img.Digest != rep.Digest && img.Digest != rep.IndexDigest {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the reference pins %s but the image found has digest %s: the scanned image is not the one pinned", img.Digest, rep.Digest))
	}
	if o.DB != nil {
		if err := Match(ctx, rep, o.DB, o.Match); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// packageLabel renders a package for messages: "libssl3 3.0.20-1~deb12u2 (deb, source openssl)".
func packageLabel(p *image.Package) string {
	s := fmt.Sprintf("%s %s (%s", p.Name, p.Version, p.Type)
	if p.Source != "" && p.Source != p.Name {
		s += ", source " + p.Source
	}
	return s + ")"
}

// layerLabel renders "layer 2 (RUN npm install ...)" for messages.
func layerLabel(layer int, createdBy string) string {
	if layer < 0 {
		return "an unknown layer"
	}
	s := fmt.Sprintf("layer %d", layer)
	if createdBy != "" {
		cb := createdBy
		if len(cb) > 80 {
			cb = cb[:77] + "..."
		}
		s += " (" + strings.TrimSpace(cb) + ")"
	}
	return s
}

// typeOrder keeps OS packages before language packages in listings.
var typeOrder = []string{extract.TypeDeb, extract.TypeApk, extract.TypeRPM}

func isOS(typ string) bool { return slices.Contains(typeOrder, typ) }
