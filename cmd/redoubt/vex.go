package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/config"
	"redoubt.dev/redoubt/internal/vex"
)

// addVEXFlag registers --vex on a command that applies exceptions.
func addVEXFlag(cmd *cobra.Command, paths *[]string) {
	cmd.Flags().StringArrayVar(paths, "vex", nil, "OpenVEX document whose not_affected and fixed statements suppress vulnerability findings (repeatable)")
}

// applyVEX reads the VEX documents and appends their exceptions to the policy's, after the
// policy file's own. Statements that cannot apply are warned about on stderr.
func applyVEX(cmd *cobra.Command, cfg *config.Config, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	set, err := vex.Load(paths)
	if err != nil {
		return &exitError{code: exitInput, err: err}
	}
	for _, w := range set.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
	}
	cfg.Exceptions = append(cfg.Exceptions, set.Exceptions...)
	return nil
}

func newVEXCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vex",
		Short: "Read and write OpenVEX documents",
		Long: `OpenVEX documents say which vulnerabilities do not affect a product, and why.
"redoubt scan --vex FILE" applies them; "redoubt vex export" writes the policy
file's vulnerability exceptions as one, for the people who consume your images.`,
	}
	var configFile, output, author, id string
	export := &cobra.Command{
		Use:   "export [PATH]",
		Short: "Write the policy file's vulnerability exceptions as an OpenVEX document",
		Long: `Write the vulnerability exceptions of the policy file (--config, or .redoubt.yaml
in PATH or the current directory) as an OpenVEX document: each becomes a
not_affected statement with the exception's justification label, if it has one,
and its reason, owner and expiry as the impact statement. Its images are the
products and its packages their subcomponents.

OpenVEX cannot express everything an exception can: exceptions that have
expired, use glob patterns, are scoped to Kubernetes resources, or name neither
images nor packages are left out, and each is named on standard error.`,
		Example: `  redoubt vex export -o shop.openvex.json --author "Shop security <security@shop.example>"`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			paths := args
			if len(paths) == 0 {
				paths = []string{"."}
			}
			cfg, err := loadConfig(configFile, paths)
			if err != nil {
				return err
			}
			if cfg.File == "" {
				return usageError("no policy file: give --config FILE, or run where %s is", config.FileName)
			}
			var skipped []string
			err = writeOutput(cmd, output, func(w io.Writer) error {
				var err error
				skipped, err = vex.Export(w, cfg.Exceptions, vex.ExportOptions{Author: author, ID: id, Tooling: "redoubt " + version()})
				return err
			})
			for _, s := range skipped {
				fmt.Fprintln(cmd.ErrOrStderr(), "not exported:", s)
			}
			return err
		},
	}
	fl := export.Flags()
	fl.StringVar(&configFile, "config", "", "policy file (default .redoubt.yaml in PATH)")
	fl.StringVarP(&output, "output", "o", "", "write the document to this file instead of standard output")
	fl.StringVar(&author, "author", "", "author of the statements, a person or organisation (default \"Redoubt policy\")")
	fl.StringVar(&id, "id", "", "the document's IRI (default derived from its content)")
	cmd.AddCommand(export)
	return cmd
}
