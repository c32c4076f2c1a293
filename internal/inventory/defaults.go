package inventory

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// The API server applies defaults when it stores an object; manifests lack them. Redoubt applies
// the ones that change a verdict, so a manifest and the object it becomes in a cluster are judged
// alike. Each default below is the one the API server applies (pkg/apis/*/v1/defaults.go).

// defaultPodSpec applies pod defaults that change a verdict.
func defaultPodSpec(spec *corev1.PodSpec) {
	for i := range spec.Volumes {
		// A volume with no source is an emptyDir.
		if isEmptyVolumeSource(&spec.Volumes[i].VolumeSource) {
			spec.Volumes[i].EmptyDir = &corev1.EmptyDirVolumeSource{}
		}
	}
	defaultPorts := func(ports []corev1.ContainerPort) {
		for i := range ports {
			if ports[i].Protocol == "" {
				ports[i].Protocol = corev1.ProtocolTCP
			}
		}
	}
	for i := range spec.InitContainers {
		defaultPorts(spec.InitContainers[i].Ports)
	}
	for i := range spec.Containers {
		defaultPorts(spec.Containers[i].Ports)
	}
	for i := range spec.EphemeralContainers {
		defaultPorts(spec.EphemeralContainers[i].Ports)
	}
}

func isEmptyVolumeSource(v *corev1.VolumeSource) bool {
	return *v == corev1.VolumeSource{}
}

// defaultService applies Service defaults: type ClusterIP, protocol TCP, targetPort = port.
func defaultService(s *corev1.Service) {
	if s.Spec.Type == "" {
		s.Spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort.IntVal == 0 && p.TargetPort.StrVal == "" {
			p.TargetPort.IntVal = p.Port
		}
	}
}

// defaultNetworkPolicy applies NetworkPolicy defaults: ports without a protocol are TCP, and
// policyTypes, when absent, is Ingress plus Egress if the policy has egress rules.
func defaultNetworkPolicy(np *networkingv1.NetworkPolicy) {
	tcp := corev1.ProtocolTCP
	for i := range np.Spec.Ingress {
		for j := range np.Spec.Ingress[i].Ports {
			if np.Spec.Ingress[i].Ports[j].Protocol == nil {
				np.Spec.Ingress[i].Ports[j].Protocol = &tcp
			}
		}
	}
	for i := range np.Spec.Egress {
		for j := range np.Spec.Egress[i].Ports {
			if np.Spec.Egress[i].Ports[j].Protocol == nil {
				np.Spec.Egress[i].Ports[j].Protocol = &tcp
			}
		}
	}
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}
