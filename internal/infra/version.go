package infra

import (
	"fmt"
	"path"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/releases"
)

// controlPlaneVersion is the control plane's version and what names it: the API server's own
// answer for a live cluster, or the image tag of a kube-apiserver static pod for manifests and
// nodes.
type controlPlaneVersion struct {
	version  releases.Version
	source   string
	resource finding.Resource
	location finding.Location
}

func (c *Context) controlPlaneVersions() []controlPlaneVersion {
	s := c.Snapshot
	if s.Source.Kind == inventory.SourceCluster && s.Source.ServerVersion != "" {
		v, err := releases.ParseVersion(s.Source.ServerVersion)
		if err != nil {
			return nil
		}
		return []controlPlaneVersion{{version: v, source: "the API server reports " + s.Source.ServerVersion,
			resource: finding.Resource{Cluster: s.Source.Cluster, Name: controlplane.APIServer}}}
	}
	var out []controlPlaneVersion
	for _, inst := range c.Instances {
		if inst.Component != controlplane.APIServer || inst.Image == "" {
			continue
		}
		tag := imageTag(inst.Image)
		v, err := releases.ParseVersion(tag)
		if err != nil {
			continue
		}
		out = append(out, controlPlaneVersion{version: v, source: fmt.Sprintf("%s runs image %s", inst.Describe(), inst.Image),
			resource: inst.Resource, location: inst.Location})
	}
	return out
}

func imageTag(image string) string {
	if at := strings.IndexByte(image, '@'); at >= 0 {
		image = image[:at]
	}
	if colon := strings.LastIndexByte(image, ':'); colon > strings.LastIndexByte(image, '/') {
		return image[colon+1:]
	}
	return path.Base(image)
}

// kubernetesVersionUnsupported forbids a control plane on a Kubernetes minor the project no
// longer maintains: the three newest minors get security fixes, older ones none. The release
// calendar (embedded, refreshed by `redoubt db update`) says which those are; a minor newer than
// the calendar knows is not judged.
var kubernetesVersionUnsupported = registerCluster(finding.Rule{
	ID:          "kubernetes-version-unsupported",
	Title:       "Kubernetes version no longer maintained",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Critical,
	References:  []string{"k8s:version-skew-policy", "nsa:kubernetes-hardening:upgrading"},
	Description: "The control plane runs a Kubernetes minor release outside the three the project maintains: vulnerabilities found since its end of maintenance are not fixed, and will not be.",
	Remediation: "Upgrade the control plane one minor at a time to a maintained release (then the kubelets), following the version-skew policy.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	var out []finding.Finding
	for _, cv := range c.controlPlaneVersions() {
		s := c.Calendar.Assess(cv.version, c.Now)
		if s.Supported || s.Newer {
			continue
		}
		f := rule.New(cv.resource, cv.location,
			fmt.Sprintf("Kubernetes %s (%s) is not maintained: %s", cv.version, cv.source, s.Reason))
		f.Evidence = map[string]any{"version": cv.version.Raw, "newest": c.Calendar.Newest().LatestPatch, "calendar": c.Calendar.Generated.String()}
		out = append(out, f)
	}
	return out
})

// kubernetesPatchOutdated asks for the newest patch release of the control plane's minor: patch
// releases carry the security fixes, and one behind is one fix missing.
var kubernetesPatchOutdated = registerCluster(finding.Rule{
	ID:          "kubernetes-patch-outdated",
	Title:       "Kubernetes patch release behind",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Medium,
	References:  []string{"k8s:patch-releases"},
	Description: "The control plane does not run the newest patch release of its minor that the release calendar knows. Patch releases carry security fixes.",
	Remediation: "Upgrade the control plane to the newest patch release of its minor (a patch upgrade needs no API migration), then the kubelets.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	var out []finding.Finding
	for _, cv := range c.controlPlaneVersions() {
		s := c.Calendar.Assess(cv.version, c.Now)
		if !s.Known || s.Latest || cv.version.Patch < 0 {
			continue
		}
		f := rule.New(cv.resource, cv.location,
			fmt.Sprintf("Kubernetes %s (%s) is behind %s, released %s", cv.version, cv.source, s.Release.LatestPatch, s.Release.LatestPatchReleased))
		f.Evidence = map[string]any{"version": cv.version.Raw, "latestPatch": s.Release.LatestPatch, "calendar": c.Calendar.Generated.String()}
		out = append(out, f)
	}
	return out
})

// releaseCalendarStale reports a release calendar older than the policy allows
// (kubernetes.releaseCalendarMaxAge, default 60 days): it no longer knows the newest patches and
// minors, so version checks may pass a cluster that is behind.
var releaseCalendarStale = registerCluster(finding.Rule{
	ID:          "release-calendar-stale",
	Title:       "Kubernetes release calendar is old",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Info,
	References:  []string{"redoubt:release-calendar"},
	Description: "The Kubernetes release calendar Redoubt judges versions with is older than the configured maximum age: newer patch and minor releases are unknown to it.",
	Remediation: "Run `redoubt db update`, or update Redoubt, or raise kubernetes.releaseCalendarMaxAge in .redoubt.yaml.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	if c.Snapshot.Source.Kind == inventory.SourceManifests && len(c.controlPlaneVersions()) == 0 {
		return nil // no version to judge
	}
	maxAge := c.Config.ReleaseCalendarMaxAge
	if maxAge <= 0 {
		return nil
	}
	age := c.Calendar.Age(c.Now)
	if age <= maxAge {
		return nil
	}
	f := rule.New(finding.Resource{Cluster: c.Snapshot.Source.Cluster, Kind: "", Name: "release-calendar"},
		finding.Location{File: originFile(c.Calendar)},
		fmt.Sprintf("the Kubernetes release calendar (%s) was generated %s, %d days ago; the limit is %d days",
			c.Calendar.Origin, c.Calendar.Generated, int(age.Hours()/24), int(maxAge.Hours()/24)))
	f.Evidence = map[string]any{"generated": c.Calendar.Generated.String(), "origin": c.Calendar.Origin}
	return []finding.Finding{f}
})

func originFile(c *releases.Calendar) string {
	if c.Origin == "embedded" {
		return ""
	}
	return c.Origin
}
