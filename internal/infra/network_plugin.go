package infra

import (
	"fmt"
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// networkPlugin is a CNI plugin recognised by its DaemonSet.
type networkPlugin struct {
	name string
	// match are substrings of the DaemonSet's name or its containers' image repositories.
	match []string
	// enforces says whether the plugin enforces NetworkPolicy.
	enforces bool
}

// networkPlugins are the common plugins. Canal is Calico's policy engine over flannel, so a
// cluster with calico and flannel DaemonSets enforces policies.
var networkPlugins = []networkPlugin{
	{"Calico", []string{"calico-node", "calico/node", "canal"}, true},
	{"Cilium", []string{"cilium"}, true},
	{"Weave Net", []string{"weave-net", "weaveworks/weave-kube"}, true},
	{"kube-router", []string{"kube-router"}, true},
	{"Antrea", []string{"antrea-agent", "antrea/antrea"}, true},
	{"flannel", []string{"flannel"}, false},
}

// networkPluginPolicy reports, on a live cluster, a network plugin that does not enforce
// NetworkPolicy: flannel alone, or no plugin Redoubt recognises among the DaemonSets. Then
// every NetworkPolicy is accepted by the API server and ignored on the wire, so every finding
// about network policies (and every "isolated" verdict) describes intent, not traffic. The
// plugins are recognised by their DaemonSets' names and images (Calico, Cilium, Weave Net,
// kube-router, Antrea, flannel). Managed clusters, whose providers run their own policy engines,
// and scans that did not see kube-system's DaemonSets are not judged.
var networkPluginPolicy = registerCluster(finding.Rule{
	ID:          "network-plugin-no-policy",
	Title:       "Network plugin may not enforce NetworkPolicy",
	Phase:       finding.PhaseInfra,
	Severity:    finding.Info,
	References:  []string{"cis:5.3.1"},
	Description: "The cluster's network plugin (CNI) is flannel alone, which does not enforce NetworkPolicy, or no network plugin known to enforce it was found among the DaemonSets: NetworkPolicies are then accepted but have no effect, and network findings describe intent rather than traffic.",
	Remediation: "Run a network plugin that enforces NetworkPolicy (Calico, Cilium, Antrea, kube-router, or Canal to keep flannel's networking), then verify with a deny-all policy that traffic is really blocked.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	s := c.Snapshot
	if s.Source.Kind != inventory.SourceCluster || c.Platform.Managed() || (s.Source.Namespace != "" && s.Source.Namespace != "kube-system") {
		return nil
	}
	sawKubeSystem := false
	found := map[string]*inventory.Workload{}
	for _, w := range s.Workloads {
		if w.Kind != "DaemonSet" {
			continue
		}
		if w.Namespace == "kube-system" {
			sawKubeSystem = true
		}
		for _, p := range networkPlugins {
			if _, ok := found[p.name]; !ok && daemonSetIs(w, p) {
				found[p.name] = w
			}
		}
	}
	if !sawKubeSystem {
		return nil
	}
	var names []string
	for _, p := range networkPlugins {
		if _, ok := found[p.name]; ok {
			if p.enforces {
				return nil
			}
			names = append(names, p.name)
		}
	}
	res := finding.Resource{Cluster: s.Source.Cluster, Kind: "Cluster", Name: s.Source.Cluster}
	if res.Name == "" {
		res.Name = "cluster"
	}
	msg := "no DaemonSet of a network plugin that enforces NetworkPolicy (Calico, Cilium, Weave Net, kube-router, Antrea) was found: NetworkPolicies may be ignored"
	var loc finding.Location
	if slices.Contains(names, "flannel") {
		w := found["flannel"]
		res = finding.Resource{Cluster: s.Source.Cluster, Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
		loc = finding.Location{UID: w.UID, File: w.Origin.File, Line: w.Origin.Line}
		msg = fmt.Sprintf("the network plugin is flannel (DaemonSet %s/%s) with no policy engine beside it: NetworkPolicies are accepted and ignored", w.Namespace, w.Name)
	}
	f := rule.New(res, loc, msg)
	f.Evidence = map[string]any{"plugins": names}
	return []finding.Finding{f}
})

// daemonSetIs reports whether a DaemonSet is the plugin's, by its name or its images.
func daemonSetIs(w *inventory.Workload, p networkPlugin) bool {
	cands := []string{strings.ToLower(w.Name)}
	for _, ct := range slices.Concat(w.Template.Spec.InitContainers, w.Template.Spec.Containers) {
		img := strings.ToLower(ct.Image)
		if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
			img = img[:i]
		}
		cands = append(cands, img)
	}
	for _, cand := range cands {
		for _, m := range p.match {
			if strings.Contains(cand, m) {
				return true
			}
		}
	}
	return false
}
