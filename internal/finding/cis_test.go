package finding_test

import (
	"strings"
	"testing"

	_ "redoubt.dev/redoubt/internal/access"
	_ "redoubt.dev/redoubt/internal/audit"
	_ "redoubt.dev/redoubt/internal/auditlog"
	_ "redoubt.dev/redoubt/internal/checks"
	_ "redoubt.dev/redoubt/internal/imagescan"
	_ "redoubt.dev/redoubt/internal/infra"
	_ "redoubt.dev/redoubt/internal/netpol/netcheck"
	_ "redoubt.dev/redoubt/internal/runtime/detect"
	_ "redoubt.dev/redoubt/internal/runtime/falco"
	_ "redoubt.dev/redoubt/internal/runtime/tetragon"

	"redoubt.dev/redoubt/internal/finding"
)

// cisKeywords ties each benchmark item a rule may cite to words its subject is named by: a rule
// citing the item must use one of them (in its id, title, description or remediation). A
// reference to a neighbouring item (4.2.11 for client-certificate rotation, 5.7.x of an older
// benchmark for seccomp) then fails.
var cisKeywords = map[string][]string{
	"1.1.1": {"manifest"}, "1.1.2": {"manifest"}, "1.1.3": {"manifest"}, "1.1.4": {"manifest"},
	"1.1.5": {"manifest"}, "1.1.6": {"manifest"}, "1.1.7": {"manifest"}, "1.1.8": {"manifest"},
	"1.1.9": {"cni"}, "1.1.10": {"cni"}, "1.1.11": {"etcd"}, "1.1.12": {"etcd"},
	"1.1.13": {"kubeconfig"}, "1.1.14": {"kubeconfig"}, "1.1.15": {"kubeconfig"}, "1.1.16": {"kubeconfig"},
	"1.1.17": {"kubeconfig"}, "1.1.18": {"kubeconfig"}, "1.1.19": {"pki"}, "1.1.20": {"certificate"}, "1.1.21": {"key"},
	"1.2.1":  {"anonymous"},
	"1.2.2":  {"token-auth-file"},
	"1.2.3":  {"externalips"},
	"1.2.4":  {"kubelet-client-certificate"},
	"1.2.5":  {"kubelet-certificate-authority"},
	"1.2.6":  {"alwaysallow"},
	"1.2.7":  {"authorization-mode", "node authorizer"},
	"1.2.8":  {"authorization-mode", "rbac"},
	"1.2.9":  {"eventratelimit"},
	"1.2.10": {"alwaysadmit"},
	"1.2.11": {"alwayspullimages"},
	"1.2.12": {"admission plugin serviceaccount", "serviceaccount admission", "serviceaccount and namespacelifecycle"},
	"1.2.13": {"namespacelifecycle"},
	"1.2.14": {"noderestriction"},
	"1.2.15": {"profiling"},
	"1.2.16": {"audit-log-path", "audit log"},
	"1.2.17": {"audit-log-maxage"}, "1.2.18": {"audit-log-maxbackup"}, "1.2.19": {"audit-log-maxsize"},
	"1.2.20": {"request-timeout"},
	"1.2.21": {"service-account-lookup"},
	"1.2.22": {"service-account-key-file"},
	"1.2.23": {"etcd-certfile"},
	"1.2.24": {"tls-cert-file"},
	"1.2.25": {"client-ca-file"},
	"1.2.26": {"etcd-cafile"},
	"1.2.27": {"encryption-provider-config"},
	"1.2.28": {"encryption"},
	"1.2.29": {"cipher"},
	"1.2.30": {"extend-token-expiration"},
	"1.3.1":  {"terminated-pod-gc-threshold"},
	"1.3.2":  {"profiling"},
	"1.3.3":  {"use-service-account-credentials"},
	"1.3.4":  {"service-account-private-key-file"},
	"1.3.5":  {"root-ca-file"},
	"1.3.6":  {"rotatekubeletservercertificate"},
	"1.3.7":  {"bind-address"},
	"1.4.1":  {"profiling"}, "1.4.2": {"bind-address"},
	"2.1": {"cert-file"}, "2.2": {"client-cert-auth"}, "2.3": {"auto-tls"}, "2.4": {"peer-cert-file"},
	"2.5": {"peer-client-cert-auth"}, "2.6": {"peer-auto-tls"}, "2.7": {"own ca", "its own ca", "unique"},
	"3.1.1": {"client certificate"}, "3.1.2": {"service account token"}, "3.1.3": {"bootstrap token"},
	"3.2.1": {"audit policy"}, "3.2.2": {"audit policy"},
	"4.1.1": {"service file"}, "4.1.2": {"service file"}, "4.1.3": {"kube-proxy"}, "4.1.4": {"kube-proxy"},
	"4.1.5": {"kubeconfig"}, "4.1.6": {"kubeconfig"}, "4.1.7": {"client ca"}, "4.1.8": {"client ca"},
	"4.1.9": {"kubelet configuration", "config.yaml"}, "4.1.10": {"kubelet configuration", "config.yaml"},
	"4.2.1":  {"anonymous"},
	"4.2.2":  {"authorization"},
	"4.2.3":  {"clientcafile", "client-ca-file"},
	"4.2.4":  {"read-only", "readonlyport"},
	"4.2.5":  {"streamingconnectionidletimeout"},
	"4.2.6":  {"makeiptablesutilchains"},
	"4.2.7":  {"hostname-override"},
	"4.2.8":  {"eventrecordqps"},
	"4.2.9":  {"tlscertfile", "tls-cert-file"},
	"4.2.10": {"rotatecertificates", "rotate-certificates"},
	"4.2.11": {"servertlsbootstrap", "rotatekubeletservercertificate"},
	"4.2.12": {"cipher"},
	"4.2.13": {"pid"},
	"4.2.14": {"seccomp-default", "seccompdefault"},
	"5.1.1":  {"cluster-admin"},
	"5.1.2":  {"secret"},
	"5.1.3":  {"wildcard", "*"},
	"5.1.4":  {"create pods", "create workloads", "create pod", "workload"},
	"5.1.5":  {"default service account"},
	"5.1.6":  {"automount", "token"},
	"5.1.7":  {"system:masters"},
	"5.1.8":  {"bind", "impersonate", "escalate"},
	"5.1.9":  {"persistentvolume", "persistent volume"},
	"5.1.10": {"nodes/proxy", "proxy"},
	"5.1.11": {"certificatesigningrequest", "csr"},
	"5.1.12": {"webhook"},
	"5.1.13": {"token"},
	"5.2.1":  {"pod security", "policy"},
	"5.2.2":  {"privileged"},
	"5.2.3":  {"hostpid", "host namespace", "host pid"},
	"5.2.4":  {"hostipc", "host namespace", "host ipc"},
	"5.2.5":  {"hostnetwork", "host namespace", "host network"},
	"5.2.6":  {"privilege escalation", "allowprivilegeescalation"},
	"5.2.7":  {"root"},
	"5.2.8":  {"net_raw", "capabilit"},
	"5.2.9":  {"capabilit"},
	"5.2.10": {"capabilit"},
	"5.2.11": {"hostprocess"},
	"5.2.12": {"hostpath"},
	"5.2.13": {"hostport"},
	"5.3.1":  {"network plugin", "cni"},
	"5.3.2":  {"networkpolic", "network polic"},
	"5.4.1":  {"secretkeyref", "envfrom", "secrets as environment"},
	"5.4.2":  {"secret"},
	"5.5.1":  {"image"},
	"5.6.1":  {"namespace"},
	"5.6.2":  {"seccomp"},
	"5.6.3":  {"securitycontext", "security context"},
	"5.6.4":  {"default namespace", "namespace default", "`default`"},
}

