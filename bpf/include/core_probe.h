/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * core_probe.h - records produced by core_probe.c.
 */
#ifndef SHARPBPF_CORE_PROBE_H
#define SHARPBPF_CORE_PROBE_H

#include <linux/types.h>

#define TASK_COMM_LEN 16

enum core_event_kind {
	CORE_EVENT_EXEC = 1,     /* from tp_btf/sched_process_exec */
	CORE_EVENT_NEW_TASK = 2, /* from kprobe/wake_up_new_task */
};

/* One ring-buffer record per event (64 bytes: 60 + 4 of tail padding). */
struct core_task_event {
	__u32 kind;           /* enum core_event_kind */
	__s32 pid;            /* task->pid (thread id) */
	__s32 tgid;           /* task->tgid (process id) */
	__s32 ppid;           /* task->real_parent->tgid */
	__u64 state;          /* task->__state, or task->state on old kernels */
	__u32 flags;          /* task->flags (PF_*) */
	__u32 comm_size;      /* bpf_core_field_size(task->comm) in the running kernel */
	__u8 in_execve;       /* bitfield task->in_execve */
	__u8 in_iowait;       /* bitfield task->in_iowait */
	__u8 state_is_new;    /* 1: kernel has `unsigned int __state` (5.14+) */
	__u8 type_matches;    /* bpf_core_type_matches(struct task_struct) */
	__s32 pidtype_sid;    /* value of PIDTYPE_SID in the running kernel, -1 if absent */
	__u8 has_fake_enum;   /* bpf_core_enum_value_exists of a value that does not exist */
	__u8 list_head_matches; /* bpf_core_type_matches(struct list_head) */
	__u8 pad[2];
	char comm[TASK_COMM_LEN];
};

/* Host code decodes these byte for byte: keep the sizes fixed. */
_Static_assert(sizeof(struct core_task_event) == 64, "struct core_task_event layout changed");

#endif /* SHARPBPF_CORE_PROBE_H */
