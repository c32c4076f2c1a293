package infra

import (
	"fmt"

	"redoubt.dev/redoubt/internal/finding"
)

// nodeFilePermissions forbids group or world access to the node files the CIS benchmark lists
// (sections 1.1 and 4.1): static pod manifests, kubeconfigs, certificates and keys, CNI
// configuration, the kubelet's service file, kubeconfig and configuration (600 or stricter),
// certificates and the kubelet's client CA (644: they are public, but only root may change them),
// and etcd's data directory (700). Anyone who reads a kubeconfig or key acts as that
// component; anyone who writes a manifest or service file runs code as root on the next restart.
var nodeFilePermissions = registerCluster(finding.Rule{
	ID:       "node-file-permissions",
	Title:    "Sensitive node file readable or writable by others",
	Phase:    finding.PhaseInfra,
	Severity: finding.Medium,
	References: []string{"cis:1.1.1", "cis:1.1.3", "cis:1.1.5", "cis:1.1.7", "cis:1.1.9", "cis:1.1.11", "cis:1.1.13",
		"cis:1.1.15", "cis:1.1.17", "cis:1.1.20", "cis:1.1.21", "cis:4.1.1", "cis:4.1.5", "cis:4.1.7", "cis:4.1.9"},
	Description: "A control-plane manifest, kubeconfig, PKI certificate or key, CNI file, the kubelet service file, kubeconfig, client CA or configuration file (config.yaml), or etcd's data directory grants more than the benchmark allows: a local user or a container with the host's filesystem mounted can read credentials or change what runs as root.",
	Remediation: "chmod each file the finding names as the message says: 600 for keys, kubeconfigs, manifests and configuration, 644 for certificates and the client CA, 700 for etcd's data directory.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	var out []finding.Finding
	for _, f := range c.Snapshot.NodeFiles {
		p, ok := nodeFilePolicies[f.Role]
		if !ok || f.Mode&^p.maxMode == 0 {
			continue
		}
		fd := rule.New(finding.Resource{Kind: "Node", Name: f.Node}, finding.Location{Node: f.Node, File: f.Path},
			fmt.Sprintf("%s %s is mode %04o, wanted %04o or stricter: chmod %o %s", f.Role, f.Path, f.Mode, p.maxMode, p.maxMode, f.Path))
		fd.Evidence = map[string]any{"path": f.Path, "role": f.Role, "mode": fmt.Sprintf("%04o", f.Mode), "want": fmt.Sprintf("%04o", p.maxMode), "cis": p.modeRef}
		out = append(out, fd)
	}
	return out
})
