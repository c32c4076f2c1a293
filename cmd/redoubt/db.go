package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/vuln"
)

func newDBCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the vulnerability database: update, import, export, status",
		Long: `Manage the local vulnerability database that image scans match packages against.

The data is OSV: the per-ecosystem exports of osv.dev (<Ecosystem>/all.zip),
downloaded by "db update" or read from a mirror directory, kept in one embedded
SQLite file in --db-dir (default $REDOUBT_DB_DIR, else the user cache directory's
redoubt/db). An update is atomic: a failed or killed update leaves the previous
database in place. For air-gapped sites, "db export" writes an offline bundle on
a connected machine and "db import" loads it.`,
		Example: `  # Download the default ecosystems from osv.dev
  redoubt db update

  # From an internal mirror of the osv.dev bucket, Debian and Go only
  redoubt db update --mirror https://mirror.example.internal/osv --ecosystem Debian --ecosystem Go

  # Air gap: export on a connected machine, import on the other side
  redoubt db export osv-bundle.tar
  redoubt db import osv-bundle.tar`,
	}
	cmd.PersistentFlags().StringVar(&dir, "db-dir", "", "database directory (default $REDOUBT_DB_DIR, else ~/.cache/redoubt/db)")
	dbDir := func() string {
		if dir != "" {
			return dir
		}
		return vuln.DefaultDir()
	}
	cmd.AddCommand(newDBUpdateCmd(dbDir), newDBImportCmd(dbDir), newDBExportCmd(dbDir), newDBStatusCmd(dbDir))
	return cmd
}

func newDBUpdateCmd(dbDir func() string) *cobra.Command {
	var mirror string
	var ecosystems, extras []string
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Download the OSV exports and install a new database",
		Long: `Download each ecosystem's OSV export, <base>/<Ecosystem>/all.zip, and install a
new database. The base is osv.dev's public bucket (` + vuln.DefaultMirror + `)
unless --mirror names another URL, or a directory laid out the same way.

Default ecosystems: ` + strings.Join(vuln.DefaultEcosystems(), ", ") + `.
Ecosystems already in the database and not fetched are kept. An ecosystem that
cannot be fetched keeps its previous data and is reported (exit code 2).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := vuln.UpdateOptions{Mirror: mirror, Ecosystems: ecosystems, Extras: extras}
			if isTerminal(cmd.ErrOrStderr()) {
				o.Progress = cmd.ErrOrStderr()
			}
			res, err := vuln.Update(cmd.Context(), dbDir(), o)
			return reportInstall(cmd, res, err)
		},
	}
	cmd.Flags().StringVar(&mirror, "mirror", "", "base URL or directory of <Ecosystem>/all.zip exports (default osv.dev)")
	cmd.Flags().StringArrayVar(&ecosystems, "ecosystem", nil, "ecosystem to fetch, as osv.dev names it (repeatable; default the supported ones)")
	cmd.Flags().StringArrayVar(&extras, "extra", nil, "extra file to fetch from the mirror base and keep beside the database (repeatable)")
	return cmd
}

func newDBImportCmd(dbDir func() string) *cobra.Command {
	var ecosystems, extras []string
	cmd := &cobra.Command{
		Use:   "import DIR|FILE",
		Short: "Install a database from an offline bundle or a directory of OSV exports",
		Long: `Install a database from FILE, a bundle written by "redoubt db export", or from
DIR, either an unpacked bundle or a directory of <Ecosystem>/all.zip exports (as
osv.dev lays them out). Every checksum in a bundle is verified first: a damaged
bundle is refused whole and the database is left as it was.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := vuln.UpdateOptions{Ecosystems: ecosystems, Extras: extras}
			if isTerminal(cmd.ErrOrStderr()) {
				o.Progress = cmd.ErrOrStderr()
			}
			res, err := vuln.Import(cmd.Context(), dbDir(), args[0], o)
			return reportInstall(cmd, res, err)
		},
	}
	cmd.Flags().StringArrayVar(&ecosystems, "ecosystem", nil, "only these ecosystems (repeatable; default all in the input)")
	cmd.Flags().StringArrayVar(&extras, "extra", nil, "extra file to take from DIR (repeatable)")
	return cmd
}

