//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The sensor's kernel side: tracepoints only (no kprobe, fentry or LSM hook, which many
 * kernels and VMs refuse), so the programs attach to the kernel's stable interface.
 *
 *   sched/sched_process_exec        exec: pid, ppid, uid, path, argv (bounded), cgroup,
 *                                   and what fds 0/1/2 are (socket family, peer)
 *   sched/sched_process_exit        exit of a process (thread-group leaders only)
 *   sock/inet_sock_set_state        TCP connect: the owner is remembered at CLOSE->SYN_SENT
 *                                   (process context) and the event sent at SYN_SENT->
 *                                   ESTABLISHED (full 5-tuple, any context) or ->CLOSE (failed)
 *   syscalls/sys_exit_accept{,4}    TCP accept: the new fd's socket, in the acceptor's context
 *   syscalls/sys_enter_dup{2,3}     an INET socket duplicated onto fd 0, 1 or 2
 *
 * Every event goes through one ring buffer. A failed reservation (the buffer is full because
 * user space fell behind) is counted per event type in the per-CPU map "drops", which user
 * space reads and reports: nothing is lost silently. Filtering in the kernel: the sensor's own
 * process, threads' exits, dups onto fds above 2 and dups of anything but an INET socket never
 * reach the buffer.
 */
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#define FILENAME_MAX_LEN 256
#define ARGS_MAX_LEN 512

enum event_type {
	EVENT_EXEC = 1,
	EVENT_EXIT = 2,
	EVENT_CONNECT = 3,
	EVENT_ACCEPT = 4,
	EVENT_DUP = 5,
	EVENT_TYPES = 6,
};

struct header {
	__u64 ts_ns;     /* bpf_ktime_get_ns: monotonic, since boot */
	__u64 cgroup_id; /* cgroup v2 id: the inode number of the cgroup directory */
	__u32 type;
	__u32 pid;  /* thread-group id, what user space calls the pid */
	__u32 tid;
	__u32 ppid; /* real parent's thread-group id */
	__u32 uid;
	__u32 gid;
	char comm[16];
};

/* Addresses in network order, ports in host order. */
struct tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 sock_type; /* SOCK_STREAM, SOCK_DGRAM, ... when known */
};

struct exec_event {
	struct header h;
	struct tuple stdio_peer;  /* the first INET socket among fds 0..2 */
	__u16 stdio_family[3];    /* address family of fd 0, 1, 2 when a socket, else 0 */
	__u8 stdio_sockets;       /* bit n set: fd n is a socket of any family */
	__u8 args_truncated;
	__u32 args_len;           /* bytes of args used: NUL-separated argv */
	char filename[FILENAME_MAX_LEN];
	char args[ARGS_MAX_LEN];
};

struct exit_event {
	struct header h;
	__s32 exit_code; /* the kernel's wait status: code << 8 | signal */
	__u32 _pad;
};

struct conn_event {
	struct header h;
	struct tuple t;
	__u8 established; /* connect: 1 when the handshake completed, 0 when it failed */
	__u8 _pad[7];
};

struct dup_event {
	struct header h;
	struct tuple t;
	__s32 oldfd;
	__s32 newfd;
};

/* Anchor the types so that bpf2go can generate their Go twins. */
const struct exec_event *unused_exec __attribute__((unused));
const struct exit_event *unused_exit __attribute__((unused));
const struct conn_event *unused_conn __attribute__((unused));
const struct dup_event *unused_dup __attribute__((unused));

/* Set by the loader before load: the sensor's own pid, whose events are not reported. */
const volatile __u32 self_tgid = 0;



struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EVENT_TYPES);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Sockets in SYN_SENT, keyed by struct sock address: who connected. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct header);
} connecting SEC(".maps");

/*
 * Wake-ups. Waking the reader for every event costs it a context switch per event, most of
 * its CPU at high rates. An event wakes the reader when none did for WAKEUP_INTERVAL_NS or
 * when WAKEUP_BYTES are waiting; the rest are submitted without a wake-up and read in the
 * same batch. The reader, after reading, waits at most a little longer than the interval
 * before looking again, so the tail of a burst is read promptly, and blocks when idle.
 */
