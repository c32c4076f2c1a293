package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/cluster"
	"redoubt.dev/redoubt/internal/inventory/manifest"
	"redoubt.dev/redoubt/internal/inventory/probe"
)

// sourceFlags choose what a command reads: manifest paths, or a live cluster spelled as kubectl
// spells it.
type sourceFlags struct {
	kubeconfig  string
	context     string
	namespace   string
	values      []string
	releaseName string
	maxFileMiB  int64
	// filenames are the paths given with -f/--filename, read as if given as arguments.
	filenames  []string
	allowEmpty bool
	// usage spells the command with paths, for the hint when no cluster is reachable
	// (default "redoubt COMMAND PATH...").
	usage string
	// observe also reads what no object holds from a live cluster: the API server's answer to
	// anonymous requests and the kubelets' configz (for the commands that audit it).
	observe bool
}

func (f *sourceFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster to read (default $KUBECONFIG, then ~/.kube/config, then in-cluster)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context to use (default the current context)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "only this namespace (live cluster); for manifests, the namespace of objects that name none (default \"default\")")
	fl.StringArrayVarP(&f.filenames, "filename", "f", nil, "manifest file or directory to read, as with kubectl -f (repeatable; the same as giving it as an argument)")
	fl.StringArrayVar(&f.values, "values", nil, "Helm values file applied over every chart's defaults (repeatable, later files win)")
	fl.BoolVar(&f.allowEmpty, "allow-empty", false, "succeed, with a warning, when the paths hold no Kubernetes object (default: exit 2, as for a mistyped path)")
	fl.StringVar(&f.releaseName, "release-name", "release", "Helm release name charts are rendered with")
	fl.Int64Var(&f.maxFileMiB, "max-file-size", manifest.DefaultLimits.MaxFileBytes>>20, "largest manifest file read, in MiB")
}

// paths are the manifest paths given: the arguments, then the -f/--filename paths.
func (f *sourceFlags) paths(args []string) []string {
	if len(f.filenames) == 0 {
		return args
	}
	return append(append([]string(nil), args...), f.filenames...)
}

// live reports whether the command reads a cluster rather than files.
func (f *sourceFlags) live(paths []string) (bool, error) {
	clusterFlags := f.kubeconfig != "" || f.context != ""
	switch {
	case len(paths) > 0 && clusterFlags:
		return false, usageError("give either manifest paths or --kubeconfig/--context, not both")
	case len(paths) > 0:
		return false, nil
	}
	return true, nil
}

// load reads the snapshot the flags and arguments name.
func (f *sourceFlags) load(ctx context.Context, cmd *cobra.Command, paths []string) (*inventory.Snapshot, error) {
	paths = f.paths(paths)
	live, err := f.live(paths)
	if err != nil {
		return nil, err
	}
	if !live {
		return f.loadManifests(ctx, cmd, paths)
	}
	conn, err := cluster.Connect(cluster.Target{Kubeconfig: f.kubeconfig, Context: f.context, Namespace: f.namespace})
	if err != nil {
		usage := f.usage
		if usage == "" {
			usage = cmd.CommandPath() + " PATH..."
		}
		return nil, &exitError{code: exitInput, err: fmt.Errorf("%w (to read manifests instead, give their paths: %s)", err, usage)}
	}
	progress(cmd, "reading cluster %q (%s)...", conn.Context, conn.Server)
	snap, err := cluster.Load(ctx, conn, cluster.Options{Namespace: f.namespace})
	if err != nil {
		return nil, &exitError{code: exitInput, err: err}
	}
	if f.observe {
		probe.Observe(ctx, conn.Config, snap)
	}
	return snap, nil
}

// loadManifests reads manifest paths. Paths that hold no Kubernetes object are an input error
// (a CI job pointed at a mistyped directory must not pass), or a warning with --allow-empty.
func (f *sourceFlags) loadManifests(ctx context.Context, cmd *cobra.Command, paths []string) (*inventory.Snapshot, error) {
	for _, v := range f.values {
		if _, err := os.Stat(v); err != nil {
			return nil, usageError("--values %s: %v", v, err)
		}
	}
	lim := manifest.DefaultLimits
	lim.MaxFileBytes = f.maxFileMiB << 20
	snap, err := manifest.Load(ctx, paths, manifest.Options{
		Namespace: f.namespace, ValuesFiles: f.values, ReleaseName: f.releaseName,
		Limits: lim, Stdin: cmd.InOrStdin(),
	})
	if err != nil {
		return nil, err
	}
	f.hintValues(snap)
	if err := f.checkEmpty(cmd, snap, paths); err != nil {
		return nil, err
	}
	return snap, nil
}

// checkEmpty refuses a snapshot of manifests with no object in it, unless --allow-empty; the
// input problems that explain why (a missing path, a YAML error) are printed first.
func (f *sourceFlags) checkEmpty(cmd *cobra.Command, snap *inventory.Snapshot, paths []string) error {
	if !snap.Empty() {
		return nil
	}
	what := fmt.Sprintf("no Kubernetes objects found in %s", strings.Join(paths, ", "))
	if f.allowEmpty {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", what)
		return nil
	}
	if n := len(snap.Problems); n > 0 {
		// The problems say why; nothing was read, so there is no output to cover the rest.
		for _, p := range snap.Problems {
			fmt.Fprintln(cmd.ErrOrStderr(), "error:", p.Error())
		}
		return &exitError{code: exitInput, err: fmt.Errorf("%d input error%s, and no Kubernetes object could be read from %s", n, plural(n), strings.Join(paths, ", "))}
	}
	return &exitError{code: exitInput, err: fmt.Errorf("%s (check the path; pass --allow-empty when nothing to read is expected)", what)}
}

// hiddenAlias keeps an old spelling of a flag working without showing it: old sets the same
// value as name, which must be registered already.
func hiddenAlias(cmd *cobra.Command, old, name string) {
	fl := cmd.Flags()
	fl.Var(fl.Lookup(name).Value, old, "old spelling of --"+name)
	if err := fl.MarkHidden(old); err != nil {
		panic(err) // the flag was just added
	}
}

// hintValues tells whoever still types -f for Helm values (its meaning on scan before -f took
// manifests, as kubectl's does) what to type instead: a file given with -f that holds no
// Kubernetes object but YAML is most likely a values file.
func (f *sourceFlags) hintValues(snap *inventory.Snapshot) {
	for i, p := range snap.Problems {
		if slices.Contains(f.filenames, p.File) && strings.HasPrefix(p.Message, "document has no apiVersion or kind") {
			snap.Problems[i].Message += fmt.Sprintf(" (-f names manifests, as with kubectl; for Helm values, give --values %s)", p.File)
		}
	}
}
