package checks

import (
	"path"
	"regexp"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// imageFloatingTag forbids image tags that name a line of releases rather than one release:
// redis:alpine, node:20, golang:1.25, debian:stable. Such a tag moves to every new release it
// covers, so it is as mutable as latest: pods of one workload run different code after a
// reschedule, and a scan describes an image that may no longer be the one running.
//
// It reads each container's image reference (containers, init and ephemeral containers). A tag
// is a full version when it opens with images.floatingTags.versionParts numeric parts
// (default 3: 1.25.3, v1.8.2, 1.25.3-alpine, 2024.06.01), or names a commit (7 to 40 hex
// digits, as CI systems tag builds: sha-1a2b3c4, 1a2b3c4d). References pinned by a digest, and
// those images.floatingTags.allow matches (globs on the reference), are never reported;
// latest and no tag are image-mutable-tag's. versionParts: 0 turns the check off.
var imageFloatingTag = registerWorkload(finding.Rule{
	ID:       "image-floating-tag",
	Title:    "Image uses a floating tag",
	Phase:    finding.PhaseDeploy,
	Severity: finding.Low,
	Description: "The image tag names a line of releases (alpine, 20, 1.25, stable), not one release, so it moves whenever a newer " +
		"release of that line is pushed: it is as mutable as latest. Pods of one workload can run different code, and scans " +
		"describe an image that may no longer be the one running.",
	Remediation: "Reference a full version (redis:7.2.5-alpine, node:20.18.1), and better, pin the digest beside it. If a " +
		"repository's releases really have fewer parts (postgres:16.4), list it in images.floatingTags.allow in .redoubt.yaml.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	parts := 0
	var allow []string
	if c.Config != nil {
		parts, allow = c.Config.FloatingTags.VersionParts, c.Config.FloatingTags.Allow
	}
	if parts <= 0 {
		return
	}
	for ct := range containers(&w.Template.Spec) {
		ref, err := inventory.ParseImageRef(ct.Image)
		if err != nil || ref.Digest != "" || ref.Tag == "" || ref.Tag == "latest" {
			continue
		}
		if fullVersion(ref.Tag, parts) || allowedRef(allow, ct.Image) {
			continue
		}
		f := e.container(w, ct.Name, "%s %q runs image %q by the floating tag %q, which is not a full version (%s)",
			ct.Kind, ct.Name, ct.Image, ref.Tag, versionExample(parts))
		f.Location.Image = ct.Image
	}
})

var (
	leadingNumbers = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)*`)
	commitTag      = regexp.MustCompile(`(^|[-_.])(sha-|g)?[0-9a-f]{7,40}($|[-_.])`)
)

// fullVersion reports whether a tag names one release: it opens with at least parts numeric
// parts (followed by nothing or a separator, so 1.2.3 counts and 1.2.3rc1 does not hide a
// fourth), or it names a commit.
func fullVersion(tag string, parts int) bool {
	if m := leadingNumbers.FindString(tag); m != "" {
		rest := tag[len(m):]
		if strings.Count(m, ".")+1 >= parts && (rest == "" || strings.ContainsAny(rest[:1], "-+_")) {
			return true
		}
	}
	if m := commitTag.FindString(strings.ToLower(tag)); m != "" {
		// A run of hex digits is a commit only if it mixes digits and letters: 20240601 is a
		// date, and "deadbeef" a word.
		hex := strings.Trim(m, "-_.")
		hex = strings.TrimPrefix(strings.TrimPrefix(hex, "sha-"), "g")
		return strings.ContainsAny(hex, "0123456789") && strings.ContainsAny(hex, "abcdef")
	}
	return false
}

func allowedRef(patterns []string, image string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, image); ok {
			return true
		}
	}
	return false
}

// versionExample shows what a full version looks like with n parts: "such as 1.25.3".
func versionExample(n int) string {
	nums := []string{"1", "25", "3", "0", "0", "0"}
	return "such as " + strings.Join(nums[:min(n, len(nums))], ".")
}
