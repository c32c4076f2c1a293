package node

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"redoubt.dev/redoubt/internal/infra"
)

const auditPolicyHeader = "apiVersion: audit.k8s.io/v1\nkind: Policy\n"

// The node audit reads the audit policy the API server's static pod names, through its hostPath
// mount, and judges what it records.
func TestAuditPolicyContent(t *testing.T) {
	tests := []struct {
		name, policy string
		want         string // a word of the finding's message; "" for no finding
	}{
		{"no rules", "rules: []\n", "records nothing"},
		{"only None", "rules:\n  - level: None\n", "records nothing"},
		{"secrets with bodies", "rules:\n  - level: RequestResponse\n", "logs secrets at level RequestResponse"},
		{"secrets named, Request", "rules:\n  - level: Request\n    resources: [{group: \"\", resources: [secrets, configmaps]}]\n  - level: Metadata\n", "rule 1 logs secrets at level Request"},
		{"one user's secret reads with bodies, before the Metadata rule", "rules:\n  - level: RequestResponse\n    users: [admin]\n    resources: [{group: \"\", resources: [secrets]}]\n  - level: Metadata\n    resources: [{group: \"\", resources: [secrets]}]\n  - level: RequestResponse\n", "rule 1 logs secrets"},
		{"secrets at Metadata first", "rules:\n  - level: Metadata\n    resources: [{group: \"\", resources: [secrets, configmaps]}]\n  - level: RequestResponse\n", ""},
		{"other groups' secrets do not count", "rules:\n  - level: RequestResponse\n    resources: [{group: apps, resources: [deployments]}]\n  - level: Metadata\n", ""},
		{"non-resource URLs do not count", "rules:\n  - level: RequestResponse\n    nonResourceURLs: [/healthz]\n  - level: Metadata\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			root := filepath.Join(dir, "root")
			manifests := filepath.Join(dir, "manifests")
			write(t, filepath.Join(root, "srv/audit/policy.yaml"), auditPolicyHeader+tt.policy)
			write(t, filepath.Join(manifests, "kube-apiserver.yaml"), `apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: kube-system}
spec:
  containers:
    - name: kube-apiserver
      image: registry.cluster.internal/kube-apiserver:v1.37.2
      command: [kube-apiserver, --audit-policy-file=/etc/kubernetes/audit/policy.yaml, --audit-log-path=/var/log/audit.log]
      volumeMounts: [{name: audit, mountPath: /etc/kubernetes/audit, readOnly: true}]
  volumes: [{name: audit, hostPath: {path: /srv/audit}}]
`)
			snap, err := Load(context.Background(), Options{Proc: "-", ManifestsDir: manifests, Root: root, KubeletConfig: "-", NodeName: "cp1"})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, f := range infra.Run(&infra.Context{Snapshot: snap}) {
				if f.Check == "apiserver-audit-policy" {
					msgs = append(msgs, f.Message)
				}
				if f.Check == "control-plane-not-assessable" && strings.Contains(f.Message, "apiserver-audit-policy") {
					t.Errorf("not assessable: %s", f.Message)
				}
			}
			switch {
			case tt.want == "" && len(msgs) > 0:
				t.Errorf("unexpected finding: %v", msgs)
			case tt.want != "" && !slices.ContainsFunc(msgs, func(m string) bool {
				return strings.Contains(m, tt.want) && strings.Contains(m, "/srv/audit/policy.yaml")
			}):
				t.Errorf("findings %v, want one saying %q about /srv/audit/policy.yaml", msgs, tt.want)
			}
		})
	}
}

func FuzzAuditPolicyRules(f *testing.F) {
	f.Add([]byte(auditPolicyHeader + "rules:\n  - level: Metadata\n    resources: [{group: \"\", resources: [secrets]}]\n"))
	f.Add([]byte("kind: Policy\nrules: 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := AuditPolicyRules(data)
		if err == nil && len(rules) > MaxAuditPolicyRules {
			t.Fatalf("%d rules", len(rules))
		}
	})
}
