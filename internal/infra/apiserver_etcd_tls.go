package infra

import (
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// apiserverEtcdTLS requires the API server to reach etcd over TLS, verifying etcd's certificate
// (--etcd-cafile) and authenticating with a client certificate (--etcd-certfile,
// --etcd-keyfile), and every --etcd-servers URL to be https. etcd holds every object of the
// cluster, Secrets included: plain HTTP exposes them on the wire, and an etcd that accepts any
// client gives them to whoever connects.
var apiserverEtcdTLS = registerComponent(controlplane.APIServer, finding.Rule{
	ID:          "apiserver-etcd-tls",
	Title:       "API server reaches etcd without mutual TLS",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:1.2.23", "cis:1.2.26"},
	Description: "The API server talks to etcd over plain HTTP, or without verifying etcd's certificate (--etcd-cafile), or without a client certificate (--etcd-certfile, --etcd-keyfile). Every object of the cluster, Secrets included, crosses that connection.",
	Remediation: "Serve etcd over https with client-certificate authentication, and set --etcd-servers=https://..., --etcd-cafile, --etcd-certfile and --etcd-keyfile on kube-apiserver.",
}, func(c *Context, i *controlplane.Instance) verdict {
	var problems []string
	var plain []string
	for _, u := range i.Flags.List("etcd-servers") {
		if !strings.HasPrefix(strings.TrimSpace(u), "https://") {
			plain = append(plain, u)
		}
	}
	if len(plain) > 0 {
		problems = append(problems, "etcd is reached over plain HTTP ("+strings.Join(plain, ", ")+")")
	}
	if missing := unset(i, "etcd-cafile", "etcd-certfile", "etcd-keyfile"); len(missing) > 0 {
		problems = append(problems, strings.Join(missing, ", ")+" not set")
	}
	if len(problems) == 0 {
		return pass()
	}
	return fail("%s", strings.Join(problems, "; ")).with("etcdServers", i.Flags.List("etcd-servers"))
})
