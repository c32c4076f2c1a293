package detect

// Drift: a container executes a binary from a place images do not ship programs in: a
// writable temporary directory (/tmp, /var/tmp, /dev/shm, /run), or no file at all (a memfd,
// or a descriptor executed with fexecve/execveat).
//
// Reads: exec events of processes in a container, the path the binary was executed by
// (resolved through /proc/PID/exe when the kernel's path was relative).
//
// Why: a binary written after the container started is not in the image that was scanned and
// approved; dropping a payload in /tmp or /dev/shm and running it, or running it straight from
// memory to leave no file, is how malware (miners, implants) lands. Comparing every exec with
// the image's file list would catch more and costs more: this rule is the cheap part of drift.

import (
	"fmt"
	"strings"

	"redoubt.dev/redoubt/internal/finding"
	"redoubt.dev/redoubt/internal/runtime/event"
)

var driftRule = finding.Register(finding.Rule{
	ID:       "runtime-drift-exec",
	Title:    "Binary executed from a temporary directory or from memory",
	Phase:    finding.PhaseRuntime,
	Severity: finding.High,
	Description: "A container executed a program from /tmp, /var/tmp, /dev/shm or /run, or from no file " +
		"at all (memfd_create, fexecve). Images do not put programs there: the binary was written after the " +
		"container started, so it is not what was scanned and deployed.",
	Remediation: "Find what wrote the file (the parent process, recent connections), treat the container as " +
		"compromised, and make the root filesystem read-only (readOnlyRootFilesystem: true) with noexec " +
		"emptyDir volumes for scratch space.",
	References: []string{"mitre-attack:T1620", "mitre-attack:T1105"},
})

var driftDirs = []string{"/tmp/", "/var/tmp/", "/dev/shm/", "/run/"}

func init() { register(driftExec) }

// driftPlace says why the path is drift, or "".
func driftPlace(binary string) string {
	switch {
	case strings.HasPrefix(binary, "/memfd:"), strings.HasPrefix(binary, "memfd:"):
		return "an anonymous memory file (memfd)"
	case strings.HasPrefix(binary, "/dev/fd/"), strings.HasPrefix(binary, "/proc/self/fd/"):
		return "a file descriptor (fexecve)"
	}
	for _, dir := range driftDirs {
		if strings.HasPrefix(binary, dir) {
			return "the writable directory " + strings.TrimSuffix(dir, "/")
		}
	}
	return ""
}

func driftExec(d *Detector, e *event.Event) []finding.Finding {
	if e.Kind != event.KindExec || !e.Origin.InContainer() {
		return nil
	}
	place := driftPlace(e.Exec.Binary)
	if place == "" {
		return nil
	}
	msg := fmt.Sprintf("%s (pid %d%s) was executed from %s", commandLine(e.Exec.Binary, e.Exec.Args),
		e.Process.PID, d.parentPhrase(e), place)
	return []finding.Finding{d.newFinding(driftRule, e, msg)}
}
