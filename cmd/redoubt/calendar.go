package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/releases"
	"redoubt.dev/redoubt/internal/vuln"
)

// `redoubt db update` fetches the Kubernetes release calendar beside the vulnerability data.
func init() { vuln.RegisterExtra(releases.FileName) }

// releaseCalendar returns the calendar version checks use: the copy the last `db update`
// fetched, when it is newer than the one compiled in. A copy that cannot be read is reported on
// stderr and the compiled-in calendar is used, so a broken download never stops a scan.
func releaseCalendar(cmd *cobra.Command) *releases.Calendar {
	p, err := vuln.ExtraFile(vuln.DefaultDir(), releases.FileName)
	if err != nil {
		if !errors.Is(err, vuln.ErrNoExtra) {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: Kubernetes release calendar: %v; using the one built in\n", err)
		}
		return releases.Embedded()
	}
	c, err := releases.Load(filepath.Dir(p))
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v; using the release calendar built in (run `redoubt db update`)\n", err)
		return releases.Embedded()
	}
	return c
}
