package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Transport prefixes of image references that are not in a registry.
const (
	PrefixOCI           = "oci:"
	PrefixDockerArchive = "docker-archive:"
)

// RefNameAnnotation is the OCI layout annotation that names an image in index.json.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// DefaultPlatform is the platform chosen from multi-platform images.
const DefaultPlatform = "linux/amd64"

// SourceOptions say how to reach images.
type SourceOptions struct {
	// Platform picks one image from a multi-platform index ("linux/arm64/v8"); default linux/amd64.
	Platform string
	// Keychain supplies registry credentials; nil means the Docker config file
	// ($DOCKER_CONFIG/config.json, ~/.docker/config.json) and its credential helpers.
	Keychain authn.Keychain
	// Transport is the HTTP transport for registries; nil means the default.
	Transport http.RoundTripper
}

// Image is what a scan reads of an image: its config and its layers. Every v1.Image is one.
type Image interface {
	ConfigFile() (*v1.ConfigFile, error)
	Layers() ([]v1.Layer, error)
}

// Source is an image ready to scan.
type Source struct {
	// Ref is the reference as given.
	Ref string
	// Digest is the manifest digest (for a docker archive, which has no manifest, the image ID:
	// the config's digest).
	Digest      string
	IndexDigest string
	Platform    string
	Image       Image
	// closer releases what the source holds open (a docker archive's file).
	closer io.Closer
}

// Close releases the files a source holds open.
func (s *Source) Close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

func (o SourceOptions) platform() (*v1.Platform, error) {
	p := o.Platform
	if p == "" {
		p = DefaultPlatform
	}
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", p, err)
	}
	return plat, nil
}

// Open finds an image: "oci:DIR[:REF]" (an OCI layout, REF matching an
// org.opencontainers.image.ref.name annotation or a digest), "docker-archive:FILE" (docker save
// output), or a registry reference ("host/repo:tag", "host/repo@sha256:...").
// Every error names the image as REF was given, once ("image REF: ..."): callers add no prefix.
func Open(ctx context.Context, ref string, o SourceOptions) (*Source, error) {
	src, err := open(ctx, ref, o)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	return src, nil
}

func open(ctx context.Context, ref string, o SourceOptions) (*Source, error) {
	plat, err := o.platform()
	if err != nil {
		return nil, err
	}
	var src *Source
	switch {
	case strings.HasPrefix(ref, PrefixOCI):
		dir, sel := splitLayoutRef(strings.TrimPrefix(ref, PrefixOCI))
		l, err := OpenLayout(dir)
		if err != nil {
			return nil, err
		}
		src, err = l.Find(sel, plat)
		if err != nil {
			return nil, err
		}
	case strings.HasPrefix(ref, PrefixDockerArchive):
		file := strings.TrimPrefix(ref, PrefixDockerArchive)
		a, err := openDockerArchive(file)
		if err != nil {
			return nil, fmt.Errorf("docker archive %s: %w", file, err)
		}
		src = &Source{Image: a, Digest: a.ID(), closer: a}
	default:
		src, err = openRemote(ctx, ref, plat, o)
		if err != nil {
			return nil, err
		}
	}
	src.Ref = ref
	if src.Platform == "" {
		src.Platform = plat.String()
		if cf, err := src.Image.ConfigFile(); err == nil && cf.OS != "" {
			src.Platform = (&v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}).String()
		}
	}
	if img, ok := src.Image.(v1.Image); ok && src.Digest == "" {
		d, err := img.Digest()
		if err != nil {
			return nil, fmt.Errorf("digest: %w", err)
		}
		src.Digest = d.String()
	}
	return src, nil
}

func openRemote(ctx context.Context, ref string, plat *v1.Platform, o SourceOptions) (*Source, error) {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return nil, fmt.Errorf("not a valid reference: %w", err)
	}
	kc := o.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithPlatform(*plat)}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, err
	}
	src := &Source{}
	if desc.MediaType.IsIndex() {
		src.IndexDigest = desc.Digest.String()
		src.Platform = plat.String()
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("platform %s: %w", plat, err)
	}
	src.Image = img
	return src, nil
}

