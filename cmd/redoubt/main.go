// Command redoubt secures a Kubernetes estate across the container lifecycle: it audits
// manifests and live clusters, images, network policies and access. This package only wires
// flags to the internal packages; it holds no logic of its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/audit"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// Exit codes a pipeline can rely on.
const (
	exitOK       = 0
	exitFindings = 1 // a finding at or above --fail-on
	exitInput    = 2 // usage error, or input that could not be read
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitInput, err: fmt.Errorf(format, args...)}
}

// parseFailOn reads --fail-on: a severity, or none (-1) when the flag is empty.
func parseFailOn(s string) (finding.Severity, error) {
	if s == "" {
		return -1, nil
	}
	sev, err := finding.ParseSeverity(s)
	if err != nil {
		return -1, usageError("--fail-on: %v", err)
	}
	return sev, nil
}

// inputErrors prints each input problem on stderr and returns the exit-2 error that says how
// many there were (summary is printf-style, given the count and its plural), or nil.
func inputErrors(cmd *cobra.Command, problems []inventory.Problem, summary string) error {
	if len(problems) == 0 {
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(cmd.ErrOrStderr(), "error:", p.Error())
	}
	return &exitError{code: exitInput, err: fmt.Errorf(summary, len(problems), plural(len(problems)))}
}

// failOnFindings returns the exit-1 error when an unsuppressed finding is at or above threshold.
func failOnFindings(res *audit.Result, threshold finding.Severity) error {
	if threshold >= 0 && res.Fails(threshold) {
		return &exitError{code: exitFindings, err: fmt.Errorf("findings at or above %s", threshold)}
	}
	return nil
}

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// tuneGC trades memory the machine has for CPU the scan needs: a scan builds a large, short-lived
// heap, and the default collector spends a fifth of the run on it. The collector runs less often,
// but never lets the heap grow past a soft limit. GOGC and GOMEMLIMIT still override both.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(768 << 20)
	}
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "redoubt:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "redoubt:", err)
	// Cobra's own errors are about flags and arguments.
	return exitInput
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "redoubt",
		Short: "Secure a Kubernetes estate: manifests, clusters, images, network and access",
		Long: `Redoubt audits what you deploy to Kubernetes and what is running there.

It reads manifests (YAML, JSON, Helm charts, Kustomize directories) or a live
cluster (read-only, through your kubeconfig), and reports findings with the
file and line, or the object, at fault.

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it;
2 a usage error, or input that could not be read (everything else is still
scanned and reported).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newScanCmd(), newInventoryCmd(), newChecksCmd(), newVersionCmd())
	root.AddCommand(newDBCmd(), newVEXCmd())
	root.AddCommand(newImageCmd())
	root.AddCommand(newRiskCmd(), newNodeCmd(), newAccessCmd())
	root.AddCommand(newNetpolCmd())
	root.AddCommand(newAuditlogCmd())
	root.AddCommand(newEventsCmd())
	root.AddCommand(newSensorCmd())
	root.AddCommand(newServeCmd())
	return root
}
