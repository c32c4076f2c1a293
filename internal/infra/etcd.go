package infra

import (
	"strings"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
)

// etcdConfigFile makes etcd checks not assessable when etcd reads a configuration file: etcd
// then ignores its flags and environment.
func etcdConfigFile(i *controlplane.Instance) (verdict, bool) {
	if f := i.Flags.Value("config-file"); f != "" {
		return unknown("etcd reads --config-file %s and ignores its flags; Redoubt does not read that file", f), true
	}
	return verdict{}, false
}

// etcdTLS requires etcd to serve clients over TLS with a certificate it is given (--cert-file,
// --key-file, https client URLs) rather than plain HTTP or a self-generated certificate
// (--auto-tls).
var etcdTLS = registerComponent(controlplane.Etcd, finding.Rule{
	ID:          "etcd-tls",
	Title:       "etcd serves clients without proper TLS",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:2.1", "cis:2.3"},
	Description: "etcd serves its clients over plain HTTP, without --cert-file and --key-file, or with a self-signed --auto-tls certificate: the cluster's whole state, Secrets included, can be read or altered on the wire.",
	Remediation: "Give etcd a serving certificate from the etcd CA (--cert-file, --key-file), listen on https:// client URLs only, and remove --auto-tls.",
}, func(c *Context, i *controlplane.Instance) verdict {
	if v, ok := etcdConfigFile(i); ok {
		return v
	}
	var problems []string
	var plain []string
	for _, u := range strings.Split(i.Flags.Value("listen-client-urls"), ",") {
		if u = strings.TrimSpace(u); u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "unixs://") {
			plain = append(plain, u)
		}
	}
	if len(plain) > 0 {
		problems = append(problems, "clients are served over plain HTTP on "+strings.Join(plain, ", "))
	}
	if missing := unset(i, "cert-file", "key-file"); len(missing) > 0 {
		problems = append(problems, strings.Join(missing, " and ")+" not set")
	}
	if v, _ := i.Flags.Bool("auto-tls"); v {
		problems = append(problems, "--auto-tls uses a self-signed certificate")
	}
	if len(problems) == 0 {
		return pass()
	}
	return fail("%s", strings.Join(problems, "; ")).with("listenClientURLs", i.Flags.Value("listen-client-urls"))
})

// etcdClientCertAuth requires etcd to authenticate its clients by certificate
// (--client-cert-auth): otherwise anyone who reaches the client port reads and writes the
// cluster's state.
var etcdClientCertAuth = registerComponent(controlplane.Etcd, finding.Rule{
	ID:          "etcd-client-cert-auth",
	Title:       "etcd accepts any client",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Critical,
	References:  []string{"cis:2.2"},
	Description: "etcd does not require client certificates (--client-cert-auth=false, the default): anyone who reaches its client port can read every Secret and rewrite any object, bypassing the API server's authentication, authorization and admission.",
	Remediation: "Set --client-cert-auth=true and --trusted-ca-file on etcd, and give the API server a client certificate from that CA.",
}, func(c *Context, i *controlplane.Instance) verdict {
	if v, ok := etcdConfigFile(i); ok {
		return v
	}
	return boolFlag(i, "client-cert-auth", true, "any client that reaches etcd may read and write the cluster's state")
})

// etcdPeerTLS requires etcd members to talk to each other over TLS with certificates they
// verify (--peer-cert-file, --peer-key-file, --peer-client-cert-auth, no --peer-auto-tls).
var etcdPeerTLS = registerComponent(controlplane.Etcd, finding.Rule{
	ID:          "etcd-peer-tls",
	Title:       "etcd peers are not authenticated",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"cis:2.4", "cis:2.5", "cis:2.6"},
	Description: "etcd's peer connections are not protected by mutual TLS: a host that reaches the peer port can join the cluster or read replication traffic.",
	Remediation: "Set --peer-cert-file, --peer-key-file, --peer-trusted-ca-file and --peer-client-cert-auth=true on every etcd member, and remove --peer-auto-tls.",
}, func(c *Context, i *controlplane.Instance) verdict {
	if v, ok := etcdConfigFile(i); ok {
		return v
	}
	var problems []string
	if missing := unset(i, "peer-cert-file", "peer-key-file"); len(missing) > 0 {
		problems = append(problems, strings.Join(missing, " and ")+" not set")
	}
	if v, _ := i.Flags.Bool("peer-client-cert-auth"); !v {
		problems = append(problems, i.Flags.Describe("peer-client-cert-auth"))
	}
	if v, _ := i.Flags.Bool("peer-auto-tls"); v {
		problems = append(problems, "--peer-auto-tls uses self-signed certificates")
	}
	if len(problems) == 0 {
		return pass()
	}
	return fail("%s", strings.Join(problems, "; "))
})
