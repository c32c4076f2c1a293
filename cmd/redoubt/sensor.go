package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"redoubt.dev/redoubt/internal/inventory/cluster"
	"redoubt.dev/redoubt/internal/runtime/agent"
	"redoubt.dev/redoubt/internal/runtime/event"
)

func newSensorCmd() *cobra.Command {
	var (
		output       string
		kubeconfig   string
		kubeContext  string
		inCluster    bool
		nodeName     string
		podCIDRs     []string
		serviceCIDRs []string
		alertsOnly   bool
	)
	cmd := &cobra.Command{
		Use:   "sensor",
		Short: "Watch this node's processes and connections with eBPF and raise runtime alerts",
		Long: `Run the node sensor: eBPF programs on kernel tracepoints report every process
exec and exit, every TCP connect and accept (IPv4 and IPv6), and every network
socket duplicated onto a process's stdin, stdout or stderr. Each event is
attributed to the container and pod it came from, and the runtime detections
run on it:

  runtime-reverse-shell   a shell or interpreter wired to a TCP socket
  runtime-tool-executed   package managers, curl/wget/nc/nmap, debuggers and
                          compilers executed in a container
  runtime-drift-exec      a binary run from /tmp, /dev/shm or from memory
  sensor-events-lost      the kernel could not hand over some events

Output is JSON lines, one event or alert per line ("kind" says which), on
stdout or appended to --output. SIGTERM or Ctrl-C detaches the programs and
exits 0.

Attribution. Standalone, each event carries the cgroup v2 path, the container
id the runtime put in it (containerd, CRI-O, Docker, or the kubelet's cgroupfs
driver) and the pod UID. With --kubeconfig (or --in-cluster) the sensor also
watches the pods the API server has scheduled on --node and adds pod,
namespace, workload and container names. Processes outside any container are
attributed to the node.

"Inside the cluster" is never guessed: give --pod-cidr and --service-cidr and
connections are marked pod, service or external (loopback always).

Needs root, or CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH (to resolve cgroup
ids), on a kernel with BTF (/sys/kernel/btf/vmlinux); the sensor mounts tracefs
if it is missing (CAP_SYS_ADMIN). See docs/runtime.md.`,
		Example: `  # standalone, everything, on stdout
  sudo redoubt sensor

  # alerts only, with pod names from the API server, to a file
  sudo redoubt sensor --alerts-only --kubeconfig ~/.kube/config --node worker-1 -o /var/log/redoubt.jsonl

  # in a DaemonSet (NODE_NAME from the downward API)
  redoubt sensor --in-cluster --pod-cidr 10.244.0.0/16 --service-cidr 10.96.0.0/12

  # follow alerts as they come
  sudo redoubt sensor | jq -c 'select(.kind == "alert") | {check, message}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			network, err := parseNetwork(podCIDRs, serviceCIDRs)
			if err != nil {
				return err
			}
			if inCluster && (kubeconfig != "" || kubeContext != "") {
				return usageError("give --in-cluster or --kubeconfig/--context, not both")
			}
			if nodeName == "" {
				nodeName = os.Getenv("NODE_NAME")
			}
			if nodeName == "" {
				if nodeName, err = os.Hostname(); err != nil {
					return usageError("--node is required: the host name is unknown: %v", err)
				}
			}
			cfg := agent.Config{Node: nodeName, Network: network, AlertsOnly: alertsOnly,
				Log: slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))}
			if kubeconfig != "" || kubeContext != "" || inCluster {
				cfg.Kube, err = kubeClient(kubeconfig, kubeContext, inCluster)
				if err != nil {
					return &exitError{code: exitInput, err: err}
				}
			}
			var w io.Writer = cmd.OutOrStdout()
			if output != "" && output != "-" {
				// Appended, never replaced: the file is a log that outlives one run.
				f, err := os.OpenFile(output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
				if err != nil {
					return usageError("--output %s: %v", output, err)
				}
				defer f.Close()
				w = f
			}
			cfg.Output = w
			if _, err := agent.Run(cmd.Context(), cfg); err != nil {
				return fmt.Errorf("sensor: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&output, "output", "o", "", "append JSON lines to this file instead of stdout")
	fl.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster whose pods run here (adds pod, namespace, workload, container names)")
	fl.StringVar(&kubeContext, "context", "", "kubeconfig context to use")
	fl.BoolVar(&inCluster, "in-cluster", false, "use the pod's service account to watch this node's pods")
	fl.StringVar(&nodeName, "node", "", "this node's name in the cluster (default $NODE_NAME, then the host name)")
	fl.StringSliceVar(&podCIDRs, "pod-cidr", nil, "CIDR of pod addresses (repeatable or comma-separated)")
	fl.StringSliceVar(&serviceCIDRs, "service-cidr", nil, "CIDR of service addresses (repeatable or comma-separated)")
	fl.BoolVar(&alertsOnly, "alerts-only", false, "write alerts only, not every event")
	return cmd
}

func parseNetwork(pod, svc []string) (event.Network, error) {
	var n event.Network
	parse := func(flag string, in []string) ([]netip.Prefix, error) {
		var out []netip.Prefix
		for _, s := range in {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return nil, usageError("--%s %q: not a CIDR (want e.g. 10.244.0.0/16 or fd00::/64)", flag, s)
			}
			out = append(out, p.Masked())
		}
		return out, nil
	}
	var err error
	if n.PodCIDRs, err = parse("pod-cidr", pod); err != nil {
		return n, err
	}
	if n.ServiceCIDRs, err = parse("service-cidr", svc); err != nil {
		return n, err
	}
	return n, nil
}

func kubeClient(kubeconfig, kubeContext string, inCluster bool) (kubernetes.Interface, error) {
	var cfg *rest.Config
	if inCluster {
		c, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--in-cluster: %w", err)
		}
		cfg = c
	} else {
		conn, err := cluster.Connect(cluster.Target{Kubeconfig: kubeconfig, Context: kubeContext})
		if err != nil {
			return nil, err
		}
		cfg = conn.Config
	}
	cfg.UserAgent = "redoubt-sensor"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	return cs, nil
}
