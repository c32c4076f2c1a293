package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
)

// imageOf makes an image of raw layer tar streams (each as a function writing the tar).
func imageOf(t *testing.T, layers ...func(*tar.Writer)) v1.Image {
	t.Helper()
	img := empty.Image
	for _, write := range layers {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		write(tw)
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func file(tw *tar.Writer, name, body string, mode int64) {
	tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
}

func scanImage(t *testing.T, img v1.Image, o image.Options) (*image.Report, error) {
	t.Helper()
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	return image.Scan(context.Background(), &image.Source{Ref: "hostile:test", Image: img}, o)
}

// TestHostileLayers feeds layers an attacker would write and checks that the scan stays inside
// the image, says what it refused, and finds what is really there.
func TestHostileLayers(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	img := imageOf(t, func(tw *tar.Writer) {
		file(tw, "../../../../.."+outside, "pwned", 0o644)
		file(tw, "/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", 0o644)
		tw.WriteHeader(&tar.Header{Name: "usr/bin/evil", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../bin/sh"})
		tw.WriteHeader(&tar.Header{Name: "usr/bin/ghost", Typeflag: tar.TypeLink, Linkname: "usr/bin/nothing-here"})
		file(tw, "var/lib/dpkg/status", "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10\n\n", 0o644)
		tw.WriteHeader(&tar.Header{Name: "bin", Typeflag: tar.TypeSymlink, Linkname: "/../../usr/bin"})
		file(tw, "usr/bin/bash", "#!", 0o755)
		// A link loop must not hang resolution.
		tw.WriteHeader(&tar.Header{Name: "usr/bin/sh", Typeflag: tar.TypeSymlink, Linkname: "sh2"})
		tw.WriteHeader(&tar.Header{Name: "usr/bin/sh2", Typeflag: tar.TypeSymlink, Linkname: "sh"})
	})
	rep, err := scanImage(t, img, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a tar entry was written outside the image: %v", err)
	}
	warnings := strings.Join(rep.Warnings, "\n")
	for _, want := range []string{"escapes the image root", "absolute path", `hard link "usr/bin/ghost"`} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings do not mention %q:\n%s", want, warnings)
		}
	}
	if rep.Distro == nil || rep.Distro.ID != "debian" {
		t.Errorf("distro %+v: the absolute /etc/os-release should be read relative to the root", rep.Distro)
	}
	var names []string
	for _, c := range rep.Components {
		names = append(names, c.Name)
	}
	// bin -> /../../usr/bin stays inside the image: bash is found once; the looping sh is not a tool.
	if got := strings.Join(names, ","); got != "bash" {
		t.Errorf("components %q, want bash only", got)
	}
}

// TestDecompressionBomb: a layer that inflates thousands of times is stopped with a message
// naming the image and layer, without reading it all.
func TestDecompressionBomb(t *testing.T) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	const size = 256 << 20
	tw.WriteHeader(&tar.Header{Name: "zeros", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	zero := make([]byte, 1<<20)
	for i := 0; i < size>>20; i++ {
		tw.Write(zero)
	}
	tw.Close()
	zw.Close()
	data := gz.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, _ := mutate.AppendLayers(empty.Image, l)
	lim := image.DefaultLimits
	lim.RatioFloor = 16 << 20
	_, err = scanImage(t, img, image.Options{Limits: lim})
	if err == nil || !strings.Contains(err.Error(), "decompression bomb") || !strings.Contains(err.Error(), "hostile:test: layer 0") {
		t.Fatalf("err = %v, want a decompression bomb error naming the image and layer", err)
	}
	lim = image.DefaultLimits
	lim.MaxLayerBytes = 8 << 20
	if _, err = scanImage(t, img, image.Options{Limits: lim}); err == nil || !strings.Contains(err.Error(), "more than 8388608 bytes uncompressed") {
		t.Fatalf("err = %v, want the layer size limit", err)
	}
}

// TestManyTinyFiles: 100,000 files in one layer are read with bounded memory.
func TestManyTinyFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	img := imageOf(t, func(tw *tar.Writer) {
		for i := range 100_000 {
			file(tw, fmt.Sprintf("data/%03d/f%d", i%1000, i), "x", 0o644)
		}
		file(tw, "usr/lib/node_modules/left-pad/package.json", `{"name":"left-pad","version":"1.3.0"}`, 0o644)
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rep, err := scanImage(t, img, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if len(rep.Packages) != 1 || rep.Packages[0].Name != "left-pad" {
		t.Errorf("packages = %+v", rep.Packages)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 256<<20 {
		t.Errorf("heap grew by %d MiB for 100,000 tiny files", grew>>20)
	}
	lim := image.DefaultLimits
	lim.MaxEntries = 50_000
	if _, err := scanImage(t, img, image.Options{Limits: lim}); err == nil || !strings.Contains(err.Error(), "more than 50000 entries") {
		t.Errorf("err = %v, want the entry limit", err)
	}
}

// TestHugeFileSpooled: a file larger than the in-memory limit is spooled to the temporary
// directory, parsed, and removed.
func TestHugeFileSpooled(t *testing.T) {
	big := strings.Repeat("Package: filler\nStatus: install ok installed\nVersion: 1\n\n", 1)
	big += strings.Repeat("#", 2<<20) + "\n"
	img := imageOf(t, func(tw *tar.Writer) {
		file(tw, "var/lib/dpkg/status", "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\nSource: zlib\n\n"+big, 0o644)
	})
	tmp := t.TempDir()
	lim := image.DefaultLimits
	lim.MaxInMemory = 1 << 20
	rep, err := scanImage(t, img, image.Options{Limits: lim, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Packages) != 2 || rep.Packages[0].Name != "filler" || rep.Packages[1].Name != "zlib1g" {
		t.Errorf("packages %+v, want filler and zlib1g from the spooled status file", rep.Packages)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("spooled files left behind: %v", left)
	}
}

// TestWhiteoutsAndOpaque checks the layer semantics the final filesystem depends on.
func TestWhiteoutsAndOpaque(t *testing.T) {
	layers := []fixture.Layer{
		{Files: []fixture.File{
			{Path: "usr/bin/curl", Body: []byte("x"), Mode: 0o755},
			{Path: "usr/bin/nc", Body: []byte("x"), Mode: 0o755},
			{Path: "opt/tools/bin", Type: '5'},
			{Path: "usr/local/bin/strace", Body: []byte("x"), Mode: 0o755},
			{Path: "app/node_modules/minimist/package.json", Body: []byte(`{"name":"minimist","version":"1.2.5"}`)},
		}},
		{Files: []fixture.File{
			fixture.Whiteout("usr/bin/curl"),
			fixture.Opaque("app/node_modules"),
			{Path: "app/node_modules/minimist/package.json", Body: []byte(`{"name":"minimist","version":"1.2.8"}`)},
			{Path: "usr/local/bin", Type: '5'},
			fixture.Whiteout("usr/local/bin/strace"),
			{Path: "usr/local/bin/strace", Body: []byte("again"), Mode: 0o755}, // re-added in the same layer
		}},
	}
	img, err := fixture.Image(layers...)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := scanImage(t, img, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var comps []string
	for _, c := range rep.Components {
		comps = append(comps, fmt.Sprintf("%s@%d", c.Name, c.Layer))
	}
	if got := strings.Join(comps, ","); got != "nc@0,strace@1" {
		t.Errorf("components %s, want nc@0,strace@1", got)
	}
	if len(rep.Packages) != 1 || rep.Packages[0].Version != "1.2.8" || rep.Packages[0].Layer != 1 {
		t.Errorf("packages %+v, want minimist 1.2.8 from layer 1 only", rep.Packages)
	}
}

// TestWriteThroughLinkedDirectory: a layer that writes bin/curl over a lower bin -> usr/bin link
// (merged /usr) writes into usr/bin, as runtimes do, and the link survives.
func TestWriteThroughLinkedDirectory(t *testing.T) {
	img, err := fixture.Image(
		fixture.Layer{Files: []fixture.File{{Path: "usr", Type: '5'}, {Path: "usr/bin", Type: '5'},
			{Path: "bin", Type: '2', Link: "usr/bin"}, {Path: "usr/bin/dash", Body: []byte("x"), Mode: 0o755}}},
		// No "bin" directory entry: one would replace the link, as runtimes do with a
		// directory entry over a non-directory.
		fixture.Layer{Files: []fixture.File{{Path: "bin/curl", Body: []byte("x"), Mode: 0o755},
			{Path: "bin/node_modules/left-pad/package.json", Body: []byte(`{"name":"left-pad","version":"1.3.0"}`)}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := scanImage(t, img, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var comps []string
	for _, c := range rep.Components {
		comps = append(comps, c.Path)
	}
	if got := strings.Join(comps, ","); got != "usr/bin/curl,usr/bin/dash" {
		t.Errorf("components at %s, want usr/bin/curl,usr/bin/dash (the link kept, curl written through it)", got)
	}
	if len(rep.Packages) != 1 || rep.Packages[0].Layer != 1 {
		t.Errorf("packages %+v, want left-pad from layer 1", rep.Packages)
	}
}
