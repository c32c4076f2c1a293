package testenv

import "syscall"

// sysProcAttr puts a child in its own process group, so a Ctrl-C in the terminal reaches only
// us and we stop the children in order, and asks the kernel to kill it if we die first (for
// example when `go test -timeout` panics), so no control plane outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
