// Command devcluster runs the control plane of the end-to-end tests (etcd, kube-apiserver and
// kube-controller-manager on loopback, see internal/testenv) until Ctrl-C, so a developer can
// point redoubt or kubectl at a real cluster.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"redoubt.dev/redoubt/internal/testenv"
)

const usage = `Usage: go run ./cmd/devcluster [flags]

Starts a throw-away Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver %s and
kube-controller-manager, with TLS, RBAC and anonymous access off. There is no scheduler and no
kubelet, so Pods stay Pending. It prints a kubeconfig path, keeps running until Ctrl-C, then
stops every process and deletes its directory (certificates, etcd data, logs).

The binaries are built from the tools modules tools/etcd and tools/k8s on first use (5-10
minutes, about 3 GB of RAM) and cached in $REDOUBT_TESTENV_CACHE or
$XDG_CACHE_HOME/redoubt/testenv. Run it from inside the repository.

Flags:
`

// errUsage reports bad command-line arguments, already explained on stderr.
var errUsage = errors.New("bad usage")

// flagList collects repeated name=value flags.
type flagList map[string]string

func (l flagList) String() string { return fmt.Sprint(map[string]string(l)) }

func (l flagList) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	l[strings.TrimLeft(name, "-")] = value
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, stop, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

// run parses args, then builds, or starts a cluster and waits for ctx to end. unnotify undoes
// the signal handling behind ctx, so a second Ctrl-C during the stop kills the program.
func run(ctx context.Context, unnotify func(), args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devcluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, usage, testenv.KubernetesVersion)
		fs.PrintDefaults()
	}
	buildOnly := fs.Bool("build-only", false, "build (or find cached) binaries, print their paths and exit")
	noKCM := fs.Bool("no-controller-manager", false, "do not start kube-controller-manager (no ServiceAccounts, no ReplicaSets)")
	apiFlags := flagList{}
	fs.Var(apiFlags, "apiserver-flag", "`name=value` overriding a kube-apiserver flag, e.g. anonymous-auth=true; an empty value removes the flag (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage // the flag package has printed the problem and the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return errUsage
	}

	bins, err := testenv.Binaries(ctx)
	if err != nil {
		return err
	}
	if *buildOnly {
		fmt.Fprintf(stdout, "%s\n%s\n%s\n", bins.Etcd, bins.KubeAPIServer, bins.KubeControllerManager)
		return nil
	}

	begin := time.Now()
	c, err := testenv.Start(ctx, testenv.Options{Binaries: bins, APIServerFlags: apiFlags, NoControllerManager: *noKCM})
	if err != nil {
		return err
	}
	alice, _ := c.Kubeconfig(testenv.AliceUser) // empty if the flags removed the token users
	fmt.Fprintf(stdout, `Cluster %s ready in %s.

  kubeconfig (admin, system:masters): %s
  kubeconfig (alice, no RBAC grants): %s
  logs:                               %s/*.log

Try:
  go run ./cmd/redoubt scan --kubeconfig %s
  kubectl --kubeconfig %s get ns

Ctrl-C stops the cluster and deletes its directory.
`, c.Server, time.Since(begin).Round(time.Millisecond), c.KubeconfigPath, alice, c.Dir, c.KubeconfigPath, c.KubeconfigPath)

	<-ctx.Done()
	unnotify()
	fmt.Fprintln(stdout, "Stopping...")
	return c.Stop()
}
