package infra

import (
	"path/filepath"
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// etcdSharedCA forbids etcd trusting the CA the API server uses for its clients (etcd's
// --trusted-ca-file or --peer-trusted-ca-file equal to the API server's --client-ca-file):
// every certificate that CA signs for the cluster (each kubelet's, each admin's) is then also
// accepted by etcd, which reads and writes the whole cluster state unchecked. etcd needs a CA of
// its own. Files are compared by their path on the node.
var etcdSharedCA = registerComponent(controlplane.Etcd, finding.Rule{
	ID:          "etcd-shares-apiserver-ca",
	Title:       "etcd trusts the cluster's client CA",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:2.7"},
	Description: "etcd's --trusted-ca-file (or --peer-trusted-ca-file) is the API server's --client-ca-file, so any client certificate of the cluster (a kubelet's, a user's) also authenticates to etcd, bypassing the API server's authorization and admission.",
	Remediation: "Give etcd its own CA (kubeadm's /etc/kubernetes/pki/etcd/ca.crt) for --trusted-ca-file and --peer-trusted-ca-file, and issue the API server's etcd client certificate from it.",
}, func(c *Context, i *controlplane.Instance) verdict {
	if v, ok := etcdConfigFile(i); ok {
		return v
	}
	var clientCAs []string
	apiservers := 0
	for _, a := range c.Instances {
		if a.Component != controlplane.APIServer || a.Flags == nil || (a.Node != "" && i.Node != "" && a.Node != i.Node) {
			continue
		}
		apiservers++
		if ca := strings.TrimSpace(a.Flags.Value("client-ca-file")); ca != "" {
			clientCAs = append(clientCAs, nodePath(a, ca))
		}
	}
	if apiservers == 0 {
		return unknown("no API server was found beside etcd to compare its CA with")
	}
	var shared []string
	for _, flag := range []string{"trusted-ca-file", "peer-trusted-ca-file"} {
		v := strings.TrimSpace(i.Flags.Value(flag))
		if v == "" {
			continue
		}
		p := nodePath(i, v)
		for _, ca := range clientCAs {
			if p == ca {
				shared = append(shared, "--"+flag+"="+v)
				break
			}
		}
	}
	if len(shared) == 0 {
		return pass()
	}
	return fail("%s is the API server's --client-ca-file: every cluster client certificate also authenticates to etcd", strings.Join(shared, " and ")).with("shared", shared)
})

// nodePath is the path on the node of a file a component names: through a static pod's
// hostPath mounts, or as given.
func nodePath(i *controlplane.Instance, p string) string {
	if h := i.HostPath(p); h != "" {
		return filepath.Clean(h)
	}
	return filepath.Clean(p)
}
