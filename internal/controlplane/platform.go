package controlplane

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/inventory"
)

// Platform is a managed Kubernetes service whose provider runs the control plane: its flags,
// static pods and etcd are hidden from the cluster's users.
type Platform struct {
	// Name is "EKS", "GKE" or "AKS"; empty when the control plane is not recognisably managed.
	Name string
	// Evidence says what gave it away.
	Evidence string
}

// Managed reports whether a managed platform was recognised.
func (p Platform) Managed() bool { return p.Name != "" }

// platformSigns are what each managed service leaves on a cluster. A provider ID alone is not
// a sign: self-managed clusters on the same clouds carry it too.
var platformSigns = []struct {
	name          string
	versionMarker string
	nodeLabels    []string
}{
	{"EKS", "-eks-", []string{"eks.amazonaws.com/nodegroup", "eks.amazonaws.com/compute-type", "eks.amazonaws.com/capacityType"}},
	{"GKE", "-gke.", []string{"cloud.google.com/gke-nodepool", "cloud.google.com/gke-os-distribution", "cloud.google.com/gke-boot-disk"}},
	{"AKS", "", []string{"kubernetes.azure.com/cluster", "kubernetes.azure.com/agentpool", "kubernetes.azure.com/managedby"}},
}

// DetectPlatform recognises EKS, GKE and AKS from the API server's version string and the
// nodes' labels.
func DetectPlatform(s *inventory.Snapshot) Platform {
	for _, p := range platformSigns {
		if p.versionMarker != "" && strings.Contains(s.Source.ServerVersion, p.versionMarker) {
			return Platform{Name: p.name, Evidence: fmt.Sprintf("the API server reports version %s", s.Source.ServerVersion)}
		}
	}
	for _, p := range platformSigns {
		for _, n := range s.Nodes {
			for _, l := range p.nodeLabels {
				if _, ok := n.Labels[l]; ok {
					ev := fmt.Sprintf("node %s carries label %s", n.Name, l)
					if n.Spec.ProviderID != "" {
						ev += fmt.Sprintf(" (provider ID %s)", n.Spec.ProviderID)
					}
					return Platform{Name: p.name, Evidence: ev}
				}
			}
		}
	}
	return Platform{}
}
