// Command trivydb converts an osv.dev-style mirror (<Ecosystem>/all.zip, as
// redoubt.dev/redoubt/internal/image/fixture.VulnMirror writes) into the bbolt database trivy
// reads, so that trivy can scan offline from the same vulnerability data as Redoubt in the
// benchmark (internal/image BenchmarkPeers). It is a separate module so that trivy-db never
// enters Redoubt's own.
//
//	go run . -osv ~/.cache/redoubt-test/osv-mirror -out /tmp/trivy-cache
//	trivy image --cache-dir /tmp/trivy-cache --skip-db-update --offline-scan ...
//
// Debian records go to "debian 12" (source package, fixed version), Go and npm records to
// "go::" and "npm::" buckets as vulnerable-version constraints; a record is keyed by its CVE
// when it has exactly one, as trivy's own sources are.
package main

import (
	"archive/zip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/types"
	bolt "go.etcd.io/bbolt"
)

type record struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Summary  string   `json:"summary"`
	Affected []struct {
		Package struct{ Ecosystem, Name string } `json:"package"`
		Ranges  []struct {
			Type   string `json:"type"`
			Events []map[string]string
		} `json:"ranges"`
	} `json:"affected"`
}

func main() {
	osvDir := flag.String("osv", "", "mirror directory with <Ecosystem>/all.zip files")
	out := flag.String("out", "", "trivy cache directory to write db/trivy.db and db/metadata.json into")
	flag.Parse()
	if *osvDir == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "trivydb: -osv and -out are required")
		os.Exit(2)
	}
	if err := run(*osvDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "trivydb:", err)
		os.Exit(1)
	}
}

func run(osvDir, out string) error {
	dbDir := filepath.Join(out, "db")
	if err := os.MkdirAll(dbDir, 0o755); err != nil {
		return err
	}
	os.Remove(filepath.Join(dbDir, "trivy.db"))
	if err := db.Init(dbDir); err != nil {
		return err
	}
	defer db.Close()
	dbc := db.Config{}
	zips, _ := filepath.Glob(filepath.Join(osvDir, "*", "all.zip"))
	n := 0
	err := dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, z := range zips {
			recs, err := readZip(z)
			if err != nil {
				return err
			}
			for _, r := range recs {
				k, err := put(dbc, tx, r)
				if err != nil {
					return fmt.Errorf("%s: %w", r.ID, err)
				}
				n += k
			}
		}
		for bucket, src := range map[string]types.DataSource{
			"debian 12":                         {ID: "debian", Name: "Debian Security Tracker"},
			"go::Go Vulnerability Database":     {ID: "go-vulndb", Name: "The Go Vulnerability Database"},
			"npm::GitHub Security Advisory npm": {ID: "ghsa", Name: "GitHub Security Advisory npm"},
		} {
			if err := dbc.PutDataSource(tx, bucket, src); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	meta, _ := json.Marshal(map[string]any{"Version": db.SchemaVersion, "NextUpdate": now.Add(100 * 365 * 24 * time.Hour),
		"UpdatedAt": now, "DownloadedAt": now})
	fmt.Fprintf(os.Stderr, "wrote %d advisories to %s\n", n, db.Path(dbDir))
	return os.WriteFile(filepath.Join(dbDir, "metadata.json"), meta, 0o644)
}

func readZip(p string) ([]record, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var out []record
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", p, f.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// key names a record as trivy's sources do: by its CVE when it has exactly one.
func key(r record) string {
	var cves []string
	for _, a := range append([]string{r.ID}, r.Aliases...) {
		if strings.HasPrefix(a, "CVE-") {
			cves = append(cves, a)
		}
	}
	if len(cves) == 1 {
		return cves[0]
	}
	return r.ID
}

func put(dbc db.Config, tx *bolt.Tx, r record) (int, error) {
	id := key(r)
	n := 0
	// A record may list one package in several affected entries (one per range): they are
	// one advisory to trivy.
	type bp struct{ bucket, pkg string }
	advs := map[bp]*types.Advisory{}
	var order []bp
	for _, a := range r.Affected {
		var bucket string
		switch {
		case a.Package.Ecosystem == "Debian:12":
			bucket = "debian 12"
		case a.Package.Ecosystem == "Go":
			bucket = "go::Go Vulnerability Database"
		case a.Package.Ecosystem == "npm":
			bucket = "npm::GitHub Security Advisory npm"
		default:
			continue
		}
		k := bp{bucket, a.Package.Name}
		adv := advs[k]
		if adv == nil {
			adv = &types.Advisory{}
			advs[k] = adv
			order = append(order, k)
		}
		for _, rg := range a.Ranges {
			if rg.Type != "ECOSYSTEM" && rg.Type != "SEMVER" {
				continue
			}
			intro := ""
			for _, ev := range rg.Events {
				switch {
				case ev["introduced"] != "":
					intro = ev["introduced"]
				case ev["fixed"] != "":
					if bucket == "debian 12" {
						adv.FixedVersion = ev["fixed"]
					} else {
						adv.VulnerableVersions = append(adv.VulnerableVersions, constraint(intro, "<"+ev["fixed"]))
					}
					intro = ""
				case ev["last_affected"] != "":
					adv.VulnerableVersions = append(adv.VulnerableVersions, constraint(intro, "<="+ev["last_affected"]))
					intro = ""
				}
			}
			if intro != "" && bucket != "debian 12" {
				adv.VulnerableVersions = append(adv.VulnerableVersions, constraint(intro, ""))
			}
		}
	}
	for _, k := range order {
		adv := advs[k]
		if k.bucket == "debian 12" && adv.FixedVersion == "" {
			continue
		}
		if err := dbc.PutAdvisory(tx, []string{k.bucket, k.pkg}, id, *adv); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		if err := dbc.PutVulnerability(tx, id, types.Vulnerability{Title: r.Summary}); err != nil {
			return n, err
		}
	}
	return n, nil
}

func constraint(intro, upper string) string {
	var parts []string
	if intro != "" && intro != "0" {
		parts = append(parts, ">="+intro)
	}
	if upper != "" {
		parts = append(parts, upper)
	}
	if len(parts) == 0 {
		return ">=0"
	}
	return strings.Join(parts, ", ")
}
