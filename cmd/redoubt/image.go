package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/imagescan"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/cluster"
	"redoubt.dev/redoubt/internal/report"
	"redoubt.dev/redoubt/internal/sbom"
	"redoubt.dev/redoubt/internal/vuln"
)

// imageFlags are how commands reach and scan images.
type imageFlags struct {
	platform      string
	dbDir         string
	ignoreUnfixed bool
	noCache       bool
	// For `redoubt scan`: where the workloads' images come from.
	layout      string
	pull        bool
	pullSecrets bool
	skip        bool
}

func (f *imageFlags) registerCommon(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.platform, "platform", image.DefaultPlatform, "platform chosen from multi-platform images (os/arch[/variant])")
	fl.StringVar(&f.dbDir, "db-dir", "", "vulnerability database directory (default $REDOUBT_DB_DIR, else the user cache; see redoubt db)")
	hiddenAlias(cmd, "db", "db-dir")
	fl.BoolVar(&f.ignoreUnfixed, "ignore-unfixed", false, "leave out vulnerabilities that no released version fixes yet")
	fl.BoolVar(&f.noCache, "no-layer-cache", false, "read every layer even if an identical one was scanned before")
}

// registerScan adds the image flags of `redoubt scan`.
func (f *imageFlags) registerScan(cmd *cobra.Command) {
	f.registerCommon(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.layout, "images", "", "OCI layout directory holding the workloads' images, named by org.opencontainers.image.ref.name annotations (default the policy file's images.layout)")
	fl.BoolVar(&f.pull, "pull", false, "fetch images that are not in --images from their registries (credentials from the Docker config file)")
	fl.BoolVar(&f.pullSecrets, "pull-secrets", false, "live cluster: also use the workloads' image pull secrets (reads those Secrets' values; implies --pull)")
	fl.BoolVar(&f.skip, "skip-images", false, "do not scan images: deploy-phase checks only")
}

// cache opens the layer cache (nil when disabled or impossible: scanning still works).
func (f *imageFlags) cache(cmd *cobra.Command) *image.Cache {
	if f.noCache {
		return nil
	}
	dir, err := image.DefaultCacheDir()
	if err == nil {
		var c *image.Cache
		if c, err = image.OpenCache(dir); err == nil {
			return c
		}
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "warning: no layer cache:", err)
	return nil
}

// openDB opens the vulnerability database; without one, it says how to get one and scans go on
// without vulnerability matching.
func (f *imageFlags) openDB(cmd *cobra.Command, cfg *config.Config) *vuln.DB {
	dir := f.dbDir
	if dir == "" {
		dir = vuln.DefaultDir()
	}
	db, err := vuln.Open(dir)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v; vulnerabilities are not reported\n", err)
		return nil
	}
	if st := db.Status(); cfg != nil && cfg.MaxDatabaseAge > 0 && st.Age > cfg.MaxDatabaseAge {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: the vulnerability database in %s is %s old (more than %s): run `redoubt db update`\n",
			dir, st.Age.Round(time.Hour), cfg.MaxDatabaseAge)
	}
	return db
}

func (f *imageFlags) scanOptions(cmd *cobra.Command) image.Options {
	o := image.Options{Cache: f.cache(cmd)}
	if isTerminal(cmd.ErrOrStderr()) {
		o.Progress = &image.TerminalProgress{W: cmd.ErrOrStderr()}
	}
	return o
}

// scanImages scans the snapshot's images before the audit, as the flags and policy say.
func scanImages(cmd *cobra.Command, snap *inventory.Snapshot, cfg *config.Config, f *imageFlags, src *sourceFlags) {
	if f.skip || len(snap.Images) == 0 {
		return
	}
	stderr := cmd.ErrOrStderr()
	layoutDir := f.layout
	if layoutDir == "" {
		layoutDir = cfg.ImageLayout
	}
	pull := f.pull || f.pullSecrets || cfg.PullImages
	o := imagescan.ScanOptions{Pull: pull, Source: image.SourceOptions{Platform: f.platform},
		Match: imagescan.MatchOptions{IgnoreUnfixed: f.ignoreUnfixed}}
	if layoutDir != "" {
		l, err := image.OpenLayout(layoutDir)
		switch {
		case err == nil:
			o.Layout = l
		case errors.Is(err, os.ErrNotExist) && f.layout == "":
			fmt.Fprintf(stderr, "note: the image layout %s named by %s is absent, so images are not scanned; build it (the example's: go run ./examples/shop/images)\n", layoutDir, cfg.File)
		default:
			fmt.Fprintf(stderr, "warning: %v; images are not scanned from it\n", err)
		}
	}
	if o.Layout == nil && !pull {
		if layoutDir == "" {
			fmt.Fprintln(stderr, "note: images are not scanned: give --images DIR (an OCI layout) or --pull")
		}
		return
	}
	if f.pullSecrets && snap.Source.Kind == inventory.SourceCluster {
		kc, problems := pullSecretKeychain(cmd.Context(), snap, src)
		if kc != nil {
			o.Source.Keychain = kc
		}
		for _, p := range problems {
			fmt.Fprintln(stderr, "warning:", p)
		}
	}
	if db := f.openDB(cmd, cfg); db != nil {
		defer db.Close()
		o.DB = db
	}
	o.Scan = f.scanOptions(cmd)
	if isTerminal(stderr) {
		o.Log = stderr
	}
	imagescan.ScanSnapshot(cmd.Context(), snap, o)
	var scanned, failed int
	var absent []string
	for _, img := range snap.Images {
		switch {
		case img.Scan != nil:
			scanned++
		case img.ScanError == imagescan.ErrNoSource.Error():
			absent = append(absent, img.Ref)
		default:
			failed++
		}
	}
	msg := fmt.Sprintf("images: %d scanned", scanned)
	if failed > 0 {
		msg += fmt.Sprintf(", %d could not be scanned (see image-not-scanned findings)", failed)
	}
	if len(absent) > 0 {
		msg += fmt.Sprintf(", %d not in the layout and not pulled (%s; --pull fetches them)", len(absent), strings.Join(absent, ", "))
	}
	fmt.Fprintln(stderr, msg)
}

