package imagescan

import (
	"redoubt.dev/redoubt/internal/finding"
)

// image-not-scanned: an image a workload runs could not be scanned (the registry refused or
// could not be reached, the image was malformed or broke a safety limit), so its packages,
// vulnerabilities and components are unknown. Reported so that an unscanned image is never
// mistaken for a clean one.
var notScanned = finding.Register(finding.Rule{
	ID:       "image-not-scanned",
	Title:    "Image could not be scanned",
	Phase:    finding.PhaseBuild,
	Severity: finding.Info,
	Description: "An image a workload runs could not be scanned, so nothing is known about its packages and " +
		"vulnerabilities: an unscanned image is not a clean one.",
	Remediation: "Make the image reachable (registry credentials in the Docker config or, in a cluster, --pull-secrets), " +
		"or provide it in an OCI layout with --images DIR.",
	References: []string{"redoubt:image-vulnerabilities"},
})
