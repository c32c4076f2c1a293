package image_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
)

// platformImage is a one-layer image whose os-release names its architecture.
func platformImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := fixture.Image(fixture.Layer{Files: []fixture.File{
		{Path: "etc", Type: '5'},
		{Path: "etc/os-release", Body: []byte("ID=alpine\nVERSION_ID=3.20.1\nPRETTY_NAME=\"" + arch + "\"\n")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestMultiPlatform: an index is resolved to the platform asked for, from a registry and from an
// OCI layout, and the index digest is kept beside the image's.
func TestMultiPlatform(t *testing.T) {
	amd, arm := platformImage(t, "amd64"), platformImage(t, "arm64")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	idxDigest, _ := idx.Digest()

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/multi/app:1"
	tag, _ := name.NewTag(ref)
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "oci")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{image.RefNameAnnotation: "multi/app:1"})); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{ref, "oci:" + dir + ":multi/app:1"} {
		for platform, want := range map[string]v1.Image{"": amd, "linux/amd64": amd, "linux/arm64": arm, "linux/arm64/v8": arm} {
			src, err := image.Open(context.Background(), r, image.SourceOptions{Platform: platform})
			if err != nil {
				t.Fatalf("%s --platform %q: %v", r, platform, err)
			}
			rep, err := image.Scan(context.Background(), src, image.Options{TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			wd, _ := want.Digest()
			if rep.Digest != wd.String() || rep.IndexDigest != idxDigest.String() {
				t.Errorf("%s --platform %q: digest %s (index %s), want %s (index %s)", r, platform, rep.Digest, rep.IndexDigest, wd, idxDigest)
			}
			cf, _ := want.ConfigFile()
			if rep.Distro == nil || rep.Distro.PrettyName != cf.Architecture {
				t.Errorf("%s --platform %q: scanned %+v", r, platform, rep.Distro)
			}
		}
		if _, err := image.Open(context.Background(), r, image.SourceOptions{Platform: "linux/s390x"}); err == nil {
			t.Errorf("%s: a platform the index lacks was not refused", r)
		}
	}
}

// A reference that pins a digest is found in a layout only as the image with that digest: an
// image filed under the same name with another digest is not the one the workload runs.
func TestLayoutRefusesAnotherDigestUnderThePinnedName(t *testing.T) {
	img := platformImage(t, "amd64")
	digest, _ := img.Digest()
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	const other = "sha256:4032c6d5bfd752342c3e631c2f1de93ba6b86c41db6b167b9a35372c139e7706"
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{image.RefNameAnnotation: "reg.internal/app:1@" + other})); err != nil {
		t.Fatal(err)
	}
	l, err := image.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	plat := &v1.Platform{OS: "linux", Architecture: "amd64"}
	_, err = l.Find("reg.internal/app:1@"+other, plat)
	if err == nil || !strings.Contains(err.Error(), "pins "+other) || !strings.Contains(err.Error(), digest.String()) {
		t.Errorf("mismatched digest: %v", err)
	}
	if src, err := l.Find("reg.internal/app:1@"+digest.String(), plat); err != nil || src.Digest != digest.String() {
		t.Errorf("the pinned digest itself: %v", err)
	}
}

// An image whose source does not say its platform (a single-platform OCI layout entry, as the
// example's images are) reports the platform of its configuration: vulnerability matching
// reads it to leave out records of other platforms.
func TestPlatformFromConfig(t *testing.T) {
	img := platformImage(t, "arm64")
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS = "linux"
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := image.Scan(context.Background(), &image.Source{Ref: "example.test/one:1", Image: img}, image.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Platform != "linux/arm64" {
		t.Errorf("platform %q, want the configuration's linux/arm64", rep.Platform)
	}
}
