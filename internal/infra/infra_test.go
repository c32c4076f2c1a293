package infra

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"redoubt.dev/redoubt/internal/controlplane"
	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
	"redoubt.dev/redoubt/internal/inventory/manifest"
)

// now is the day the embedded release calendar was generated, so version verdicts are stable.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func load(t *testing.T, dir string) *inventory.Snapshot {
	t.Helper()
	s, err := manifest.Load(context.Background(), []string{dir}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Problems {
		t.Fatalf("%s: %v", dir, p)
	}
	return s
}

func run(s *inventory.Snapshot) []finding.Finding {
	return Run(&Context{Snapshot: s, Now: now})
}

// failed lists "component check" for every finding, sorted and de-duplicated.
func reported(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		who := f.Resource.Name
		if c, ok := f.Evidence["component"].(string); ok {
			who = c
		}
		out = append(out, who+" "+f.Check)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func checkFindings(t *testing.T, fs []finding.Finding) {
	t.Helper()
	for _, f := range fs {
		r, ok := finding.Lookup(f.Check)
		if !ok {
			t.Errorf("finding of unregistered check %s", f.Check)
			continue
		}
		if f.Phase != finding.PhaseInfra || f.Message == "" || f.Resource.Name == "" {
			t.Errorf("%s: incomplete finding %+v", f.Check, f)
		}
		if len(r.References) == 0 {
			t.Errorf("%s: no reference", f.Check)
		}
	}
}

func TestStaticPodManifests(t *testing.T) {
	tests := []struct {
		dir  string
		want []string
	}{
		{"testdata/weak", []string{
			"etcd etcd-client-cert-auth", "etcd etcd-peer-tls", "etcd etcd-tls",
			"kube-apiserver apiserver-admission-plugins", "kube-apiserver apiserver-admission-plugins-recommended", "kube-apiserver apiserver-anonymous-auth",
			"kube-apiserver apiserver-audit-log-retention", "kube-apiserver apiserver-authorization-always-allow",
			"kube-apiserver apiserver-authorization-mode", "kube-apiserver apiserver-client-ca", "kube-apiserver apiserver-etcd-tls",
			"kube-apiserver apiserver-kubelet-certificate-authority", "kube-apiserver apiserver-kubelet-client-certificate",
			"kube-apiserver apiserver-profiling", "kube-apiserver apiserver-service-account-key-file",
			"kube-apiserver apiserver-service-account-lookup", "kube-apiserver apiserver-serving-certificate",
			"kube-apiserver apiserver-token-auth-file",
			// The encryption configuration lives on the node: not assessable from manifests.
			"kube-apiserver control-plane-not-assessable",
			"kube-apiserver kubernetes-patch-outdated", "kube-apiserver kubernetes-version-unsupported",
			"kube-controller-manager controller-manager-bind-address", "kube-controller-manager controller-manager-profiling",
			"kube-controller-manager controller-manager-service-account-credentials", "kube-controller-manager controller-manager-service-account-keys",
			"kube-scheduler scheduler-bind-address", "kube-scheduler scheduler-profiling",
		}},
		{"testdata/hardened", []string{"kube-apiserver control-plane-not-assessable"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			fs := run(load(t, tt.dir))
			checkFindings(t, fs)
			if got := reported(fs); !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for _, f := range fs {
				if f.Location.File == "" || f.Location.Line == 0 {
					t.Errorf("%s: no file and line: %+v", f.Check, f.Location)
				}
			}
		})
	}
}

func TestWeakMessagesNameTheEvidence(t *testing.T) {
	fs := run(load(t, "testdata/weak"))
	want := map[string]string{
		"apiserver-anonymous-auth":       "--anonymous-auth=true",
		"apiserver-admission-plugins":    "AlwaysAdmit is enabled",
		"etcd-tls":                       "http://0.0.0.0:2379",
		"etcd-peer-tls":                  "--peer-auto-tls",
		"scheduler-bind-address":         "--bind-address=0.0.0.0",
		"controller-manager-profiling":   "--profiling=true (the default)",
		"kubernetes-version-unsupported": "Kubernetes 1.33.4",
		"kubernetes-patch-outdated":      "behind 1.33.13",
		"control-plane-not-assessable":   "/etc/kubernetes/enc.yaml",
	}
	for _, f := range fs {
		if w, ok := want[f.Check]; ok {
			if !strings.Contains(f.Message, w) {
				t.Errorf("%s: message %q does not mention %q", f.Check, f.Message, w)
			}
			delete(want, f.Check)
		}
	}
	for id := range want {
		t.Errorf("no %s finding", id)
	}
}

// liveSnapshot is a live cluster's snapshot with the given server version and nodes.
func liveSnapshot(version string, nodes ...*corev1.Node) *inventory.Snapshot {
	b := inventory.NewBuilder(inventory.Source{Kind: inventory.SourceCluster, Cluster: "c1", ServerVersion: version}, "")
	for _, n := range nodes {
		b.Add(n, inventory.Origin{Cluster: "c1"}, nil)
	}
	return b.Snapshot()
}

func node(name, kubelet string, labels map[string]string, providerID string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "uid-" + "name", Labels: labels},
		Spec:   corev1.NodeSpec{ProviderID: providerID},
		Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: kubelet}}}
}