// splitLayoutRef splits "DIR:REF" where REF may itself contain colons: the directory is the
// longest prefix that holds an index.json.
func splitLayoutRef(s string) (dir, ref string) {
	for i := len(s) - 1; i > 0; i-- {
		if s[i] != ':' {
			continue
		}
		if _, err := os.Stat(filepath.Join(s[:i], "index.json")); err == nil {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// Layout is an OCI image layout directory holding images named by annotations.
type Layout struct {
	dir   string
	path  layout.Path
	index v1.ImageIndex
	descs []v1.Descriptor
}

// OpenLayout reads an OCI layout's index.
func OpenLayout(dir string) (*Layout, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: index.json: %w", dir, err)
	}
	return &Layout{dir: dir, path: p, index: idx, descs: m.Manifests}, nil
}

// ErrNotInLayout is returned when no image in a layout matches a reference.
var ErrNotInLayout = errors.New("not in the OCI layout")

// Names lists the images' ref.name annotations.
func (l *Layout) Names() []string {
	var out []string
	for _, d := range l.descs {
		if n := d.Annotations[RefNameAnnotation]; n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Find picks the image a reference names: the one whose ref.name annotation is the reference
// exactly, or names the same repository and tag, or whose digest the reference pins; with no
// reference, the only image. A multi-platform entry is resolved to plat.
func (l *Layout) Find(ref string, plat *v1.Platform) (*Source, error) {
	src, err := l.find(ref, plat)
	if err != nil {
		return nil, err
	}
	// A reference that pins a digest names exactly one image: an image filed under the same
	// name with another digest is not the one the workload runs, and scanning it would report
	// on the wrong thing.
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		pinned := ref[i+1:]
		if pinned != src.Digest && pinned != src.IndexDigest {
			got := src.Digest
			if src.IndexDigest != "" {
				got = src.IndexDigest
			}
			return nil, fmt.Errorf("image %q pins %s, but OCI layout %s holds %s under that name: it is not the image the workload runs",
				ref, pinned, l.dir, got)
		}
	}
	return src, nil
}

func (l *Layout) find(ref string, plat *v1.Platform) (*Source, error) {
	d, err := l.pick(ref)
	if err != nil {
		return nil, err
	}
	src := &Source{}
	if d.MediaType.IsIndex() {
		child, err := l.index.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("OCI layout %s: %s: %w", l.dir, d.Digest, err)
		}
		im, err := child.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("OCI layout %s: %s: %w", l.dir, d.Digest, err)
		}
		found := false
		for _, c := range im.Manifests {
			if c.Platform != nil && c.Platform.Satisfies(*plat) {
				src.IndexDigest, src.Platform = d.Digest.String(), plat.String()
				d, found = c, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("OCI layout %s: image %q has no %s variant", l.dir, ref, plat)
		}
		img, err := child.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("OCI layout %s: %w", l.dir, err)
		}
		src.Image, src.Digest = img, d.Digest.String()
		return src, nil
	}
	img, err := l.index.Image(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: image %s: %w", l.dir, d.Digest, err)
	}
	src.Image, src.Digest = img, d.Digest.String()
	return src, nil
}

func (l *Layout) pick(ref string) (v1.Descriptor, error) {
	if ref == "" {
		if len(l.descs) == 1 {
			return l.descs[0], nil
		}
		return v1.Descriptor{}, fmt.Errorf("OCI layout %s holds %d images; name one (oci:%s:REF, REF one of %s)",
			l.dir, len(l.descs), l.dir, strings.Join(l.Names(), ", "))
	}
	for _, d := range l.descs {
		if d.Annotations[RefNameAnnotation] == ref || d.Digest.String() == ref {
			return d, nil
		}
	}
	want, err := name.ParseReference(ref, name.WeakValidation)
	if err == nil {
		for _, d := range l.descs {
			n := d.Annotations[RefNameAnnotation]
			if n == "" {
				continue
			}
			got, err := name.ParseReference(n, name.WeakValidation)
			if err == nil && got.Name() == want.Name() {
				return d, nil
			}
		}
		if dg, ok := want.(name.Digest); ok {
			for _, d := range l.descs {
				if d.Digest.String() == dg.DigestStr() {
					return d, nil
				}
			}
		}
	}
	return v1.Descriptor{}, fmt.Errorf("image %q: %w %s", ref, ErrNotInLayout, l.dir)
}
