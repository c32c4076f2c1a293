package imagescan

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/inventory"
)

func v1Platform(p string) (*v1.Platform, error) {
	if p == "" {
		p = image.DefaultPlatform
	}
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", p, err)
	}
	return plat, nil
}

// Analyze is the build-phase analyzer: the findings of every scanned image, attached to each
// workload container that runs it.
func Analyze(s *inventory.Snapshot) []finding.Finding {
	var out []finding.Finding
	for _, img := range s.Images {
		for _, u := range img.Uses {
			w := u.Workload
			res := finding.Resource{Cluster: s.Source.Cluster, Namespace: w.Namespace, Kind: w.Kind, Name: w.Name, Container: u.Container}
			loc := finding.Location{File: w.Origin.File, Line: w.ContainerLine(u.Container), UID: w.Origin.UID, Image: img.Ref, Digest: img.Digest}
			switch {
			case img.Scan != nil:
				out = append(out, Findings(img.Scan, res, loc)...)
			case img.ScanError != "" && img.ScanError != ErrNoSource.Error():
				// Errors of the image package name the image already: say it once.
				why := strings.TrimPrefix(img.ScanError, "image "+img.Ref+": ")
				f := notScanned.New(res, loc, fmt.Sprintf("image %s could not be scanned: %s", img.Ref, why))
				f.Evidence = map[string]any{"image": img.Ref, "error": img.ScanError}
				out = append(out, f)
			}
		}
	}
	return out
}

// Findings turns one image's report into findings about res (a workload container, or the
// image itself). base carries the resource's own location (a manifest's file and line); the
// image, digest and layer are filled in per finding.
func Findings(rep *image.Report, res finding.Resource, base finding.Location) []finding.Finding {
	var out []finding.Finding
	loc := func(layer int, layerID, createdBy string) finding.Location {
		l := base
		if l.Image == "" {
			l.Image = rep.Ref
		}
		// The digest users pin and VEX statements name is the index's for a multi-platform
		// image; the platform's own manifest digest is in the image report.
		l.Digest = rep.Digest
		if rep.IndexDigest != "" {
			l.Digest = rep.IndexDigest
		}
		if layer >= 0 {
			n := layer
			l.Layer, l.LayerID, l.CreatedBy = &n, layerID, createdBy
		}
		return l
	}
	for _, v := range rep.Vulnerabilities {
		p := &rep.Packages[v.Package]
		out = append(out, vulnerabilityFinding(rep, p, v, res, loc(p.Layer, p.LayerID, p.CreatedBy)))
	}
	for i := range rep.Components {
		c := &rep.Components[i]
		out = append(out, componentFinding(rep, c, res, loc(c.Layer, c.LayerID, c.CreatedBy)))
	}
	return out
}
