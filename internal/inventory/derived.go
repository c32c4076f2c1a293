package inventory

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// TokenMounted reports whether the workload's pods mount their service account's API token:
// the pod spec's automountServiceAccountToken wins, then the service account's; the default
// is yes.
func (s *Snapshot) TokenMounted(w *Workload) bool {
	if v := w.Template.Spec.AutomountServiceAccountToken; v != nil {
		return *v
	}
	if sa := s.ServiceAccount(w.Namespace, w.ServiceAccountName()); sa != nil && sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// ExternalExposure says how the Service exposes its pods outside the cluster: "LoadBalancer",
// "NodePort", "externalIPs", or "" when it does not.
func (svc *Service) ExternalExposure() string {
	switch {
	case svc.Spec.Type == corev1.ServiceTypeLoadBalancer:
		return "LoadBalancer"
	case svc.Spec.Type == corev1.ServiceTypeNodePort:
		return "NodePort"
	case len(svc.Spec.ExternalIPs) > 0:
		return "externalIPs"
	}
	return ""
}

// IsCNIPolicy recognises the network policies of specific network plugins (Cilium, Calico),
// which Redoubt recognises but does not analyse.
func (o *Unstructured) IsCNIPolicy() bool {
	group, _, _ := strings.Cut(o.APIVersion, "/")
	switch {
	case group == "cilium.io" && (o.Kind == "CiliumNetworkPolicy" || o.Kind == "CiliumClusterwideNetworkPolicy"):
		return true
	case (group == "crd.projectcalico.org" || group == "projectcalico.org") &&
		(o.Kind == "NetworkPolicy" || o.Kind == "GlobalNetworkPolicy"):
		return true
	}
	return false
}
