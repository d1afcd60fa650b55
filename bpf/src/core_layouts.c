// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * core_layouts.c - every CO-RE relocation kind, for SharpBPF's relocation engine tests.
 *
 * Like core_probe.c, the kernel types are declared by hand with only what is used, and the access paths are
 * chosen to exercise what relocation must get right:
 *   - access through anonymous members: dentry.d_name sits in an anonymous union in 6.x kernels (not locally),
 *     qstr.len in an anonymous struct inside an anonymous union;
 *   - arrays: signal->rlim[7].rlim_cur (array of structs), the offset of task->comm[3] (an array element);
 *   - a union as the root type (union bpf_attr);
 *   - bitfields read through a local declaration that says signed where the kernel says unsigned;
 *   - a u64 local declaration of the u32 task->flags, read directly: libbpf shrinks the load to 4 bytes;
 *   - ___flavour structs for an old and a new layout (task_struct___old.state / task_struct___new.__state);
 *   - enum values (32-bit, 64-bit, and through a ___v2 flavoured enumerator name), existence checks;
 *   - type exists (also a typedef root and a type no kernel has), type size, type matches, local and target ids;
 *   - relocations inside a static subprogram in .text, called by both programs.
 * Relocations that cannot be satisfied are only reached behind an existence check, so the verifier removes the
 * poisoned instructions as dead code and both programs load.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "core_layouts.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define __pai __attribute__((preserve_access_index))

typedef int pid_t;

struct rlimit {
	unsigned long rlim_cur;
	unsigned long rlim_max;
} __pai;

struct signal_struct {
	struct rlimit rlim[16];
} __pai;

struct qstr {
	union {
		struct {
			__u32 hash;
			__u32 len;
		};
		__u64 hash_len;
	};
	const unsigned char *name;
} __pai;

struct dentry {
	struct qstr d_name; /* in an anonymous union in the kernel */
} __pai;

struct path {
	void *mnt;
	struct dentry *dentry;
} __pai;

struct fs_struct {
	struct path pwd;
} __pai;

struct task_struct {
	unsigned int flags;
	pid_t pid;
	int tgid;
	struct task_struct *real_parent;
	char comm[16];
	struct signal_struct *signal;
	struct fs_struct *fs;
} __pai;

/* The flags field declared wider than the kernel's: the load is shrunk (unsigned, so that is safe). */
struct task_struct___wide {
	unsigned long flags;
} __pai;

/* A bitfield the kernel declares unsigned, declared signed here: FIELD_SIGNED relocates 1 -> 0. */
struct task_struct___signed {
	int in_execve : 1;
} __pai;

/* Two layouts of the run state: 5.14 renamed `long state` to `unsigned int __state`. */
struct task_struct___old {
	long state;
} __pai;

struct task_struct___new {
	unsigned int __state;
} __pai;

struct list_head {
	struct list_head *next, *prev;
};

union bpf_attr___core {
	struct {
		__u32 map_type;
		__u32 key_size;
	};
} __pai;

struct sharpbpf_not_in_kernel {
	int x;
};

enum perf_callchain_context {
	PERF_CONTEXT_KERNEL = (__u64)-128,
};

/* Enumerator names are matched by essential name too: BPF_MAP_TYPE_RINGBUF___v2 finds BPF_MAP_TYPE_RINGBUF. */
enum bpf_map_type___v2 {
	BPF_MAP_TYPE_RINGBUF___v2 = 27,
	BPF_MAP_TYPE_HV_RENAMED___v2 = 99,
};

struct core_layout_facts exec_facts;
struct core_layout_facts fork_facts;

/* A subprogram with its own relocations: libbpf relocates it once, as "prog 'read_parent_tgid'". */
static __noinline __u64 read_parent_tgid(struct task_struct *task)
{
	return BPF_CORE_READ(task, real_parent, tgid);
}

static __always_inline void fill_common(struct core_layout_facts *f, struct task_struct *task)
{
	struct signal_struct *signal = BPF_CORE_READ(task, signal);
	struct dentry *pwd = BPF_CORE_READ(task, fs, pwd.dentry);

	f->tgid = BPF_CORE_READ(task, tgid);
	f->parent_tgid = read_parent_tgid(task);
	f->comm3_offset = bpf_core_field_offset(task->comm[3]);
	bpf_core_read(&f->nofile_cur, sizeof(f->nofile_cur), &signal->rlim[7].rlim_cur);
	f->name_len = BPF_CORE_READ(pwd, d_name.len);
	f->attr_key_size_off = bpf_core_field_offset(((union bpf_attr___core *)0)->key_size);
	f->callchain_kernel = bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_KERNEL);
	if (bpf_core_enum_value_exists(enum bpf_map_type___v2, BPF_MAP_TYPE_RINGBUF___v2)) {
		f->has_ringbuf = 1;
		f->ringbuf_type = bpf_core_enum_value(enum bpf_map_type___v2, BPF_MAP_TYPE_RINGBUF___v2);
	}
	if (bpf_core_enum_value_exists(enum bpf_map_type___v2, BPF_MAP_TYPE_HV_RENAMED___v2))
		f->has_hv_renamed = bpf_core_enum_value(enum bpf_map_type___v2, BPF_MAP_TYPE_HV_RENAMED___v2);
	f->has_new_state = bpf_core_field_exists(((struct task_struct___new *)task)->__state);
	f->has_old_state = bpf_core_field_exists(((struct task_struct___old *)task)->state);
	if (f->has_new_state)
		f->state = BPF_CORE_READ((struct task_struct___new *)task, __state);
	else if (f->has_old_state)
		f->state = BPF_CORE_READ((struct task_struct___old *)task, state);
	f->local_type_id = bpf_core_type_id_local(struct task_struct);
	f->kernel_type_id = bpf_core_type_id_kernel(struct task_struct);
	f->list_head_size = bpf_core_type_size(struct list_head);
	f->rlimit_size = bpf_core_type_size(struct rlimit);
	f->has_missing_type = bpf_core_type_exists(struct sharpbpf_not_in_kernel);
	f->has_pid_t = bpf_core_type_exists(pid_t);
	f->rlimit_matches = bpf_core_type_matches(struct rlimit);
	f->pid_signed = __builtin_preserve_field_info(task->pid, BPF_FIELD_SIGNED);
	f->comm_size = bpf_core_field_size(task->comm);
}

/* tp_btf: the task pointer is trusted, so plain dereferences (direct loads) are allowed. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(layouts_exec, struct task_struct *task)
{
	struct core_layout_facts *f = &exec_facts;

	fill_common(f, task);
	f->flags_wide = ((struct task_struct___wide *)task)->flags;
	f->in_execve_signed = __builtin_preserve_field_info(((struct task_struct___signed *)task)->in_execve, BPF_FIELD_SIGNED);
	f->in_execve = BPF_CORE_READ_BITFIELD((struct task_struct___signed *)task, in_execve);
	return 0;
}

/* raw_tp: untrusted pointers, every read goes through bpf_probe_read_kernel. */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(layouts_fork, struct task_struct *parent, struct task_struct *child)
{
	struct core_layout_facts *f = &fork_facts;

	fill_common(f, child);
	f->flags_wide = BPF_CORE_READ((struct task_struct___wide *)child, flags);
	f->in_execve = BPF_CORE_READ_BITFIELD_PROBED((struct task_struct___signed *)child, in_execve);
	return 0;
}
