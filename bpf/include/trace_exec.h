/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * trace_exec.h - tracing contexts and map layouts for trace_exec.c.
 *
 * The tracepoint context is written out by hand instead of coming from
 * vmlinux.h: a "tracepoint/..." program receives a pointer to the raw trace
 * record, whose layout for every syscalls:sys_enter_<name> event is listed in
 * /sys/kernel/tracing/events/syscalls/sys_enter_<name>/format.
 */
#ifndef SHARPBPF_TRACE_EXEC_H
#define SHARPBPF_TRACE_EXEC_H

#include <linux/types.h>

/*
 * Record of a syscalls:sys_enter_<name> event, the per-syscall cousin of the
 * kernel's struct trace_event_raw_sys_enter (which belongs to
 * raw_syscalls:sys_enter and has `long id`). Here the syscall number is an
 * int at offset 8 and the arguments start at offset 16, one 8-byte slot per
 * argument the syscall really has. The kernel refuses to attach a program
 * that reads past the end of the record, so a program for a syscall with N
 * arguments may only touch args[0..N-1]: getpid has none.
 */
struct sys_enter_record {
	__u16 common_type;          /* event id */
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;
	__s32 syscall_nr;           /* __syscall_nr */
	__u32 pad;
	__u64 args[6];              /* raw syscall arguments, as many as it takes */
};

/* Key of syscall_counts: one entry per thread. */
struct thread_key {
	__u32 tgid; /* process id as user space sees it */
	__u32 pid;  /* thread id */
};

/* Value of syscall_counts. */
struct syscall_stats {
	__u64 calls;      /* number of calls seen, updated atomically */
	__u64 first_ns;   /* bpf_ktime_get_ns() of the first call */
	__u64 last_ns;    /* bpf_ktime_get_ns() of the latest call */
	__s64 syscall_nr; /* syscall number from the record */
};

/* Value of open_events (key: thread_key): the last openat2 request seen. */
struct open_request {
	__s64 dfd;        /* directory fd argument (PT_REGS_PARM1) */
	__u64 flags;      /* open_how.flags read from kernel memory */
	__u64 mode;       /* open_how.mode */
	__u64 resolve;    /* open_how.resolve */
	__u64 count;      /* calls seen for this thread */
};

/* Host code decodes these byte for byte: keep the sizes fixed. */
_Static_assert(sizeof(struct sys_enter_record) == 64, "struct sys_enter_record layout changed");
_Static_assert(sizeof(struct thread_key) == 8, "struct thread_key layout changed");
_Static_assert(sizeof(struct syscall_stats) == 32, "struct syscall_stats layout changed");
_Static_assert(sizeof(struct open_request) == 40, "struct open_request layout changed");

#endif /* SHARPBPF_TRACE_EXEC_H */