#define WAKEUP_INTERVAL_NS (10 * 1000 * 1000)
#define WAKEUP_BYTES (256 << 10)
#define BPF_RB_NO_WAKEUP 1
#define BPF_RB_FORCE_WAKEUP 2
#define BPF_RB_AVAIL_DATA 0
__u64 last_wakeup_ns = 0; /* shared by all CPUs; a lost race only moves one wake-up */

static __always_inline __u64 submit_flags(void)
{
	__u64 now = bpf_ktime_get_ns();

	if (now - last_wakeup_ns > WAKEUP_INTERVAL_NS ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > WAKEUP_BYTES) {
		last_wakeup_ns = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void count_drop(__u32 type)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &type);
	if (n)
		*n += 1;
}

static __always_inline bool is_self(void)
{
	return self_tgid != 0 && (bpf_get_current_pid_tgid() >> 32) == self_tgid;
}

static __always_inline void fill_header(struct header *h, __u32 type)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	h->ts_ns = bpf_ktime_get_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->type = type;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->uid = (__u32)ug;
	h->gid = ug >> 32;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* fd_file returns the open file at fd in task's table, or NULL. */
static __always_inline struct file *fd_file(struct task_struct *task, unsigned int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = 0;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return 0;
	return f;
}

/* file_socket returns the struct socket behind f when f is a socket (by inode type), or NULL:
 * the type check is what keeps `sh > file` and pipes from looking like sockets. */
static __always_inline struct socket *file_socket(struct file *f)
{
	umode_t mode;

	if (!f)
		return 0;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	return (struct socket *)BPF_CORE_READ(f, private_data);
}

/* sock_tuple fills t from the socket's own view: local address and port first. */
static __always_inline __u16 sock_tuple(struct socket *s, struct tuple *t)
{
	struct sock *sk = BPF_CORE_READ(s, sk);
	__u16 family;

	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	t->family = family;
	t->sock_type = BPF_CORE_READ(s, type);
	if (family == AF_INET) {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_daddr);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		return family;
	}
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return family;
}

