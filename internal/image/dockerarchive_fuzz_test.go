package image

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDockerArchive feeds arbitrary bytes to the docker archive reader (the outer tar,
// manifest.json and config): it may refuse them, never panic or read outside the file.
func FuzzDockerArchive(f *testing.F) {
	var seed bytes.Buffer
	tw := tar.NewWriter(&seed)
	add := func(name, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	add("config.json", `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}`)
	add("l/layer.tar", "")
	add("manifest.json", `[{"Config":"config.json","Layers":["l/layer.tar"]}]`)
	tw.Close()
	f.Add(seed.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "a.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := openDockerArchive(p)
		if err != nil {
			return
		}
		defer a.Close()
		layers, err := a.Layers()
		if err != nil {
			return
		}
		for _, l := range layers {
			l.Digest()
			if rc, err := l.Uncompressed(); err == nil {
				io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
				rc.Close()
			}
		}
	})
}
