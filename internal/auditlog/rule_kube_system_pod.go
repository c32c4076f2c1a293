package auditlog

import (
	"fmt"

	"redoubt.dev/redoubt/internal/finding"
)

// Pods created in kube-system by people.
//
// Forbids the successful creation of a pod, or of an object with a pod template, in
// kube-system by a user who is not a service account, a node or a control-plane component
// (any user not named system:*). kube-system holds the cluster's own components and their
// powerful service accounts; a person adding a workload there, rather than a controller or
// the cluster's installer, is how an attacker hides a foothold among the components (MITRE
// ATT&CK for Containers T1610 Deploy Container). Readable at level Metadata.
var kubeSystemPod = finding.Register(finding.Rule{
	ID:       "audit-kube-system-pod-by-human",
	Title:    "Workload created in kube-system by a person",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "The audit log shows a person (a user that is not a service account, node or control-plane " +
		"component) creating a pod or workload in kube-system, where the cluster's own components and their " +
		"powerful service accounts run.",
	Remediation: "Confirm the change with the user named; cluster add-ons belong in their own namespaces, " +
		"installed by the pipeline. Restrict create on pods and workloads in kube-system to the installer.",
	References: []string{"mitre:T1610"},
})

func init() { register(detectKubeSystemPod) }

func detectKubeSystemPod(a *Analyzer, e *Event) {
	if !isWorkload(e) || e.Verb != "create" || !e.Succeeded() || e.ObjectRef.Namespace != "kube-system" || !human(e) {
		return
	}
	res := objectResource(e)
	if obj, _ := podSpecOf(e.Body()); obj != nil && res.Name == "*" && obj.Metadata.Name != "" {
		res.Name = obj.Metadata.Name
	}
	a.report(e, hit{rule: kubeSystemPod, severity: kubeSystemPod.Severity, res: res,
		what: fmt.Sprintf("%s kube-system/%s created by a person", res.Kind, res.Name)})
}
