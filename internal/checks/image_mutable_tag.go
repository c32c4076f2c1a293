package checks

import (
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// imageMutableTag forbids images referenced by the tag "latest" or by no tag at all (which the
// runtime reads as "latest"), unless a digest pins them. Such a reference names whatever was
// pushed last: two pods of the same workload can run different code, and a rollback restores
// nothing.
var imageMutableTag = registerWorkload(finding.Rule{
	ID:          "image-mutable-tag",
	Title:       "Image uses the latest tag",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Medium,
	References:  []string{"cis:5.5.1"},
	Description: "The image is referenced as latest (or with no tag, which means latest), so what runs changes whenever someone pushes: pods of one workload can run different code, scans describe an image that may no longer be the one running, and rollbacks do nothing.",
	Remediation: "Reference a specific version tag, and better, pin the digest: image: repo/app:1.4.2@sha256:...",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	for ct := range containers(&w.Template.Spec) {
		ref, err := inventory.ParseImageRef(ct.Image)
		if err != nil || ref.Digest != "" {
			continue
		}
		switch ref.Tag {
		case "":
			f := e.container(w, ct.Name, "%s %q runs image %q with no tag, which pulls latest", ct.Kind, ct.Name, ct.Image)
			f.Location.Image = ct.Image
		case "latest":
			f := e.container(w, ct.Name, "%s %q runs image %q by the mutable tag latest", ct.Kind, ct.Name, ct.Image)
			f.Location.Image = ct.Image
		}
	}
})
