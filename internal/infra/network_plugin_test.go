package infra

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

func daemonSet(ns, name, image string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
		},
	}
}

func TestNetworkPluginPolicy(t *testing.T) {
	kubeProxy := daemonSet("kube-system", "kube-proxy", "registry.k8s.io/kube-proxy:v1.37.2")
	tests := []struct {
		name      string
		namespace string
		objs      []*appsv1.DaemonSet
		want      string // a word of the message; "" for no finding
	}{
		{"flannel alone", "", []*appsv1.DaemonSet{kubeProxy, daemonSet("kube-flannel", "kube-flannel-ds", "ghcr.io/flannel-io/flannel:v0.26.1")}, "flannel (DaemonSet kube-flannel/kube-flannel-ds)"},
		{"no plugin", "", []*appsv1.DaemonSet{kubeProxy}, "no DaemonSet of a network plugin"},
		{"canal: calico beside flannel", "", []*appsv1.DaemonSet{kubeProxy, daemonSet("kube-system", "canal", "docker.io/calico/node:v3.29.0"), daemonSet("kube-system", "kube-flannel", "ghcr.io/flannel-io/flannel:v0.26.1")}, ""},
		{"cilium", "", []*appsv1.DaemonSet{daemonSet("kube-system", "cilium", "quay.io/cilium/cilium:v1.16.4")}, ""},
		{"calico by operator", "", []*appsv1.DaemonSet{kubeProxy, daemonSet("calico-system", "calico-node", "docker.io/calico/node:v3.29.0")}, ""},
		{"antrea", "", []*appsv1.DaemonSet{kubeProxy, daemonSet("kube-system", "antrea-agent", "antrea/antrea-agent-ubuntu:v2.2.0")}, ""},
		{"kube-router", "", []*appsv1.DaemonSet{kubeProxy, daemonSet("kube-system", "kube-router", "docker.io/cloudnativelabs/kube-router:v2.4.0")}, ""},
		{"weave", "", []*appsv1.DaemonSet{kubeProxy, daemonSet("kube-system", "weave-net", "weaveworks/weave-kube:2.8.1")}, ""},
		{"scan limited to another namespace", "shop", []*appsv1.DaemonSet{kubeProxy}, ""},
		{"kube-system not seen", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := inventory.NewBuilder(inventory.Source{Kind: inventory.SourceCluster, Cluster: "c1", Namespace: tt.namespace}, "")
			for _, o := range tt.objs {
				b.Add(o, inventory.Origin{Cluster: "c1"}, nil)
			}
			fs := run(b.Snapshot())
			var msgs []string
			for _, f := range fs {
				if f.Check == "network-plugin-no-policy" {
					msgs = append(msgs, f.Message)
				}
			}
			switch {
			case tt.want == "" && len(msgs) > 0:
				t.Errorf("unexpected finding: %v", msgs)
			case tt.want != "" && !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, tt.want) }):
				t.Errorf("findings %v, want one saying %q", msgs, tt.want)
			}
			checkFindings(t, slices.DeleteFunc(fs, func(f finding.Finding) bool { return f.Check != "network-plugin-no-policy" }))
		})
	}
	// A manifest scan says nothing of the cluster's plugin.
	b := inventory.NewBuilder(inventory.Source{Kind: inventory.SourceManifests}, "")
	b.Add(kubeProxy, inventory.Origin{File: "ds.yaml"}, nil)
	if slices.ContainsFunc(run(b.Snapshot()), func(f finding.Finding) bool { return f.Check == "network-plugin-no-policy" }) {
		t.Error("manifest scan judged the network plugin")
	}
}
