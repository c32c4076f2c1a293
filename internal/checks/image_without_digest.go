package checks

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// imageWithoutDigest requires every image reference to pin a digest (@sha256:...). Tags can be
// moved by anyone who can push to the repository, so a tag alone does not say what runs.
// References by latest or no tag are reported by image-mutable-tag instead.
var imageWithoutDigest = registerWorkload(finding.Rule{
	ID:          "image-without-digest",
	Title:       "Image not pinned by digest",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"cis:5.5.1", "slsa:provenance"},
	Description: "The image is referenced by tag only. Tags are mutable: anyone who can push to the repository can change what this workload runs at its next restart, without a change to its manifest.",
	Remediation: "Pin the digest next to the tag (repo/app:1.4.2@sha256:...), and let a bot such as Renovate update both.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	for ct := range containers(&w.Template.Spec) {
		ref, err := inventory.ParseImageRef(ct.Image)
		if err != nil || ref.Digest != "" || ref.Tag == "" || ref.Tag == "latest" {
			continue
		}
		f := e.container(w, ct.Name, "%s %q runs image %q without a digest", ct.Kind, ct.Name, ct.Image)
		f.Location.Image = ct.Image
	}
})
