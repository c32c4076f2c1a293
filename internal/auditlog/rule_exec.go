package auditlog

import (
	"fmt"
	"net/url"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
)

// Exec, attach and port-forward into pods.
//
// Forbids nothing outright: it reports every successful request to the pods/exec, pods/attach
// and pods/portforward subresources (verb create, or get for the WebSocket upgrade), naming the
// user, the pod, the container and the command (the command= parameters of the request URI).
// A shell in a running container is how an insider or a stolen credential reaches data the
// workload can read and bypasses the image, the admission policy and the deploy pipeline
// (MITRE ATT&CK for Containers T1609, Container Administration Command).
//
// Severity: medium; high in a sensitive namespace (kube-system, kube-public, kube-node-lease and
// --sensitive-namespace) or into a pod this log saw created privileged or with host namespaces;
// critical when both.
var podExec = finding.Register(finding.Rule{
	ID:       "audit-pod-exec",
	Title:    "Command run in a pod through the API (exec, attach or port-forward)",
	Phase:    finding.PhaseRuntime,
	Severity: finding.Medium,
	Description: "The audit log shows a successful exec, attach or port-forward into a pod. A shell in a running " +
		"container reaches everything the workload can read (its Secrets, its service account token, its data) " +
		"and leaves no trace in the image or the manifests; in kube-system or a privileged pod it reaches the node.",
	Remediation: "Confirm the session was expected with the user named. Grant pods/exec, pods/attach and " +
		"pods/portforward only to break-glass roles, and use ephemeral debug containers with review instead of " +
		"exec in production.",
	References: []string{"mitre:T1609"},
})

func init() { register(detectExec) }

func detectExec(a *Analyzer, e *Event) {
	r, ns, name, sub := e.Resource()
	if r != "pods" || e.ObjectRef.APIGroup != "" || (sub != "exec" && sub != "attach" && sub != "portforward") {
		return
	}
	if (e.Verb != "create" && e.Verb != "get") || !e.Succeeded() {
		return
	}
	q := query(e.RequestURI)
	container := q.Get("container")
	command := strings.Join(q["command"], " ")
	what := fmt.Sprintf("%s into pod %s/%s", sub, ns, name)
	if container != "" {
		what += fmt.Sprintf(" (container %s)", container)
	}
	switch {
	case sub == "exec" && command != "":
		what += ": " + truncate(command, 200)
	case sub == "portforward" && len(q["ports"]) > 0:
		what += ": ports " + strings.Join(q["ports"], ",")
	}
	sev := finding.Medium
	why, privileged := a.privilegedPods.get(ns + "/" + name)
	sens := a.sensitive(ns)
	switch {
	case sens && privileged:
		sev = finding.Critical
	case sens || privileged:
		sev = finding.High
	}
	ev := map[string]any{"subresource": sub, "pod": ns + "/" + name}
	if container != "" {
		ev["container"] = container
	}
	if command != "" {
		ev["command"] = q["command"]
	}
	if privileged {
		ev["privilegedPod"] = why
		what += "; the pod is " + why
	}
	if sens {
		ev["sensitiveNamespace"] = true
	}
	a.report(e, hit{rule: podExec, severity: sev,
		res:  finding.Resource{Namespace: ns, Kind: "Pod", Name: name, Container: container},
		what: what, evidence: ev, key: sub + "\x00" + command})
}

// query parses the query of a request URI; a malformed one yields no parameters.
func query(uri string) url.Values {
	_, q, ok := strings.Cut(uri, "?")
	if !ok {
		return url.Values{}
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return url.Values{}
	}
	return v
}
