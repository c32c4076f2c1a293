package sensor

// The eBPF objects are generated from sensor.bpf.c (and kernel.h) and committed, so building Redoubt needs no
// clang. After editing the C sources, run `go generate ./internal/runtime/sensor` (needs clang
// and libbpf-dev); it also records the sources' hash in sources.sha256, which
// TestObjectsMatchSources compares so a stale object cannot be committed unnoticed.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -type exec_event -type exit_event -type conn_event -type dup_event bpf sensor.bpf.c -- -I/usr/include/bpf -I/usr/include
//go:generate sh -c "sha256sum kernel.h sensor.bpf.c > sources.sha256"
