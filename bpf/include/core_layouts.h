/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * core_layouts.h - the record core_layouts.c fills in .bss (one per program).
 */
#ifndef SHARPBPF_CORE_LAYOUTS_H
#define SHARPBPF_CORE_LAYOUTS_H

#include <linux/types.h>

struct core_layout_facts {
	__u64 tgid;              /* BPF_CORE_READ(task, tgid) */
	__u64 parent_tgid;       /* from the subprogram read_parent_tgid() */
	__u64 flags_wide;        /* task->flags read through a u64 local declaration (mem size 8 -> 4) */
	__u64 comm3_offset;      /* bpf_core_field_offset(task->comm[3]) */
	__u64 nofile_cur;        /* task->signal->rlim[7].rlim_cur */
	__u64 name_len;          /* task->fs->pwd.dentry->d_name.len, through anonymous members */
	__u64 attr_key_size_off; /* offset of bpf_attr.key_size (a union root) */
	__u64 callchain_kernel;  /* enum64 value PERF_CONTEXT_KERNEL */
	__u64 ringbuf_type;      /* BPF_MAP_TYPE_RINGBUF, through a ___v2 flavoured enumerator */
	__u64 state;             /* __state, or state on kernels before 5.14 */
	__u32 local_type_id;     /* bpf_core_type_id_local(struct task_struct) */
	__u32 kernel_type_id;    /* bpf_core_type_id_kernel(struct task_struct) */
	__u32 list_head_size;    /* bpf_core_type_size(struct list_head) */
	__u32 rlimit_size;       /* bpf_core_type_size(struct rlimit) */
	__u8 has_new_state;      /* bpf_core_field_exists(task_struct___new->__state) */
	__u8 has_old_state;      /* bpf_core_field_exists(task_struct___old->state) */
	__u8 has_missing_type;   /* bpf_core_type_exists(struct sharpbpf_not_in_kernel) */
	__u8 has_pid_t;          /* bpf_core_type_exists(pid_t), a typedef root */
	__u8 rlimit_matches;     /* bpf_core_type_matches(struct rlimit) */
	__u8 in_execve_signed;   /* FIELD_SIGNED of a bitfield declared signed locally */
	__u8 pid_signed;         /* FIELD_SIGNED of task->pid */
	__u8 in_execve;          /* the bitfield through a signed local declaration */
	__u8 comm_size;          /* bpf_core_field_size(task->comm) */
	__u8 has_ringbuf;        /* bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF) */
	__u8 has_hv_renamed;     /* a flavoured enumerator no kernel has */
	__u8 pad[5];
};

#endif /* SHARPBPF_CORE_LAYOUTS_H */
