// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * trace_exec.c - two small tracing programs.
 *
 * count_getpid (tracepoint syscalls:sys_enter_getpid)
 *   Counts getpid() calls per thread in the hash map syscall_counts, keyed by
 *   (tgid, pid) from bpf_get_current_pid_tgid(), and records the first and
 *   latest time (bpf_ktime_get_ns) plus the syscall number from the record.
 *   The record layout is the hand-written struct sys_enter_record; only its
 *   first 12 bytes exist for getpid, and only those are read.
 *
 * trace_openat2 (kprobe on do_sys_openat2)
 *   do_sys_openat2(int dfd, const char __user *filename, struct open_how *how)
 *   receives `how` as a kernel pointer. The program takes the arguments from
 *   pt_regs with PT_REGS_PARM1/PT_REGS_PARM3 and copies the structure with
 *   bpf_probe_read_kernel, which is how kprobes must dereference kernel
 *   memory. The last request per thread lands in open_events.
 *
 * None of the programs changes anything; all return 0.
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <linux/openat2.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "trace_exec.h"

/* GPL-compatible (dual) licence: bpf_probe_read_kernel is a GPL-only helper. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct thread_key);
	__type(value, struct syscall_stats);
} syscall_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct thread_key);
	__type(value, struct open_request);
} open_events SEC(".maps");

static __always_inline struct thread_key current_thread(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct thread_key key = {
		.tgid = pid_tgid >> 32,    /* upper half: thread group (process) id */
		.pid = (__u32)pid_tgid,    /* lower half: thread id */
	};
	return key;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(struct sys_enter_record *ctx)
{
	struct thread_key key = current_thread();
	__u64 now = bpf_ktime_get_ns();
	struct syscall_stats *stats;

	stats = bpf_map_lookup_elem(&syscall_counts, &key);
	if (stats) {
		__sync_fetch_and_add(&stats->calls, 1);
		stats->last_ns = now;
		return 0;
	}

	struct syscall_stats fresh = {
		.calls = 1,
		.first_ns = now,
		.last_ns = now,
		.syscall_nr = ctx->syscall_nr,
	};
	/* BPF_NOEXIST: if another CPU inserted the entry first, count into it. */
	if (bpf_map_update_elem(&syscall_counts, &key, &fresh, BPF_NOEXIST) != 0) {
		stats = bpf_map_lookup_elem(&syscall_counts, &key);
		if (stats)
			__sync_fetch_and_add(&stats->calls, 1);
	}
	return 0;
}

/* Copies *how (kernel memory) and counts the call for this thread. */
static __always_inline void record_open(long dfd, const struct open_how *how)
{
	struct thread_key key = current_thread();
	struct open_request request = {};
	struct open_request *previous;
	struct open_how copy;

	request.dfd = (int)dfd;
	if (bpf_probe_read_kernel(&copy, sizeof(copy), how) == 0) {
		request.flags = copy.flags;
		request.mode = copy.mode;
		request.resolve = copy.resolve;
	}
	previous = bpf_map_lookup_elem(&open_events, &key);
	request.count = previous ? previous->count + 1 : 1;
	bpf_map_update_elem(&open_events, &key, &request, BPF_ANY);
}

SEC("kprobe/do_sys_openat2")
int trace_openat2(struct pt_regs *regs)
{
	/* Registers per the x86-64 / arm64 calling convention, picked by
	 * bpf_tracing.h from __TARGET_ARCH_*. */
	record_open(PT_REGS_PARM1(regs), (const struct open_how *)PT_REGS_PARM3(regs));
	return 0;
}