// reportInstall prints what an update or import did and turns failures into exit codes.
func reportInstall(cmd *cobra.Command, res *vuln.UpdateResult, err error) error {
	if err != nil {
		return &exitError{code: exitInput, err: err}
	}
	w := cmd.ErrOrStderr()
	for _, p := range res.Problems {
		fmt.Fprintln(w, "skipped record:", p)
	}
	for _, x := range res.Warnings {
		fmt.Fprintln(w, "warning:", x)
	}
	s := res.Status
	if res.Unchanged {
		fmt.Fprintf(cmd.OutOrStdout(), "vulnerability database %s is up to date: no source changed since %s\n", s.Path, s.Built.UTC().Format(time.RFC3339))
		return nil
	}
	fmt.Fprintf(cmd.OutOrStdout(), "vulnerability database %s: %d vulnerabilities in %d ecosystems from %d sources\n",
		s.Path, s.Vulnerabilities, len(s.Ecosystems), len(s.Sources))
	if len(res.Failed) > 0 {
		for _, f := range res.Failed {
			fmt.Fprintln(w, "error:", f)
		}
		return &exitError{code: exitInput, err: fmt.Errorf("%d source%s could not be fetched; their previous data, if any, was kept", len(res.Failed), plural(len(res.Failed)))}
	}
	return nil
}

func newDBExportCmd(dbDir func() string) *cobra.Command {
	return &cobra.Command{
		Use:   "export FILE",
		Short: "Write the database as an offline bundle",
		Long: `Write the database as an offline bundle (a tar of the per-ecosystem OSV zips,
extra files, and a manifest with their checksums) to FILE, or "-" for standard
output. "redoubt db import FILE" installs it on another machine.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := dbDir()
			d, err := vuln.Open(dir)
			if err != nil {
				return &exitError{code: exitInput, err: err}
			}
			d.Close()
			return writeOutput(cmd, args[0], func(w io.Writer) error { return vuln.Export(cmd.Context(), dir, w) })
		},
	}
}

func newDBStatusCmd(dbDir func() string) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the database's age, sources and counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			d, err := vuln.Open(dbDir())
			if err != nil {
				return &exitError{code: exitInput, err: err}
			}
			defer d.Close()
			s := d.Status()
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			return statusTable(cmd.OutOrStdout(), s)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func statusTable(w io.Writer, s vuln.Status) error {
	const when = "2006-01-02 15:04 MST"
	fmt.Fprintf(w, "Database:   %s\n", s.Path)
	fmt.Fprintf(w, "Built:      %s\n", s.Built.UTC().Format(when))
	fmt.Fprintf(w, "Data as of: %s (%s old; the oldest source's publication time)\n", s.Updated.UTC().Format(when), ageString(s.Age))
	fmt.Fprintf(w, "Records:    %d vulnerabilities, %d withdrawn\n", s.Vulnerabilities, s.Withdrawn)
	if len(s.Extras) > 0 {
		fmt.Fprintf(w, "Extras:     %s\n", strings.Join(s.Extras, ", "))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tRECORDS\tSKIPPED\tPUBLISHED\tFETCHED\tFROM")
	for _, src := range s.Sources {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", src.Ecosystem, src.Records, src.Skipped,
			src.Updated.UTC().Format(when), src.Fetched.UTC().Format(when), src.URL)
	}
	tw.Flush()
	fmt.Fprintln(w)
	ecos := make([]string, 0, len(s.Ecosystems))
	for e := range s.Ecosystems {
		ecos = append(ecos, e)
	}
	slices.Sort(ecos)
	fmt.Fprintln(tw, "ECOSYSTEM\tVULNERABILITIES")
	for _, e := range ecos {
		fmt.Fprintf(tw, "%s\t%d\n", e, s.Ecosystems[e])
	}
	return tw.Flush()
}

func ageString(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= time.Hour:
		return count(int(d.Hours()), "hour", "hours")
	}
	return count(int(d.Minutes()), "minute", "minutes")
}

// openVulnDB opens the database for a scan, returning the warning to print when it is older
// than maxAge. Without a database the error says exactly how to get one.
func openVulnDB(dir string, maxAge time.Duration) (*vuln.DB, string, error) {
	if dir == "" {
		dir = vuln.DefaultDir()
	}
	d, err := vuln.Open(dir)
	if err != nil {
		if errors.Is(err, vuln.ErrNoDatabase) {
			return nil, "", &exitError{code: exitInput, err: err}
		}
		return nil, "", err
	}
	return d, d.Status().Stale(maxAge), nil
}
