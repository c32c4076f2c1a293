package infra

import (
	"fmt"
	"slices"

	"redoubt.dev/redoubt/internal/finding"
)

// nodeFileOwnership requires the node files the CIS benchmark lists (sections 1.1 and 4.1) to
// be owned by root:root (etcd's data directory by root or the etcd user): a file owned by another
// user can be rewritten or re-permissioned by that user, whatever its mode.
var nodeFileOwnership = registerCluster(finding.Rule{
	ID:       "node-file-ownership",
	Title:    "Sensitive node file not owned by root",
	Phase:    finding.PhaseInfra,
	Severity: finding.Medium,
	References: []string{"cis:1.1.2", "cis:1.1.4", "cis:1.1.6", "cis:1.1.8", "cis:1.1.10", "cis:1.1.12", "cis:1.1.14",
		"cis:1.1.16", "cis:1.1.18", "cis:1.1.19", "cis:4.1.2", "cis:4.1.6", "cis:4.1.8", "cis:4.1.10"},
	Description: "A control-plane manifest, kubeconfig, PKI file, CNI file, the kubelet service file, kubeconfig, client CA or configuration file (config.yaml), or etcd's data directory is owned by a user or group other than root (etcd for its data directory), who can change it or its permissions.",
	Remediation: "chown each file the finding names to root:root (etcd's data directory to etcd:etcd when etcd runs as that user), as the message says.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	var out []finding.Finding
	for _, f := range c.Snapshot.NodeFiles {
		p, ok := nodeFilePolicies[f.Role]
		if !ok {
			continue
		}
		userOK := f.UID == 0 || (f.Owner != "" && slices.Contains(p.owners, f.Owner))
		groupOK := f.GID == 0 || (f.Owner != "" && f.Owner != "root" && slices.Contains(p.owners, f.Owner))
		if userOK && groupOK {
			continue
		}
		owner := fmt.Sprint(f.UID)
		if f.Owner != "" {
			owner = f.Owner
		}
		want := "root:root"
		if f.UID != 0 && f.Owner != "" && f.Owner != "root" && slices.Contains(p.owners, f.Owner) {
			want = f.Owner + ":" + f.Owner
		}
		flag := ""
		if f.Dir {
			flag = "-R "
		}
		fd := rule.New(finding.Resource{Kind: "Node", Name: f.Node}, finding.Location{Node: f.Node, File: f.Path},
			fmt.Sprintf("%s %s is owned by %s (uid %d, gid %d), wanted %s: chown %s%s %s", f.Role, f.Path, owner, f.UID, f.GID, want, flag, want, f.Path))
		fd.Evidence = map[string]any{"path": f.Path, "role": f.Role, "uid": f.UID, "gid": f.GID, "cis": p.ownerRef}
		out = append(out, fd)
	}
	return out
})
