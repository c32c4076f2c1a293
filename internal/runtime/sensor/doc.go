// Package sensor is the kernel side of `redoubt sensor`: eBPF programs on tracepoints (exec,
// exit, TCP connect and accept, sockets duplicated onto stdio), their loader, and the reader
// that decodes the ring buffer into runtime events. It runs as root (or with CAP_BPF and
// CAP_PERFMON) on a kernel with BTF.
package sensor
