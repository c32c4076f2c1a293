package detect

// Runtime tool: a package manager, network tool, debugger or compiler is executed inside a
// container.
//
// Reads: exec events of processes in a container (the cgroup path names a container or pod),
// the binary's file name, classified with the same component classes the image analyzer uses
// (internal/image: apt-get, pip, curl, wget, nc, nmap, socat, gdb, strace, gcc, make, ...).
//
// Why: a running container is built, not maintained in place. Installing packages, fetching
// files, scanning the network or attaching a debugger in production is what an intruder does
// after getting in (or an operator debugging by hand, which should be an ephemeral debug
// container, not the workload's own image). Processes of the node itself are not checked.

import (
	"fmt"
	"path"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/runtime/event"
)

var runtimeToolRule = finding.Register(finding.Rule{
	ID:       "runtime-tool-executed",
	Title:    "Package manager, network tool, debugger or compiler run in a container",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "A tool that has no place in a running workload was executed in a container: a package " +
		"manager (apt-get, apk, pip, npm), a network tool (curl, wget, nc, nmap, socat, ssh), a debugger (gdb, " +
		"strace, tcpdump) or a compiler (gcc, make, go). Attackers use them to fetch payloads, explore the " +
		"network and build exploits in place.",
	Remediation: "Find who ran it (the alert names the process and its parent). If it was not an operator, " +
		"treat the container as compromised. Remove such tools from the image (build stages, distroless bases) " +
		"and debug with ephemeral containers (`kubectl debug`) instead of the workload's image.",
	References: []string{"mitre-attack:T1105", "mitre-attack:T1046"},
})

var toolClasses = map[string]string{
	image.ClassPackageManager: "package manager",
	image.ClassNetworkTool:    "network tool",
	image.ClassDebugger:       "debugger",
	image.ClassBuildTool:      "compiler or build tool",
}

func init() { register(runtimeTool) }

func runtimeTool(d *Detector, e *event.Event) []finding.Finding {
	if e.Kind != event.KindExec || !e.Origin.InContainer() {
		return nil
	}
	class, ok := image.ComponentClass(path.Base(e.Exec.Binary))
	if !ok {
		return nil
	}
	what, ok := toolClasses[class]
	if !ok {
		return nil
	}
	msg := fmt.Sprintf("%s %s (pid %d%s) was executed in the container", what,
		commandLine(e.Exec.Binary, e.Exec.Args), e.Process.PID, d.parentPhrase(e))
	f := d.newFinding(runtimeToolRule, e, msg)
	f.Evidence["class"] = class
	return []finding.Finding{f}
}
