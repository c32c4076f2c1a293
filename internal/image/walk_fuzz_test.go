package image

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"

	"redoubt.dev/redoubt/internal/image/extract"
)

// FuzzWalk feeds arbitrary bytes to the tar walker as one layer's uncompressed stream, stacks
// the result as the final filesystem and looks for components: it may fail, but must never
// panic, hang or write outside its temporary directory.
func FuzzWalk(f *testing.F) {
	var seed bytes.Buffer
	tw := tar.NewWriter(&seed)
	add := func(name, body string, mode int64) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	add("etc/os-release", "ID=alpine\nVERSION_ID=3.20.1\n", 0o644)
	add("lib/apk/db/installed", "P:busybox\nV:1.36.1-r29\nA:x86_64\no:busybox\nF:bin\nR:busybox\nR:sh\n\n", 0o644)
	tw.WriteHeader(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"})
	tw.WriteHeader(&tar.Header{Name: "usr", Typeflag: tar.TypeSymlink, Linkname: "../.."})
	add("usr/.wh.bin", "", 0o644)
	add("x/.wh..wh..opq", "", 0o644)
	tw.WriteHeader(&tar.Header{Name: "y", Typeflag: tar.TypeLink, Linkname: "lib/apk/db/installed"})
	tw.Close()
	f.Add(seed.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits
		lim.MaxEntries = 10_000
		lim.MaxLayerBytes = 16 << 20
		lim.MaxInMemory = 1 << 20
		tmp := t.TempDir()
		w := &walker{exs: extract.All(extract.Options{KeepOwned: watchComponent, TempDir: tmp}), lim: lim, tempDir: tmp}
		lr, err := w.walk(context.Background(), &meter{r: bytes.NewReader(data), lim: lim})
		if err != nil {
			return
		}
		rep := &Report{Layers: []Layer{{}, {}}}
		assemble(rep, []*layerResult{lr, lr})
	})
}