// pullSecretKeychain reads the workloads' image pull secrets from the cluster the source flags
// name.
func pullSecretKeychain(ctx context.Context, snap *inventory.Snapshot, src *sourceFlags) (authn.Keychain, []string) {
	conn, err := cluster.Connect(cluster.Target{Kubeconfig: src.kubeconfig, Context: src.context, Namespace: src.namespace})
	if err != nil {
		return nil, []string{fmt.Sprintf("pull secrets: %v", err)}
	}
	client, err := kubernetes.NewForConfig(conn.Config)
	if err != nil {
		return nil, []string{fmt.Sprintf("pull secrets: %v", err)}
	}
	return imagescan.PullSecretKeychain(ctx, client, snap)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Scan container images: packages by layer, vulnerabilities, unnecessary tools, SBOMs",
	}
	cmd.AddCommand(newImageScanCmd())
	return cmd
}

type imageScanFlags struct {
	images         imageFlags
	format         string
	output         string
	failOn         string
	severity       string
	checks         []string
	configFile     string
	vex            []string
	showSuppressed bool
	noColor        bool
}

var imageFormats = []string{"table", "json", "sarif", "cyclonedx", "spdx"}

func newImageScanCmd() *cobra.Command {
	f := &imageScanFlags{}
	cmd := &cobra.Command{
		Use:   "scan REF...",
		Short: "Scan images for vulnerable packages and unnecessary components",
		Long: `Scan images: list their packages (OS and language) with the layer that added
each, match them against the vulnerability database, and report shells, package
managers, network tools, debuggers and compilers left in the final filesystem.

REF is a registry reference (host/repo:tag or host/repo@sha256:..., credentials
from the Docker config file), oci:DIR[:REF] (an OCI layout; REF matches an
org.opencontainers.image.ref.name annotation or a digest), or
docker-archive:FILE (docker save output). Multi-platform images are resolved to
--platform.

Layers are read once, streaming, and their results cached by diff ID in
$REDOUBT_CACHE_DIR (default the user cache directory's redoubt): a layer shared
by many images is read once.

--format cyclonedx (CycloneDX 1.6) and spdx (SPDX 2.3) write an SBOM of one
image with package URLs and layers instead of findings.`,
		Example: `  redoubt image scan registry.example/shop/web:2.14.1 --fail-on high
  redoubt image scan oci:build/layout:shop/api:3.2.0 --ignore-unfixed --severity critical,high
  redoubt image scan docker-archive:web.tar --format cyclonedx -o web.cdx.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runImageScan(cmd, args, f) },
	}
	f.images.registerCommon(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "table", "output format: "+strings.Join(imageFormats, ", "))
	fl.StringVarP(&f.output, "output", "o", "", "write to this file instead of standard output")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 when an unsuppressed finding is at or above this severity: "+finding.SeverityNames+" (unknown, an unrated vulnerability, ranks below low)")
	fl.StringVar(&f.severity, "severity", "", "report only findings of these severities, comma-separated (e.g. critical,high; unknown is an unrated vulnerability)")
	fl.StringArrayVar(&f.checks, "check", nil, "report only findings of this check: an ID or a glob such as 'image-has-*' (repeatable, or comma-separated)")
	fl.StringVar(&f.configFile, "config", "", "policy file with exceptions (default the nearest .redoubt.yaml from the current directory up to the repository root)")
	fl.BoolVar(&f.showSuppressed, "show-suppressed", false, "list suppressed findings in the table too")
	fl.BoolVar(&f.noColor, "no-color", false, "never colour the table")
	addVEXFlag(cmd, &f.vex)
	return cmd
}

// imageDocument is `redoubt image scan --format json`: the findings document of `redoubt scan`
// plus each image's inventory.
type imageDocument struct {
	report.Document
	Images []*image.Report `json:"images"`
}

func runImageScan(cmd *cobra.Command, refs []string, f *imageScanFlags) error {
	if !slices.Contains(imageFormats, f.format) {
		return usageError("--format %q: want one of %s", f.format, strings.Join(imageFormats, ", "))
	}
	sbomFormat := f.format == "cyclonedx" || f.format == "spdx"
	if sbomFormat && len(refs) != 1 {
		return usageError("--format %s describes one image; give one REF", f.format)
	}
	threshold, err := parseFailOn(f.failOn)
	if err != nil {
		return err
	}
	filter, err := parseFilter(f.severity, f.checks)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f.configFile, []string{"."})
	if err != nil {
		return err
	}
	if err := applyVEX(cmd, cfg, f.vex); err != nil {
		return err
	}
	ctx := cmd.Context()
	db := f.images.openDB(cmd, cfg)
	if db != nil {
		defer db.Close()
	}
	so := f.images.scanOptions(cmd)
	var reports []*image.Report
	var problems []inventory.Problem
	var all []finding.Finding
	for _, ref := range refs {
		rep, err := scanOneImage(ctx, ref, f, so, db)
		if err != nil {
			// The error names the image already ("image REF: ..."): no second prefix.
			problems = append(problems, inventory.Problem{Message: err.Error()})
			continue
		}
		for _, w := range rep.Warnings {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: image %s: %s\n", ref, w)
		}
		reports = append(reports, rep)
		all = append(all, imagescan.Findings(rep, finding.Resource{Kind: "Image", Name: ref}, finding.Location{})...)
	}
	for _, e := range finding.Suppress(all, cfg.Exceptions, finding.Today(time.Now())) {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: exception at %s expired on %s and no longer applies\n", e.Where(), e.Expires.Format(time.DateOnly))
	}
	all = filter.Apply(all)
	finding.Sort(all)
	res := &audit.Result{Snapshot: &inventory.Snapshot{Source: inventory.Source{Kind: "images", Paths: refs}},
		Findings: all, Problems: problems, Analyzers: []string{"image"}}
	out := cmd.OutOrStdout()
	opts := report.Options{ToolVersion: version(), Color: f.output == "" && colorFor(out, f.noColor),
		Width: terminalWidth(out), ShowSuppressed: f.showSuppressed, PolicyFile: cfg.File,
		ShowVulnerabilities: true}
	sopts := sbom.Options{ToolVersion: version()}
	err = writeOutput(cmd, f.output, func(w io.Writer) error {
		switch f.format {
		case "cyclonedx":
			if len(reports) == 0 {
				return nil
			}
			return sbom.CycloneDX(w, reports[0], sopts)
		case "spdx":
			if len(reports) == 0 {
				return nil
			}
			return sbom.SPDX(w, reports[0], sopts)
		case "json":
			doc := imageDocument{Document: report.NewDocument(res, opts), Images: reports}
			if doc.Images == nil {
				doc.Images = []*image.Report{}
			}
			return writeJSON(w, doc)
		case "table":
			for _, r := range reports {
				fmt.Fprintln(w, imageHeadline(r))
			}
			if len(reports) > 0 {
				fmt.Fprintln(w)
			}
		}
		return report.Write(w, f.format, res, opts)
	})
	if err != nil {
		return err
	}
	if err := inputErrors(cmd, problems, "%d image%s could not be scanned"); err != nil {
		return err
	}
	return failOnFindings(res, threshold)
}

func scanOneImage(ctx context.Context, ref string, f *imageScanFlags, so image.Options, db *vuln.DB) (*image.Report, error) {
	src, err := image.Open(ctx, ref, image.SourceOptions{Platform: f.images.platform})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	rep, err := image.Scan(ctx, src, so)
	if err != nil {
		return nil, err
	}
	if db != nil {
		if err := imagescan.Match(ctx, rep, db, imagescan.MatchOptions{IgnoreUnfixed: f.images.ignoreUnfixed}); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// imageHeadline summarises one image for the table.
func imageHeadline(r *image.Report) string {
	osName := "unknown OS"
	if r.Distro != nil {
		osName = strings.TrimSpace(r.Distro.ID + " " + r.Distro.VersionID)
	}
	cached := 0
	for _, l := range r.Layers {
		if l.Cached {
			cached++
		}
	}
	return fmt.Sprintf("%s  %s  %s, %s (%d cached), %s, %s, %s",
		r.Ref, shortDigest(r.Digest), osName, count(len(r.Layers), "layer", "layers"), cached,
		count(len(r.Packages), "package", "packages"), count(len(r.Vulnerabilities), "vulnerability", "vulnerabilities"),
		count(len(r.Components), "unnecessary component", "unnecessary components"))
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
