package image_test

import (
	"context"
	"os"
	"testing"

	"redoubt.dev/redoubt/internal/image"
)

func BenchmarkFileArchive(b *testing.B) {
	p := os.Getenv("ARCHIVE")
	if p == "" {
		b.Skip()
	}
	for b.Loop() {
		src, err := image.Open(context.Background(), "docker-archive:"+p, image.SourceOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := image.Scan(context.Background(), src, image.Options{TempDir: b.TempDir()}); err != nil {
			b.Fatal(err)
		}
	}
}