func TestManagedControlPlaneIsNotAssessable(t *testing.T) {
	tests := []struct {
		name     string
		snap     *inventory.Snapshot
		platform string
	}{
		{"EKS by version", liveSnapshot("v1.35.4-eks-a737599", node("ip-10-0-0-1", "v1.35.4-eks-a737599", nil, "aws:///eu-west-1a/i-0abc")), "EKS"},
		{"GKE by version", liveSnapshot("v1.36.2-gke.1146000"), "GKE"},
		{"AKS by node label", liveSnapshot("v1.36.3", node("aks-pool-1", "v1.36.3", map[string]string{"kubernetes.azure.com/cluster": "MC_rg_c1"}, "azure:///subscriptions/x")), "AKS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := run(tt.snap)
			var na []string
			for _, f := range fs {
				switch {
				case f.Check == "control-plane-not-assessable":
					na = append(na, f.Resource.Name)
					if !strings.Contains(f.Message, "managed by "+tt.platform) {
						t.Errorf("message %q does not name %s", f.Message, tt.platform)
					}
				case strings.HasPrefix(f.Check, "apiserver-") || strings.HasPrefix(f.Check, "etcd-") ||
					strings.HasPrefix(f.Check, "controller-manager-") || strings.HasPrefix(f.Check, "scheduler-"):
					t.Errorf("a managed control plane got a verdict: %s: %s", f.Check, f.Message)
				}
			}
			slices.Sort(na)
			want := []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
			if !slices.Equal(na, want) {
				t.Errorf("not assessable: %v, want %v", na, want)
			}
		})
	}
	// A provider ID alone does not make a cluster managed: kops and kubeadm run on clouds too.
	if p := controlplane.DetectPlatform(liveSnapshot("v1.37.2", node("n", "v1.37.2", nil, "aws:///x/i-1"))); p.Managed() {
		t.Errorf("provider ID alone detected as %s", p.Name)
	}
}

func TestVersionChecks(t *testing.T) {
	tests := []struct {
		version string
		want    []string
	}{
		{"v1.37.2", nil},
		{"v1.37.1", []string{"kubernetes-patch-outdated"}},
		{"v1.35.10", nil},
		{"v1.34.13", []string{"kubernetes-version-unsupported"}},
		{"v1.30.4-eks-a737599", []string{"kubernetes-patch-outdated", "kubernetes-version-unsupported"}},
		{"v1.38.0", nil}, // newer than the calendar: nothing can be said
	}
	for _, tt := range tests {
		var got []string
		for _, f := range run(liveSnapshot(tt.version)) {
			if strings.HasPrefix(f.Check, "kubernetes-") {
				got = append(got, f.Check)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.version, got, tt.want)
		}
	}
}

func TestReleaseCalendarStale(t *testing.T) {
	s := liveSnapshot("v1.37.2")
	count := func(at time.Time) int {
		n := 0
		for _, f := range Run(&Context{Snapshot: s, Now: at}) {
			if f.Check == "release-calendar-stale" {
				n++
			}
		}
		return n
	}
	if n := count(now.AddDate(0, 0, 59)); n != 0 {
		t.Errorf("59 days after generation: %d stale findings", n)
	}
	if n := count(now.AddDate(0, 0, 61)); n != 1 {
		t.Errorf("61 days after generation: %d stale findings, want 1", n)
	}
}

func TestKubeletVersionSkew(t *testing.T) {
	s := liveSnapshot("v1.37.2",
		node("same", "v1.37.2", nil, ""), node("three-behind", "v1.34.13", nil, ""),
		node("four-behind", "v1.33.9", nil, ""), node("newer", "v1.38.0", nil, ""))
	var got []string
	for _, f := range run(s) {
		if f.Check == "kubelet-version-skew" {
			got = append(got, f.Resource.Name)
		}
	}
	slices.Sort(got)
	if want := []string{"four-behind", "newer"}; !slices.Equal(got, want) {
		t.Errorf("skewed nodes %v, want %v", got, want)
	}
	// Before 1.28 the policy allowed two minors.
	for _, f := range run(liveSnapshot("v1.27.3", node("three-behind", "v1.24.1", nil, ""))) {
		if f.Check == "kubelet-version-skew" && !strings.Contains(f.Message, "allows 2") {
			t.Errorf("1.27 skew message %q", f.Message)
		}
	}
}