// knownWrong are references known to point at the wrong item, in code another branch owns; each
// says what the fix is. The test fails once the reference is gone, so the entry is removed then.
var knownWrong = map[string]string{}

// Every "cis:" reference of every registered rule names an item of the benchmark version the
// references follow, and an item about what the rule checks.
func TestCISReferences(t *testing.T) {
	if finding.CISKubernetesBenchmark == "" {
		t.Fatal("no benchmark version")
	}
	n := 0
	seenWrong := map[string]bool{}
	for _, r := range finding.Rules() {
		text := strings.ToLower(strings.Join([]string{r.ID, r.Title, r.Description, r.Remediation}, " "))
		for _, ref := range r.References {
			id, ok := strings.CutPrefix(ref, "cis:")
			if !ok {
				continue
			}
			n++
			if why, ok := knownWrong[r.ID+" "+ref]; ok {
				seenWrong[r.ID+" "+ref] = true
				t.Logf("%s %s: known wrong (%s)", r.ID, ref, why)
				continue
			}
			item, ok := finding.CISItemByID(id)
			if !ok {
				t.Errorf("%s: %s is not an item of CIS Kubernetes Benchmark %s", r.ID, ref, finding.CISKubernetesBenchmark)
				continue
			}
			words, ok := cisKeywords[id]
			if !ok {
				t.Errorf("%s: %s (%s): no keywords for this item in cisKeywords", r.ID, ref, item.Title)
				continue
			}
			found := false
			for _, w := range words {
				if strings.Contains(text, w) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: cites %s %q, but says nothing of %q", r.ID, ref, item.Title, words)
			}
		}
	}
	for k := range knownWrong {
		if !seenWrong[k] {
			t.Errorf("%s is fixed: remove it from knownWrong", k)
		}
	}
	if n < 50 {
		t.Errorf("only %d cis references found: are the rule packages imported?", n)
	}
}

// The table itself: unique numbers, titles present.
func TestCISItems(t *testing.T) {
	seen := map[string]bool{}
	for _, it := range finding.CISItems {
		if seen[it.ID] || it.Title == "" {
			t.Errorf("item %q duplicated or untitled", it.ID)
		}
		seen[it.ID] = true
	}
}
