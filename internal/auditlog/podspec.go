package auditlog

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// workloadResources are the resources whose objects hold a pod template, keyed "group/resource".
var workloadResources = map[string]bool{
	"/pods": true, "/replicationcontrollers": true, "/podtemplates": true,
	"apps/deployments": true, "apps/daemonsets": true, "apps/statefulsets": true, "apps/replicasets": true,
	"batch/jobs": true, "batch/cronjobs": true,
}

// isWorkload reports whether the request is about pods or an object with a pod template (not
// a subresource such as pods/exec or deployments/scale).
func isWorkload(e *Event) bool {
	return e.ObjectRef != nil && e.ObjectRef.Subresource == "" &&
		workloadResources[e.ObjectRef.APIGroup+"/"+e.ObjectRef.Resource]
}

// podObject is the part of a pod, or of any object with a pod template, the detections read.
type podObject struct {
	Metadata struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
		Namespace    string `json:"namespace"`
	} `json:"metadata"`
	// A Pod's spec is the pod spec; a workload's spec has a template; a CronJob's a job template.
	Spec struct {
		corev1.PodSpec
		Template    *podTemplate `json:"template"`
		JobTemplate *struct {
			Spec struct {
				Template *podTemplate `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
	// A PodTemplate object keeps its template at the top level.
	Template *podTemplate `json:"template"`
}

type podTemplate struct {
	Spec corev1.PodSpec `json:"spec"`
}

// podSpecOf decodes the pod spec a request body carries, or returns nil when the body is absent
// (the event was logged at Metadata level) or is not an object (a JSON patch).
func podSpecOf(body json.RawMessage) (*podObject, *corev1.PodSpec) {
	if len(body) == 0 || body[0] != '{' {
		return nil, nil
	}
	var o podObject
	if err := json.Unmarshal(body, &o); err != nil {
		return nil, nil
	}
	switch {
	case o.Spec.Template != nil:
		return &o, &o.Spec.Template.Spec
	case o.Spec.JobTemplate != nil && o.Spec.JobTemplate.Spec.Template != nil:
		return &o, &o.Spec.JobTemplate.Spec.Template.Spec
	case o.Template != nil:
		return &o, &o.Template.Spec
	}
	return &o, &o.Spec.PodSpec
}

// hostAccess lists what in a pod spec reaches the node: privileged containers, host
// namespaces, and hostPath volumes of the node's root.
func hostAccess(s *corev1.PodSpec) []string {
	var out []string
	if s.HostPID {
		out = append(out, "hostPID")
	}
	if s.HostIPC {
		out = append(out, "hostIPC")
	}
	if s.HostNetwork {
		out = append(out, "hostNetwork")
	}
	all := make([]corev1.Container, 0, len(s.Containers)+len(s.InitContainers)+len(s.EphemeralContainers))
	all = append(all, s.InitContainers...)
	all = append(all, s.Containers...)
	for _, c := range s.EphemeralContainers {
		all = append(all, corev1.Container(c.EphemeralContainerCommon))
	}
	for _, c := range all {
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			out = append(out, fmt.Sprintf("privileged container %q", c.Name))
		}
	}
	for _, v := range s.Volumes {
		if v.HostPath != nil && (v.HostPath.Path == "/" || strings.HasPrefix(v.HostPath.Path, "/var/run") ||
			strings.HasPrefix(v.HostPath.Path, "/run/containerd") || v.HostPath.Path == "/etc") {
			out = append(out, fmt.Sprintf("hostPath %s", v.HostPath.Path))
		}
	}
	return out
}
