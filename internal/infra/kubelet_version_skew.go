package infra

import (
	"fmt"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/releases"
)

// maxKubeletSkew is how many minors a kubelet may trail the API server: three since Kubernetes
// 1.28, two before (kubernetes.io/releases/version-skew-policy).
func maxKubeletSkew(apiserver releases.Version) int {
	if apiserver.Major == 1 && apiserver.Minor < 28 {
		return 2
	}
	return 3
}

// kubeletVersionSkew forbids kubelets outside the version-skew policy: newer than the API
// server (never supported), or older than it by more than the policy allows. Such nodes are
// untested combinations, and an old kubelet also misses the security fixes of its own release.
// It reads each Node's status.nodeInfo.kubeletVersion and the API server's version.
var kubeletVersionSkew = registerCluster(finding.Rule{
	ID:          "kubelet-version-skew",
	Title:       "Kubelet outside the version-skew policy",
	Phase:       finding.PhaseInfra,
	Severity:    finding.High,
	References:  []string{"k8s:version-skew-policy"},
	Description: "A node's kubelet is newer than the API server, or older by more than the version-skew policy allows (three minors since 1.28, two before). The combination is unsupported, and the old kubelet lacks its own release's fixes.",
	Remediation: "Upgrade (or, if newer, roll back) the node's kubelet to within the policy: never newer than the API server, at most three minors older.",
}, func(c *Context, rule *finding.Rule) []finding.Finding {
	cvs := c.controlPlaneVersions()
	if len(cvs) == 0 {
		return nil
	}
	api := cvs[0].version
	for _, cv := range cvs[1:] {
		if cv.version.Compare(api) < 0 {
			api = cv.version // the policy counts from the oldest API server
		}
	}
	limit := maxKubeletSkew(api)
	var out []finding.Finding
	for _, n := range c.Snapshot.Nodes {
		raw := n.Status.NodeInfo.KubeletVersion
		if raw == "" {
			continue
		}
		kv, err := releases.ParseVersion(raw)
		if err != nil {
			continue
		}
		behind := kv.MinorsBehind(api)
		var msg string
		switch {
		case behind < 0:
			msg = fmt.Sprintf("kubelet %s is newer than the API server %s: a kubelet must never be newer", raw, api)
		case behind > limit:
			msg = fmt.Sprintf("kubelet %s is %d minors behind the API server %s; the policy allows %d", raw, behind, api, limit)
		default:
			continue
		}
		res := finding.Resource{Cluster: c.Snapshot.Source.Cluster, Kind: "Node", Name: n.Name}
		f := rule.New(res, finding.Location{UID: n.Origin.UID, File: n.Origin.File, Line: n.Origin.Line, Node: n.Name}, msg)
		f.Evidence = map[string]any{"kubeletVersion": raw, "apiServerVersion": api.Raw, "minorsBehind": behind, "allowed": limit}
		out = append(out, f)
	}
	return out
})
