package auditlog

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// Privileged or host-namespace pods created through the API.
//
// Forbids the successful create, update or patch of a pod, or of an object with a pod template
// (Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob, ReplicationController,
// PodTemplate), whose pod spec has a privileged container (securityContext.privileged: true),
// hostPID, hostIPC or hostNetwork, or a hostPath volume of /, /etc, /var/run or
// /run/containerd. The pod spec is read from the request body, so the audit policy must log
// these resources at level Request (the policy in docs/auditlog.md does). Such a pod is the
// shortest way from the API to the node (MITRE ATT&CK for Containers T1610 Deploy Container and
// T1611 Escape to Host). Deploy-time checks catch it in manifests; this catches what was applied
// by hand or by a stolen credential.
var privilegedPod = finding.Register(finding.Rule{
	ID:       "audit-privileged-pod-created",
	Title:    "Privileged or host-namespace pod created",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "The audit log shows a pod, or a workload's pod template, written with a privileged container, " +
		"host PID, IPC or network namespaces, or a hostPath of the node's root or runtime socket. Such a pod " +
		"controls the node it lands on.",
	Remediation: "Confirm with the user named that the workload needs host access; enforce Pod Security " +
		"Standards (baseline at least) on the namespace so the API server refuses it next time.",
	References: []string{"mitre:T1610", "mitre:T1611", "pss:baseline:privileged"},
})

func init() { register(detectPrivilegedPod) }

func detectPrivilegedPod(a *Analyzer, e *Event) {
	if !isWorkload(e) || !e.Succeeded() || (e.Verb != "create" && e.Verb != "update" && e.Verb != "patch") {
		return
	}
	obj, spec := podSpecOf(e.Body())
	if spec == nil {
		return
	}
	access := hostAccess(spec)
	if len(access) == 0 {
		return
	}
	res := objectResource(e)
	if res.Name == "*" && obj.Metadata.Name != "" {
		res.Name = obj.Metadata.Name
	}
	if res.Namespace == "" {
		res.Namespace = obj.Metadata.Namespace
	}
	why := strings.Join(access, ", ")
	if res.Kind == "Pod" {
		a.privilegedPods.put(res.Namespace+"/"+res.Name, why)
	}
	a.report(e, hit{rule: privilegedPod, severity: privilegedPod.Severity, res: res,
		what:     fmt.Sprintf("%s %s/%s written with %s", res.Kind, res.Namespace, res.Name, why),
		evidence: map[string]any{"hostAccess": access}, key: why})
}
