// Package sbom writes an image's inventory as a software bill of materials: CycloneDX 1.6 JSON
// (with the vulnerabilities found) and SPDX 2.3 JSON. Every package carries its package URL and
// the layer that installed it, as properties (CycloneDX) or source information (SPDX).
package sbom

import (
	"crypto/sha256"
	"fmt"
	"time"

	"redoubt.dev/redoubt/internal/image"
)

// Options describe the document's producer.
type Options struct {
	ToolVersion string
	// Now is the document's creation time; zero means the current time.
	Now time.Time
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now().UTC()
	}
	return o.Now.UTC()
}

// uuid derives a stable version-5-style UUID from the inputs, so the same image scanned at the
// same moment gets the same document identity.
func uuid(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)[:16]
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func layerOf(rep *image.Report, i int) image.Layer {
	if i >= 0 && i < len(rep.Layers) {
		return rep.Layers[i]
	}
	return image.Layer{Index: i}
}
