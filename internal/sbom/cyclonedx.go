package sbom

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/extract"
)

type cdxBOM struct {
	BOMFormat       string      `json:"bomFormat"`
	SpecVersion     string      `json:"specVersion"`
	SerialNumber    string      `json:"serialNumber"`
	Version         int         `json:"version"`
	Metadata        cdxMetadata `json:"metadata"`
	Components      []cdxComp   `json:"components"`
	Dependencies    []cdxDep    `json:"dependencies,omitempty"`
	Vulnerabilities []cdxVuln   `json:"vulnerabilities,omitempty"`
}

type cdxMetadata struct {
	Timestamp string   `json:"timestamp"`
	Tools     cdxTools `json:"tools"`
	Component cdxComp  `json:"component"`
}

type cdxTools struct {
	Components []cdxComp `json:"components"`
}

type cdxComp struct {
	BOMRef     string    `json:"bom-ref,omitempty"`
	Type       string    `json:"type"`
	Name       string    `json:"name"`
	Version    string    `json:"version,omitempty"`
	PURL       string    `json:"purl,omitempty"`
	Properties []cdxProp `json:"properties,omitempty"`
}

type cdxProp struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxDep struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}

type cdxVuln struct {
	BOMRef         string       `json:"bom-ref"`
	ID             string       `json:"id"`
	Source         cdxSource    `json:"source"`
	References     []cdxVulnRef `json:"references,omitempty"`
	Ratings        []cdxRating  `json:"ratings,omitempty"`
	Description    string       `json:"description,omitempty"`
	Recommendation string       `json:"recommendation,omitempty"`
	Affects        []cdxAffect  `json:"affects"`
}

type cdxVulnRef struct {
	ID     string    `json:"id"`
	Source cdxSource `json:"source"`
}

type cdxSource struct {
	Name string `json:"name"`
}

type cdxRating struct {
	Severity string `json:"severity"`
	Method   string `json:"method,omitempty"`
	Vector   string `json:"vector,omitempty"`
}

type cdxAffect struct {
	Ref string `json:"ref"`
}

// CycloneDX writes one image's packages (and vulnerabilities) as a CycloneDX 1.6 JSON BOM.
func CycloneDX(w io.Writer, rep *image.Report, o Options) error {
	now := o.now()
	imageRef := "image:" + rep.Digest
	bom := cdxBOM{
		BOMFormat: "CycloneDX", SpecVersion: "1.6", Version: 1,
		SerialNumber: "urn:uuid:" + uuid(rep.Digest, rep.Ref, now.Format(time.RFC3339Nano)),
		Metadata: cdxMetadata{
			Timestamp: now.Format(time.RFC3339),
			Tools:     cdxTools{Components: []cdxComp{{Type: "application", Name: "redoubt", Version: o.ToolVersion}}},
			Component: cdxComp{BOMRef: imageRef, Type: "container", Name: rep.Ref, Version: rep.Digest,
				Properties: imageProps(rep)},
		},
		Components: []cdxComp{},
	}
	dep := cdxDep{Ref: imageRef, DependsOn: []string{}}
	if d := rep.Distro; d != nil {
		ref := "os:" + d.ID + "@" + d.VersionID
		bom.Components = append(bom.Components, cdxComp{BOMRef: ref, Type: "operating-system", Name: d.ID, Version: d.VersionID})
		dep.DependsOn = append(dep.DependsOn, ref)
	}
	refs := make([]string, len(rep.Packages))
	for i := range rep.Packages {
		p := &rep.Packages[i]
		refs[i] = fmt.Sprintf("pkg:%d:%s", i, p.PURL)
		l := layerOf(rep, p.Layer)
		props := []cdxProp{
			{"redoubt:package:type", p.Type},
			{"redoubt:package:path", p.Path},
			{"redoubt:layer:index", strconv.Itoa(p.Layer)},
			{"redoubt:layer:diffID", l.DiffID},
		}
		if l.CreatedBy != "" {
			props = append(props, cdxProp{"redoubt:layer:createdBy", l.CreatedBy})
		}
		if p.Source != "" && p.Source != p.Name {
			props = append(props, cdxProp{"redoubt:package:source", p.Source}, cdxProp{"redoubt:package:sourceVersion", p.SourceVersion})
		}
		bom.Components = append(bom.Components, cdxComp{BOMRef: refs[i], Type: componentType(p), Name: p.Name,
			Version: p.Version, PURL: p.PURL, Properties: props})
		dep.DependsOn = append(dep.DependsOn, refs[i])
	}
	bom.Dependencies = []cdxDep{dep}
	for i, v := range rep.Vulnerabilities {
		p := &rep.Packages[v.Package]
		cv := cdxVuln{BOMRef: fmt.Sprintf("vuln:%d:%s", i, v.ID), ID: v.ID, Source: cdxSource{Name: sourceOf(v.ID)},
			Description: v.Summary, Affects: []cdxAffect{{Ref: refs[v.Package]}}}
		for _, a := range v.Aliases {
			cv.References = append(cv.References, cdxVulnRef{ID: a, Source: cdxSource{Name: sourceOf(a)}})
		}
		r := cdxRating{Severity: v.Severity.String()}
		if v.CVSS != "" {
			r.Vector = v.CVSS
			switch {
			case strings.HasPrefix(v.CVSS, "CVSS:3.1"):
				r.Method = "CVSSv31"
			case strings.HasPrefix(v.CVSS, "CVSS:3.0"):
				r.Method = "CVSSv3"
			case strings.HasPrefix(v.CVSS, "CVSS:4"):
				r.Method = "CVSSv4"
			default:
				r.Method = "CVSSv2"
			}
		}
		cv.Ratings = []cdxRating{r}
		if v.Fixed != "" {
			cv.Recommendation = fmt.Sprintf("Upgrade %s to %s or later", p.MatchName(), v.Fixed)
		}
		bom.Vulnerabilities = append(bom.Vulnerabilities, cv)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(bom)
}

func imageProps(rep *image.Report) []cdxProp {
	props := []cdxProp{{"redoubt:image:digest", rep.Digest}}
	if rep.Platform != "" {
		props = append(props, cdxProp{"redoubt:image:platform", rep.Platform})
	}
	for _, l := range rep.Layers {
		props = append(props, cdxProp{fmt.Sprintf("redoubt:layer:%d:diffID", l.Index), l.DiffID})
	}
	return props
}

func componentType(p *image.Package) string {
	switch p.Type {
	case extract.TypeGo, extract.TypeCargo:
		if p.Name == "stdlib" {
			return "framework"
		}
	}
	return "library"
}

// sourceOf names the database a vulnerability ID comes from.
func sourceOf(id string) string {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return "NVD"
	case strings.HasPrefix(id, "GHSA-"):
		return "GitHub"
	case strings.HasPrefix(id, "GO-"):
		return "Go"
	case strings.HasPrefix(id, "DSA-"), strings.HasPrefix(id, "DLA-"), strings.HasPrefix(id, "DEBIAN-"):
		return "Debian"
	case strings.HasPrefix(id, "RUSTSEC-"):
		return "RustSec"
	}
	return "OSV"
}
