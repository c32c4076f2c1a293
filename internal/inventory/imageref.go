package inventory

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ImageRef is an image reference taken apart as a container runtime reads it.
type ImageRef struct {
	// Registry is the host (and port) images are pulled from; for references that name none, the
	// runtime's default registry.
	Registry string
	// ImplicitRegistry is true when the reference names no registry.
	ImplicitRegistry bool
	// Repository is the path within the registry.
	Repository string
	// Tag is the tag as written, or "" when the reference has none (the runtime then pulls
	// "latest").
	Tag string
	// Digest is the sha256 digest pinned by the reference, or "".
	Digest string
}

// ParseImageRef parses an image reference as written in a pod spec.
func ParseImageRef(ref string) (ImageRef, error) {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return ImageRef{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	out := ImageRef{Registry: r.Context().RegistryStr(), Repository: r.Context().RepositoryStr()}
	rest := ref
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		out.Digest = rest[at+1:]
		rest = rest[:at]
	}
	first, _, hasSlash := strings.Cut(rest, "/")
	out.ImplicitRegistry = !hasSlash || !(strings.ContainsAny(first, ".:") || first == "localhost")
	if slash := strings.LastIndex(rest, "/"); true {
		if colon := strings.LastIndex(rest, ":"); colon > slash {
			out.Tag = rest[colon+1:]
		}
	}
	return out, nil
}
