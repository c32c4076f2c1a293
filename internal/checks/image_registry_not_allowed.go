package checks

import (
	"path"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// imageRegistryNotAllowed forbids images from registries outside the allowlist in the policy
// file (registries.allowed: glob patterns on "host" or "host/repository/path"). With no
// allowlist configured the check is off. A reference without a registry is read as the
// runtime reads it, from its default registry.
var imageRegistryNotAllowed = registerWorkload(finding.Rule{
	ID:          "image-registry-not-allowed",
	Title:       "Image from a registry outside the allowlist",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{"cis:5.5.1", "nsa:kubernetes-hardening:image-provenance"},
	Description: "The image comes from a registry the policy does not trust. Images from unreviewed registries bypass the scanning, signing and provenance controls applied to the approved ones.",
	Remediation: "Mirror the image into an approved registry and reference it there, or add the registry to registries.allowed in .redoubt.yaml after review.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	allowed := c.Config.AllowedRegistries
	if len(allowed) == 0 {
		return
	}
	for ct := range containers(&w.Template.Spec) {
		ref, err := inventory.ParseImageRef(ct.Image)
		if err != nil || registryAllowed(allowed, ref) {
			continue
		}
		from := "registry " + ref.Registry
		if ref.ImplicitRegistry {
			from = "the runtime's default registry (the reference names none)"
		}
		f := e.container(w, ct.Name, "%s %q runs image %q from %s, which is not in registries.allowed",
			ct.Kind, ct.Name, ct.Image, from)
		f.Location.Image = ct.Image
		f.Evidence = map[string]any{"registry": ref.Registry, "implicitRegistry": ref.ImplicitRegistry}
		if ref.ImplicitRegistry {
			f.Evidence["registry"] = ""
		}
	}
})

func registryAllowed(patterns []string, ref inventory.ImageRef) bool {
	full := ref.Registry + "/" + ref.Repository
	for _, p := range patterns {
		p = strings.TrimSuffix(p, "/")
		if ok, _ := path.Match(p, ref.Registry); ok {
			return true
		}
		if ok, _ := path.Match(p, full); ok {
			return true
		}
		// "host/team" allows every repository under it.
		if strings.HasPrefix(full, p+"/") {
			return true
		}
	}
	return false
}
