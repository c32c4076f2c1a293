package main

import (
	"context"
	"fmt"
	"os"

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
	// observe also reads what no object holds from a live cluster: the API server's answer to
	// anonymous requests and the kubelets' configz (for the commands that audit it).
	observe bool
}

func (f *sourceFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster to read (default $KUBECONFIG, then ~/.kube/config, then in-cluster)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context to use (default the current context)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "only this namespace (live cluster); for manifests, the namespace of objects that name none (default \"default\")")
	fl.StringArrayVarP(&f.values, "values", "f", nil, "Helm values file applied over every chart's defaults (repeatable, later files win)")
	fl.StringVar(&f.releaseName, "release-name", "release", "Helm release name charts are rendered with")
	fl.Int64Var(&f.maxFileMiB, "max-file-size", manifest.DefaultLimits.MaxFileBytes>>20, "largest manifest file read, in MiB")
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
	live, err := f.live(paths)
	if err != nil {
		return nil, err
	}
	if !live {
		for _, v := range f.values {
			if _, err := os.Stat(v); err != nil {
				return nil, usageError("--values %s: %v", v, err)
			}
		}
		lim := manifest.DefaultLimits
		lim.MaxFileBytes = f.maxFileMiB << 20
		return manifest.Load(ctx, paths, manifest.Options{
			Namespace: f.namespace, ValuesFiles: f.values, ReleaseName: f.releaseName,
			Limits: lim, Stdin: cmd.InOrStdin(),
		})
	}
	conn, err := cluster.Connect(cluster.Target{Kubeconfig: f.kubeconfig, Context: f.context, Namespace: f.namespace})
	if err != nil {
		return nil, &exitError{code: exitInput, err: fmt.Errorf("%w (to scan manifests instead, give their paths: redoubt %s PATH...)", err, cmd.Name())}
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
