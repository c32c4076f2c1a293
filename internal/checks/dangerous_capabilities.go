package checks

import (
	"slices"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/inventory"
)

// dangerousCapabilities forbids adding the Linux capabilities that most directly lead out of a
// container or onto the network: SYS_ADMIN (mount, namespaces: nearly root), NET_ADMIN
// (reconfigure networking, sniff), SYS_PTRACE (read other processes' memory), SYS_MODULE (load
// kernel modules), NET_RAW (forge packets), SYS_RAWIO, DAC_READ_SEARCH (read any file, the
// "shocker" escape), SYS_BOOT, BPF, PERFMON, SYSLOG, MAC_ADMIN, MAC_OVERRIDE, and ALL. The check
// reads securityContext.capabilities.add of every container, with or without the CAP_ prefix,
// in any case.
var dangerousCapabilities = registerWorkload(finding.Rule{
	ID:          "dangerous-capabilities",
	Title:       "Dangerous capability added",
	Phase:       finding.PhaseDeploy,
	Severity:    finding.High,
	References:  []string{pssReference("capabilities_baseline"), "cis:5.2.9", "cis:5.2.8", "mitre:T1611"},
	Description: "The container adds a capability known to lead to the host or to other workloads: SYS_ADMIN is close to privileged, SYS_MODULE loads kernel code, SYS_PTRACE reads other processes, NET_ADMIN and NET_RAW rewrite and forge network traffic, DAC_READ_SEARCH reads any file of the host.",
	Remediation: "Remove the capability from securityContext.capabilities.add and drop ALL. If a tool needs it, run that tool in a separate, reviewed workload.",
}, func(c *Context, w *inventory.Workload, e *emitter) {
	for ct := range containers(&w.Template.Spec) {
		var bad []string
		for _, capability := range inventory.ResolveSecurity(&w.Template.Spec, ct.Container).AddCapabilities {
			name := strings.TrimPrefix(strings.ToUpper(string(capability)), "CAP_")
			if _, ok := dangerousCaps[name]; ok && !slices.Contains(bad, name) {
				bad = append(bad, name)
			}
		}
		if len(bad) == 0 {
			continue
		}
		why := make([]string, len(bad))
		for i, b := range bad {
			why[i] = b + ": " + dangerousCaps[b]
		}
		f := e.container(w, ct.Name, "%s %q adds %s", ct.Kind, ct.Name, strings.Join(why, "; "))
		f.Evidence = map[string]any{"capabilities": bad}
	}
})

var dangerousCaps = map[string]string{
	"ALL":             "every capability",
	"SYS_ADMIN":       "mount filesystems, create namespaces: nearly root",
	"NET_ADMIN":       "reconfigure interfaces, routes and firewalls",
	"SYS_PTRACE":      "read and modify other processes' memory",
	"SYS_MODULE":      "load kernel modules",
	"NET_RAW":         "forge and sniff packets",
	"SYS_RAWIO":       "raw access to devices and I/O ports",
	"DAC_READ_SEARCH": "read any file, bypassing permissions",
	"SYS_BOOT":        "reboot the node",
	"BPF":             "load eBPF programs into the kernel",
	"PERFMON":         "observe every process through perf",
	"SYSLOG":          "read the kernel log, with kernel addresses",
	"MAC_ADMIN":       "change mandatory access control policy",
	"MAC_OVERRIDE":    "bypass mandatory access control",
	"SYS_TIME":        "set the node's clock",
}