func TestAnonymousProbe(t *testing.T) {
	tests := []struct {
		name     string
		statuses map[string]int
		want     bool
	}{
		{"anonymous on", map[string]int{"/api": 403, "/version": 200, "/healthz": 200}, true},
		{"anonymous off", map[string]int{"/api": 401, "/version": 401, "/healthz": 401}, false},
		{"health endpoints only", map[string]int{"/api": 401, "/version": 401, "/healthz": 200}, false},
	}
	for _, tt := range tests {
		s := liveSnapshot("v1.37.2")
		s.AnonymousProbe = &inventory.AnonymousProbe{Server: "https://192.0.2.1:6443"}
		for _, p := range []string{"/api", "/version", "/healthz"} {
			s.AnonymousProbe.Results = append(s.AnonymousProbe.Results, inventory.ProbeResult{Path: p, Status: tt.statuses[p]})
		}
		got := slices.ContainsFunc(run(s), func(f finding.Finding) bool { return f.Check == "apiserver-anonymous-access" })
		if got != tt.want {
			t.Errorf("%s: finding %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestKubeletSettings(t *testing.T) {
	hardened := []byte(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}
authorization: {mode: Webhook}
readOnlyPort: 0
rotateCertificates: true
serverTLSBootstrap: true
`)
	configz := []byte(`{"kubeletconfig":{"authentication":{"anonymous":{"enabled":true},"webhook":{"enabled":true},"x509":{"clientCAFile":"/etc/kubernetes/pki/ca.crt"}},"authorization":{"mode":"Webhook"},"readOnlyPort":10255,"rotateCertificates":true,"serverTLSBootstrap":true}}`)
	tests := []struct {
		name string
		comp inventory.Component
		want []string
	}{
		{"flags only: legacy defaults", inventory.Component{PID: 10, Args: []string{"--kubeconfig=/etc/kubernetes/kubelet.conf"}},
			[]string{"kubelet-anonymous-auth", "kubelet-authorization-mode", "kubelet-certificate-rotation", "kubelet-client-ca", "kubelet-read-only-port", "kubelet-serving-certificate"}},
		{"config file: v1beta1 defaults and its settings", inventory.Component{PID: 10, Args: []string{"--config=/var/lib/kubelet/config.yaml"},
			Config: hardened, ConfigSource: "file", Origin: inventory.Origin{File: "/var/lib/kubelet/config.yaml"}}, nil},
		{"a flag beats the config file", inventory.Component{PID: 10, Args: []string{"--config=/var/lib/kubelet/config.yaml", "--anonymous-auth", "--read-only-port=10255"},
			Config: hardened, ConfigSource: "file", Origin: inventory.Origin{File: "/var/lib/kubelet/config.yaml"}},
			[]string{"kubelet-anonymous-auth", "kubelet-read-only-port"}},
		{"config file alone, minimal: v1beta1 defaults", inventory.Component{Config: []byte("kind: KubeletConfiguration\napiVersion: kubelet.config.k8s.io/v1beta1\n"), ConfigSource: "file",
			Origin: inventory.Origin{File: "/var/lib/kubelet/config.yaml"}},
			[]string{"kubelet-certificate-rotation", "kubelet-client-ca", "kubelet-serving-certificate"}},
		{"configz", inventory.Component{Node: "n1", Config: configz, ConfigSource: "configz"},
			[]string{"kubelet-anonymous-auth", "kubelet-read-only-port"}},
		{"configz error", inventory.Component{Node: "n1", ConfigSource: "configz", Error: "configz of node n1: forbidden"},
			[]string{"control-plane-not-assessable"}},
		{"not a kubelet configuration", inventory.Component{Config: []byte("kind: Pod\n"), ConfigSource: "file", Origin: inventory.Origin{File: "/x.yaml"}},
			[]string{"control-plane-not-assessable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := liveSnapshot("")
			s.Source = inventory.Source{Kind: inventory.SourceNode, Node: "n1"}
			c := tt.comp
			c.Name = controlplane.Kubelet
			s.Components = []*inventory.Component{&c}
			fs := run(s)
			checkFindings(t, fs)
			var got []string
			for _, f := range fs {
				got = append(got, f.Check)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
				for _, f := range fs {
					t.Log(f.Message)
				}
			}
		})
	}
}

func TestEveryCheckIsDocumented(t *testing.T) {
	ids := map[string]bool{}
	for _, c := range componentChecks {
		ids[c.rule.ID] = true
		if !strings.HasPrefix(c.rule.References[0], "cis:") {
			t.Errorf("%s: first reference %q is not a CIS section", c.rule.ID, c.rule.References[0])
		}
	}
	for _, c := range clusterChecks {
		ids[c.rule.ID] = true
	}
	if len(ids) < 30 {
		t.Errorf("only %d infra checks registered", len(ids))
	}
}