static __always_inline void stdio_fd(struct task_struct *task, struct exec_event *e, unsigned int fd)
{
	struct socket *s = file_socket(fd_file(task, fd));
	struct tuple t = {};
	__u16 family;

	if (!s)
		return;
	e->stdio_sockets |= 1 << fd;
	family = sock_tuple(s, &t);
	e->stdio_family[fd] = family;
	if ((family == AF_INET || family == AF_INET6) && e->stdio_peer.family == 0)
		e->stdio_peer = t;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *e;
	unsigned long start, end, len;
	unsigned int off;

	if (is_self())
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EVENT_EXEC);
		return 0;
	}
	fill_header(&e->h, EVENT_EXEC);
	__builtin_memset(&e->stdio_peer, 0, sizeof(e->stdio_peer));
	e->stdio_family[0] = e->stdio_family[1] = e->stdio_family[2] = 0;
	e->stdio_sockets = 0;
	e->args_truncated = 0;

	off = BPF_CORE_READ(ctx, __data_loc_filename) & 0xFFFF;
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + off) < 0)
		e->filename[0] = 0;

	start = BPF_CORE_READ(task, mm, arg_start);
	end = BPF_CORE_READ(task, mm, arg_end);
	len = end > start ? end - start : 0;
	if (len > ARGS_MAX_LEN) {
		len = ARGS_MAX_LEN;
		e->args_truncated = 1;
	}
	if (len && bpf_probe_read_user(e->args, len, (void *)start))
		len = 0;
	e->args_len = len;

	stdio_fd(task, e, 0);
	stdio_fd(task, e, 1);
	stdio_fd(task, e, 2);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct task_struct *task;
	struct exit_event *e;
	__u64 id = bpf_get_current_pid_tgid();

	if ((id >> 32) != (__u32)id || is_self())
		return 0; /* a thread, not the process */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EVENT_EXIT);
		return 0;
	}
	fill_header(&e->h, EVENT_EXIT);
	task = (struct task_struct *)bpf_get_current_task();
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->_pad = 0;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int handle_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 key = (__u64)BPF_CORE_READ(ctx, skaddr);
	int oldstate, newstate;
	struct header *owner;
	struct conn_event *e;
	__u16 family;

	if (BPF_CORE_READ(ctx, protocol) != IPPROTO_TCP)
		return 0;
	oldstate = BPF_CORE_READ(ctx, oldstate);
	newstate = BPF_CORE_READ(ctx, newstate);

	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) {
		/* connect(2), in the connecting process: remember who. */
		struct header h = {};

		if (is_self())
			return 0;
		fill_header(&h, EVENT_CONNECT);
		bpf_map_update_elem(&connecting, &key, &h, BPF_ANY);
		return 0;
	}
	if (oldstate != TCP_SYN_SENT)
		return 0;
	owner = bpf_map_lookup_elem(&connecting, &key);
	if (!owner)
		return 0; /* the sensor's own, or started before the sensor */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EVENT_CONNECT);
		bpf_map_delete_elem(&connecting, &key);
		return 0;
	}
	e->h = *owner;
	e->h.ts_ns = bpf_ktime_get_ns();
	__builtin_memset(&e->t, 0, sizeof(e->t));
	__builtin_memset(e->_pad, 0, sizeof(e->_pad));
	family = BPF_CORE_READ(ctx, family);
	e->t.family = family;
	e->t.sock_type = 1; /* SOCK_STREAM */
	e->t.sport = BPF_CORE_READ(ctx, sport);
	e->t.dport = BPF_CORE_READ(ctx, dport);
	if (family == AF_INET) {
		BPF_CORE_READ_INTO(&e->t.saddr, ctx, saddr);
		BPF_CORE_READ_INTO(&e->t.daddr, ctx, daddr);
	} else {
		BPF_CORE_READ_INTO(&e->t.saddr, ctx, saddr_v6);
		BPF_CORE_READ_INTO(&e->t.daddr, ctx, daddr_v6);
	}
	e->established = newstate == TCP_ESTABLISHED;
	bpf_ringbuf_submit(e, submit_flags());
	bpf_map_delete_elem(&connecting, &key);
	return 0;
}

static __always_inline int accepted(struct trace_event_raw_sys_exit *ctx)
{
	long fd = BPF_CORE_READ(ctx, ret);
	struct task_struct *task;
	struct conn_event *e;
	struct socket *s;
	struct tuple t = {};
	__u16 family;

	if (fd < 0 || is_self())
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	s = file_socket(fd_file(task, fd));
	if (!s)
		return 0;
	family = sock_tuple(s, &t);
	if (family != AF_INET && family != AF_INET6)
		return 0; /* unix sockets are not network connections */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EVENT_ACCEPT);
		return 0;
	}
	fill_header(&e->h, EVENT_ACCEPT);
	e->t = t;
	e->established = 1;
	__builtin_memset(e->_pad, 0, sizeof(e->_pad));
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int handle_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accepted(ctx);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int handle_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accepted(ctx);
}

static __always_inline int duped(struct trace_event_raw_sys_enter *ctx)
{
	unsigned int oldfd = BPF_CORE_READ(ctx, args[0]);
	unsigned int newfd = BPF_CORE_READ(ctx, args[1]);
	struct task_struct *task;
	struct dup_event *e;
	struct socket *s;
	struct tuple t = {};
	__u16 family;

	if (newfd > 2 || oldfd == newfd || is_self())
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	s = file_socket(fd_file(task, oldfd));
	if (!s)
		return 0; /* a file, pipe or tty: `sh > file` lands here */
	family = sock_tuple(s, &t);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(EVENT_DUP);
		return 0;
	}
	fill_header(&e->h, EVENT_DUP);
	e->t = t;
	e->oldfd = oldfd;
	e->newfd = newfd;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int handle_dup2(struct trace_event_raw_sys_enter *ctx)
{
	return duped(ctx);
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int handle_dup3(struct trace_event_raw_sys_enter *ctx)
{
	return duped(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
