//go:build !linux

package testenv

import "syscall"

// sysProcAttr has no portable settings outside Linux: children keep our process group and
// must be stopped by Cluster.Stop.
func sysProcAttr() *syscall.SysProcAttr { return nil }
