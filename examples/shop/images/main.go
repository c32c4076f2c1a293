// Command images builds the OCI layout that holds the example shop's own images, so that
// `redoubt scan examples/shop` shows image findings without any registry: .redoubt.yaml names
// the layout (images.layout: .images), and each image carries the
// org.opencontainers.image.ref.name annotation of the reference the manifests use.
//
// The images are small but real: Debian 12 packages fetched with apt-get download, npm packages
// from the npm registry, Go binaries built against old module versions through the Go module
// proxy (see internal/image/fixture). Downloads are cached outside the repository
// ($REDOUBT_TEST_CACHE, default the user cache's redoubt-test); the layout itself is written to
// examples/shop/.images, which git ignores. Nothing here is committed as a blob.
//
//	go run ./examples/shop/images            # build examples/shop/.images
//	go run ./examples/shop/images -import-db # also load the example's vulnerability data
//
// With -import-db, the real vulnerability data the tests use (Debian records from package
// changelogs, the Go vulnerability database, GHSA records for npm) is imported into the
// vulnerability database directory (--db, default Redoubt's), unless one is already there.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/image/fixture"
	"redoubt.dev/redoubt/internal/vuln"
)

func main() {
	out := flag.String("out", filepath.Join("examples", "shop", ".images"), "OCI layout directory to write")
	importDB := flag.Bool("import-db", false, "also import the example's vulnerability data into the database directory (when it has none)")
	dbDir := flag.String("db", vuln.DefaultDir(), "vulnerability database directory for -import-db")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// Say each download and build as it starts: on a cold cache they take minutes.
	ctx = fixture.WithProgress(ctx, os.Stderr)
	if err := build(ctx, *out); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
	if *importDB {
		if err := loadDB(ctx, *dbDir); err != nil {
			fmt.Fprintln(os.Stderr, "images:", err)
			os.Exit(1)
		}
	}
}

// shopImage is one image of the shop and the references the manifests use for it.
type shopImage struct {
	refs   []string
	layers func(*parts) []fixture.Layer
}

// parts are the real packages the images are made of.
type parts struct {
	base   []*fixture.Deb // base-files, dash, bash, libssl3 (old), curl, libcurl4
	wget   []*fixture.Deb
	npm    []fixture.File
	goBin  []byte
	plainG []byte
}

func (p *parts) baseLayer() fixture.Layer {
	return fixture.Layer{CreatedBy: "ADD debian-12-base.tar /", Files: fixture.DpkgLayer(nil, p.base)}
}

func bin(path string, body []byte) []fixture.File {
	f := []fixture.File{{Path: path, Body: body, Mode: 0o755}}
	return append(fixture.Dirs(f), f...)
}

var shop = []shopImage{
	{refs: []string{"registry.shop.internal/shop/web:2.14.1"},
		layers: func(p *parts) []fixture.Layer {
			return []fixture.Layer{p.baseLayer(),
				{CreatedBy: "RUN npm ci --omit=dev # lodash 4.17.15, minimist 1.2.5", Files: p.npm}}
		}},
	{refs: []string{"registry.shop.internal/shop/api:3.2.0"},
		layers: func(p *parts) []fixture.Layer {
			return []fixture.Layer{p.baseLayer(),
				{CreatedBy: "COPY --from=build /out/api /usr/local/bin/api", Files: bin("usr/local/bin/api", p.goBin)}}
		}},
	{refs: []string{"registry.shop.internal/tools/log-shipper:1.9", "registry.shop.internal/tools/pg-backup:latest"},
		layers: func(p *parts) []fixture.Layer {
			return []fixture.Layer{p.baseLayer(),
				{CreatedBy: "RUN apt-get install -y wget", Files: fixture.DpkgLayer(p.base, p.wget)}}
		}},
	{refs: []string{"registry.shop.internal/library/postgres:16.4", "registry.shop.internal/library/redis:7.2.5"},
		layers: func(p *parts) []fixture.Layer { return []fixture.Layer{p.baseLayer()} }},
	{refs: []string{"registry.shop.internal/prometheus/node-exporter:v1.8.2"},
		layers: func(p *parts) []fixture.Layer {
			return []fixture.Layer{{CreatedBy: "COPY node_exporter /bin/node_exporter", Files: bin("bin/node_exporter", p.plainG)}}
		}},
}

func build(ctx context.Context, out string) error {
	cache, err := fixture.CacheDir()
	if err != nil {
		return err
	}
	p := &parts{}
	fmt.Fprintln(os.Stderr, "fetching Debian packages, npm packages and Go modules (cached in "+cache+"; minutes the first time)...")
	if p.base, err = fixture.FetchDebs(ctx, cache, "base-files", "dash", "bash", "libssl3=oldest", "curl", "libcurl4"); err != nil {
		return err
	}
	if p.wget, err = fixture.FetchDebs(ctx, cache, "wget"); err != nil {
		return err
	}
	if p.npm, err = fixture.NPMInstall(ctx, cache, "srv/web", "lodash@4.17.15", "minimist@1.2.5"); err != nil {
		return err
	}
	if p.goBin, err = fixture.GoBinary(ctx, cache,
		fixture.GoModule{Path: "golang.org/x/text", Version: "v0.3.0", Import: "golang.org/x/text/language"},
		fixture.GoModule{Path: "golang.org/x/net", Version: "v0.0.0-20190620200207-3b0461eec859", Import: "golang.org/x/net/html"}); err != nil {
		return err
	}
	if p.plainG, err = fixture.GoBinary(ctx, cache,
		fixture.GoModule{Path: "golang.org/x/text", Version: "v0.14.0", Import: "golang.org/x/text/language"}); err != nil {
		return err
	}
	tmp := out + ".tmp"
	os.RemoveAll(tmp)
	lp, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	for _, si := range shop {
		img, err := fixture.Image(si.layers(p)...)
		if err != nil {
			return err
		}
		for _, ref := range si.refs {
			if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{image.RefNameAnnotation: ref})); err != nil {
				return err
			}
			d, _ := img.Digest()
			fmt.Fprintf(os.Stderr, "  %s -> %s\n", ref, short(d))
		}
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s; now run: go run ./cmd/redoubt scan examples/shop\n", out)
	return nil
}

func short(d v1.Hash) string { return d.String()[:19] }

func loadDB(ctx context.Context, dir string) error {
	if db, err := vuln.Open(dir); err == nil {
		db.Close()
		fmt.Fprintf(os.Stderr, "a vulnerability database is already in %s; left as it is\n", dir)
		return nil
	} else if !errors.Is(err, vuln.ErrNoDatabase) {
		return err
	}
	cache, err := fixture.CacheDir()
	if err != nil {
		return err
	}
	mirror, err := fixture.VulnMirror(ctx, cache)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "importing the vulnerability data into %s...\n", dir)
	res, err := vuln.Import(ctx, dir, mirror, vuln.UpdateOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "imported %d vulnerabilities into %s\n", res.Status.Vulnerabilities, dir)
	return nil
}
