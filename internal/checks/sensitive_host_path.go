package checks

import (
	"path"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// sensitiveHostPath forbids hostPath volumes that expose the node's most sensitive places: the
// container runtime's socket (which starts privileged containers on request), the root
// filesystem, /etc, /proc, /sys, /root, /boot, the kubelet's state (other pods' secrets and
// service-account tokens) and the runtimes' state directories. A path below one of these
// counts, as does a parent of one (mounting / exposes everything under it).
var sensitiveHostPath = registerWorkload(finding.Rule{
	ID:       "sensitive-host-path",
	Title:    "Sensitive host path mounted",
	Phase:    finding.PhaseDeploy,
	Severity: finding.Critical,
	References: []string{pssReference("hostPathVolumes"), "cis:5.2.12",
		"mitre:T1611"},
	Description: "The pod mounts a part of the node's filesystem that hands over the node: the container runtime's socket starts privileged containers on request, /var/lib/kubelet holds every pod's secrets and tokens, and /, /etc, /proc, /sys or /root let the pod rewrite or inspect the host.",
	Remediation: "Remove the hostPath volume. Agents that truly need the runtime socket or host files belong in a dedicated namespace, reviewed, with an exception that names the reason.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	for _, v := range w.Template.Spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		if why := sensitivePath(v.HostPath.Path); why != "" {
			f := e.workload(w, "volume %q mounts host path %s (%s)", v.Name, v.HostPath.Path, why)
			f.Evidence = map[string]any{"volume": v.Name, "hostPath": v.HostPath.Path}
		}
	}
})

// sensitiveHostPaths maps each sensitive host path to what it gives away.
var sensitiveHostPaths = map[string]string{
	"/":                               "the node's whole filesystem",
	"/etc":                            "the node's configuration, including kubelet credentials",
	"/proc":                           "every process on the node",
	"/sys":                            "kernel and device settings",
	"/root":                           "root's home directory",
	"/boot":                           "the node's kernel and boot loader",
	"/dev":                            "the node's devices",
	"/home":                           "users' home directories",
	"/var/lib/kubelet":                "every pod's volumes, secrets and service-account tokens",
	"/etc/kubernetes":                 "control-plane and kubelet credentials",
	"/var/lib/etcd":                   "the cluster's etcd data, every Secret included",
	"/var/run/docker.sock":            "the Docker socket: run any container, privileged",
	"/run/docker.sock":                "the Docker socket: run any container, privileged",
	"/var/run/containerd":             "the containerd socket: run any container, privileged",
	"/run/containerd":                 "the containerd socket: run any container, privileged",
	"/var/run/crio":                   "the CRI-O socket: run any container, privileged",
	"/run/crio":                       "the CRI-O socket: run any container, privileged",
	"/var/run/cri-dockerd.sock":       "the cri-dockerd socket: run any container, privileged",
	"/run/podman":                     "the Podman socket: run any container",
	"/var/lib/docker":                 "every container's filesystem",
	"/var/lib/containerd":             "every container's filesystem",
	"/var/run":                        "the node's runtime sockets",
	"/run":                            "the node's runtime sockets",
	"/var/log":                        "every container's logs, and a symlink attack on the kubelet",
	"/usr/bin":                        "binaries the node executes",
	"/usr/local/bin":                  "binaries the node executes",
	"/var/lib/kubelet/pki":            "the kubelet's client and serving keys",
	"/var/lib/kubelet/pods":           "every pod's volumes, secrets and service-account tokens",
	"/var/lib/kubelet/device-plugins": "the kubelet's device plugin sockets",
}

// sensitivePath says why a host path is sensitive, or "" when it is not.
func sensitivePath(p string) string {
	p = path.Clean("/" + strings.TrimSpace(p))
	if why, ok := sensitiveHostPaths[p]; ok {
		return why
	}
	for s, why := range sensitiveHostPaths {
		if s == "/" || s == "/run" || s == "/var/run" || s == "/var/log" || s == "/home" {
			continue
		}
		if strings.HasPrefix(p, s+"/") {
			return why
		}
	}
	// A socket or a file below the runtime directories.
	if strings.HasSuffix(p, ".sock") && (strings.HasPrefix(p, "/run/") || strings.HasPrefix(p, "/var/run/")) {
		return "a host daemon's socket"
	}
	return ""
}
