package imagescan

import (
	"redoubt.dev/redoubt/internal/finding"
)

// image-component-deleted-not-uninstalled: a tool's file (one of the unnecessary components)
// was deleted by a later layer (rm, a whiteout), but the package that installed it is still
// registered in the package database. The tool is gone, yet every scanner and SBOM still lists
// the package and its vulnerabilities, and the bytes remain in the lower layer.
var removedComponent = finding.Register(finding.Rule{
	ID:       "image-component-deleted-not-uninstalled",
	Title:    "Tool deleted but its package is still registered",
	Phase:    finding.PhaseBuild,
	Severity: finding.Low,
	Description: "A later layer deleted a tool's file (rm), but its package is still registered: scanners and SBOMs still " +
		"report the package and its vulnerabilities, and the file still ships in the lower layer.",
	Remediation: "Uninstall the package with the package manager in the same RUN instruction that installed it.",
	References:  []string{"redoubt:unnecessary-components"},
})
