package checks

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// defaultNamespaceObject reports objects other than workloads in the "default" namespace:
// Services, Ingresses, ConfigMaps, Secrets, ServiceAccounts, Roles, RoleBindings and custom
// resources. The CIS Kubernetes Benchmark (5.7.4) asks that the default namespace not be used
// at all: whatever lands there shares one set of RBAC grants, quotas and policies with
// everything else nobody placed, and a RoleBinding there reaches every such object. Workloads
// there are default-namespace. Not reported: what the cluster itself keeps there (the "kubernetes"
// Service, the "default" ServiceAccount and its legacy token Secrets, the "kube-root-ca.crt"
// ConfigMap), EndpointSlices (the endpoint controller writes them for Services), and network
// policies of any kind, which protect the namespace rather than use it.
var defaultNamespaceObject = register(finding.Rule{
	ID:          "default-namespace-object",
	Title:       "Object in the default namespace",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.Low,
	References:  []string{"cis:5.6.4"},
	Description: "A Service, Ingress, ConfigMap, Secret, ServiceAccount, Role, RoleBinding or custom resource was created in the default namespace, where it shares RBAC grants, quotas and policies with everything nobody placed elsewhere.",
	Remediation: "Move the object to the namespace of the application it belongs to (metadata.namespace, or kubectl -n / helm --namespace); leave default holding only what the cluster creates there.",
}, func(c *Context, e *emitter) {
	s := c.Snapshot
	const ns = metav1.NamespaceDefault
	report := func(kind, name string, origin inventory.Origin) {
		e.object(ns, kind, name, origin, "%s %q is in the default namespace", kind, name)
	}
	for _, o := range s.Services {
		if o.Namespace == ns && o.Name != "kubernetes" {
			report("Service", o.Name, o.Origin)
		}
	}
	for _, o := range s.Ingresses {
		if o.Namespace == ns {
			report("Ingress", o.Name, o.Origin)
		}
	}
	for _, o := range s.ConfigMaps {
		if o.Namespace == ns && o.Name != "kube-root-ca.crt" {
			report("ConfigMap", o.Name, o.Origin)
		}
	}
	for _, o := range s.Secrets {
		if o.Namespace == ns && !(o.Type == corev1.SecretTypeServiceAccountToken && o.Annotations[corev1.ServiceAccountNameKey] == "default") {
			report("Secret", o.Name, o.Origin)
		}
	}
	for _, o := range s.ServiceAccounts {
		if o.Namespace == ns && o.Name != "default" {
			report("ServiceAccount", o.Name, o.Origin)
		}
	}
	for _, o := range s.Roles {
		if o.Namespace == ns {
			report("Role", o.Name, o.Origin)
		}
	}
	for _, o := range s.RoleBindings {
		if o.Namespace == ns {
			report("RoleBinding", o.Name, o.Origin)
		}
	}
	for _, o := range s.Others {
		if o.Namespace == ns && o.Kind != "EndpointSlice" && o.Kind != "Endpoints" && !strings.HasSuffix(o.Kind, "NetworkPolicy") {
			report(o.Kind, o.Name, o.Origin)
		}
	}
})
