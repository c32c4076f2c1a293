package sbom

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"redoubt.dev/redoubt/internal/image"
)

type spdxDoc struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      spdxCreation   `json:"creationInfo"`
	DocumentDescribes []string       `json:"documentDescribes"`
	Packages          []spdxPackage  `json:"packages"`
	Relationships     []spdxRelation `json:"relationships"`
}

type spdxCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	SPDXID                string         `json:"SPDXID"`
	Name                  string         `json:"name"`
	VersionInfo           string         `json:"versionInfo,omitempty"`
	DownloadLocation      string         `json:"downloadLocation"`
	FilesAnalyzed         bool           `json:"filesAnalyzed"`
	LicenseConcluded      string         `json:"licenseConcluded"`
	LicenseDeclared       string         `json:"licenseDeclared"`
	CopyrightText         string         `json:"copyrightText"`
	SourceInfo            string         `json:"sourceInfo,omitempty"`
	PrimaryPackagePurpose string         `json:"primaryPackagePurpose,omitempty"`
	ExternalRefs          []spdxExtRef   `json:"externalRefs,omitempty"`
	Checksums             []spdxChecksum `json:"checksums,omitempty"`
}

type spdxExtRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxChecksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type spdxRelation struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

var spdxIDChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// SPDX writes one image's packages as an SPDX 2.3 JSON document.
func SPDX(w io.Writer, rep *image.Report, o Options) error {
	now := o.now()
	const noAssertion = "NOASSERTION"
	name := strings.NewReplacer("/", "-", ":", "-", "@", "-").Replace(rep.Ref)
	doc := spdxDoc{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", Name: rep.Ref,
		DocumentNamespace: fmt.Sprintf("https://redoubt.dev/spdx/%s-%s", name, uuid(rep.Digest, now.Format(time.RFC3339Nano))),
		CreationInfo: spdxCreation{Created: now.Format("2006-01-02T15:04:05Z"),
			Creators: []string{"Tool: redoubt-" + o.ToolVersion}},
		DocumentDescribes: []string{"SPDXRef-Image"},
	}
	img := spdxPackage{SPDXID: "SPDXRef-Image", Name: rep.Ref, VersionInfo: rep.Digest, DownloadLocation: noAssertion,
		LicenseConcluded: noAssertion, LicenseDeclared: noAssertion, CopyrightText: noAssertion, PrimaryPackagePurpose: "CONTAINER"}
	if alg, hex, ok := strings.Cut(rep.Digest, ":"); ok && alg == "sha256" {
		img.Checksums = []spdxChecksum{{Algorithm: "SHA256", ChecksumValue: hex}}
	}
	doc.Packages = append(doc.Packages, img)
	doc.Relationships = append(doc.Relationships, spdxRelation{"SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"})
	if d := rep.Distro; d != nil {
		doc.Packages = append(doc.Packages, spdxPackage{SPDXID: "SPDXRef-OperatingSystem", Name: d.ID, VersionInfo: d.VersionID,
			DownloadLocation: noAssertion, LicenseConcluded: noAssertion, LicenseDeclared: noAssertion, CopyrightText: noAssertion,
			PrimaryPackagePurpose: "OPERATING-SYSTEM"})
		doc.Relationships = append(doc.Relationships, spdxRelation{"SPDXRef-Image", "CONTAINS", "SPDXRef-OperatingSystem"})
	}
	for i := range rep.Packages {
		p := &rep.Packages[i]
		id := fmt.Sprintf("SPDXRef-Package-%d-%s", i, strings.Trim(spdxIDChars.ReplaceAllString(p.Name, "-"), "-"))
		l := layerOf(rep, p.Layer)
		info := fmt.Sprintf("%s package found in /%s, added by layer %d (%s)", p.Type, p.Path, p.Layer, l.DiffID)
		if l.CreatedBy != "" {
			info += ": " + l.CreatedBy
		}
		sp := spdxPackage{SPDXID: id, Name: p.Name, VersionInfo: p.Version, DownloadLocation: noAssertion,
			LicenseConcluded: noAssertion, LicenseDeclared: noAssertion, CopyrightText: noAssertion, SourceInfo: info,
			ExternalRefs: []spdxExtRef{{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: p.PURL}}}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, spdxRelation{"SPDXRef-Image", "CONTAINS", id})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
