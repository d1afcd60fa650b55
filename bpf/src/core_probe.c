// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * core_probe.c - CO-RE (Compile Once, Run Everywhere) without vmlinux.h.
 *
 * The kernel types are declared here by hand, with only the fields we use,
 * and marked __attribute__((preserve_access_index)). Clang then records
 * every field access as a BTF relocation ("field task_struct.pid at this
 * instruction") instead of baking in an offset; at load time libbpf looks
 * the names up in the running kernel's BTF (/sys/kernel/btf/vmlinux) and
 * patches the instructions. The order and types of the local fields do not
 * have to match the kernel's.
 *
 * What is shown:
 *   - field reads with relocations: direct (tp_btf pointers are trusted BTF
 *     pointers) and through BPF_CORE_READ (bpf_probe_read_kernel underneath);
 *   - bpf_core_field_exists / bpf_core_field_size;
 *   - a bitfield read: BPF_CORE_READ_BITFIELD (direct) and
 *     BPF_CORE_READ_BITFIELD_PROBED (probe-read) of task_struct.in_execve etc.;
 *   - bpf_core_enum_value_exists / bpf_core_enum_value on enum pid_type;
 *   - type flavours: struct task_struct___old describes kernels before 5.14
 *     (`long state`), the current one has `unsigned int __state`; the
 *     triple-underscore suffix is ignored when matching names, and
 *     bpf_core_field_exists picks the branch. The branch for the missing field
 *     is "poisoned" by libbpf and removed by the verifier as dead code;
 *   - bpf_core_type_matches on struct list_head (declared exactly like the
 *     kernel's: matches) and on the partial struct task_struct (libbpf 1.1
 *     reports no match for it on 6.18; the answer is data, not an error).
 *
 * Programs:
 *   on_exec        SEC("tp_btf/sched_process_exec")  exec of any process
 *   on_new_task    SEC("kprobe/wake_up_new_task")    a new task starts running
 *   on_fork        SEC("raw_tp/sched_process_fork")  forks counted per parent
 * Each event goes to the ring buffer core_events as struct core_task_event.
 */
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "core_probe.h"

/* GPL-compatible (dual) licence: the probe-read helpers are GPL-only. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* ---- hand-written kernel types ---------------------------------------- */

struct task_struct {
	unsigned int __state;
	unsigned int flags;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	char comm[TASK_COMM_LEN];
	unsigned int in_execve : 1;
	unsigned int in_iowait : 1;
} __attribute__((preserve_access_index));

/* Flavour for kernels before 5.14, where the run state was `long state`. */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* Only the enumerator names matter; libbpf reads the values from the kernel. */
enum pid_type {
	PIDTYPE_PID,
	PIDTYPE_TGID,
	PIDTYPE_PGID,
	PIDTYPE_SID,
	PIDTYPE_MAX,
};

/* A flavour of the same enum with a value no kernel has, to show the
 * "does not exist" answer. */
enum pid_type___probe {
	PIDTYPE_NOT_IN_ANY_KERNEL = 42,
};

/* Declared exactly as in the kernel, so bpf_core_type_matches() can say yes. */
struct list_head {
	struct list_head *next;
	struct list_head *prev;
};

struct linux_binprm; /* only passed through, never dereferenced */

/* ---- maps --------------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} core_events SEC(".maps");

/* Forks per parent tgid, from the raw tracepoint. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __s32);
	__type(value, __u64);
} forks_by_parent SEC(".maps");

/* ---- helpers ------------------------------------------------------------- */

/* Run state across kernel versions: the ___old flavour is only touched when
 * the new field is missing. Reads go through BPF_CORE_READ so this works for
 * untrusted (kprobe) pointers too. */
static __always_inline __u64 task_state(struct task_struct *task, __u8 *is_new)
{
	if (bpf_core_field_exists(task->__state)) {
		*is_new = 1;
		return BPF_CORE_READ(task, __state);
	}
	*is_new = 0;
	return BPF_CORE_READ((struct task_struct___old *)task, state);
}

/* Facts about the running kernel that are constants after relocation. */
static __always_inline void fill_kernel_facts(struct core_task_event *event)
{
	event->comm_size = bpf_core_field_size(((struct task_struct *)0)->comm);
	event->type_matches = bpf_core_type_matches(struct task_struct);
	if (bpf_core_enum_value_exists(enum pid_type, PIDTYPE_SID))
		event->pidtype_sid = bpf_core_enum_value(enum pid_type, PIDTYPE_SID);
	else
		event->pidtype_sid = -1;
	event->has_fake_enum = bpf_core_enum_value_exists(enum pid_type___probe, PIDTYPE_NOT_IN_ANY_KERNEL);
	event->list_head_matches = bpf_core_type_matches(struct list_head);
	event->pad[0] = event->pad[1] = 0;
}

/* ---- programs ------------------------------------------------------------- */

/*
 * tp_btf arguments are typed from the kernel's BTF, so `task` is a trusted
 * pointer: plain C dereferences (relocated by CO-RE) are allowed, as is the
 * direct bitfield read.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, int old_pid, struct linux_binprm *bprm)
{
	struct core_task_event *event;

	event = bpf_ringbuf_reserve(&core_events, sizeof(*event), 0);
	if (!event)
		return 0;
	event->kind = CORE_EVENT_EXEC;
	event->pid = task->pid;
	event->tgid = task->tgid;
	event->ppid = task->real_parent->tgid;
	event->flags = task->flags;
	event->state = task_state(task, &event->state_is_new);
	event->in_execve = BPF_CORE_READ_BITFIELD(task, in_execve);
	event->in_iowait = BPF_CORE_READ_BITFIELD(task, in_iowait);
	bpf_core_read_str(event->comm, sizeof(event->comm), &task->comm);
	fill_kernel_facts(event);
	bpf_ringbuf_submit(event, 0);
	return 0;
}

/*
 * kprobe arguments are raw registers; the task pointer is untrusted, so
 * every read goes through BPF_CORE_READ / the _PROBED bitfield variant.
 */
SEC("kprobe/wake_up_new_task")
int BPF_KPROBE(on_new_task, struct task_struct *task)
{
	struct core_task_event *event;

	event = bpf_ringbuf_reserve(&core_events, sizeof(*event), 0);
	if (!event)
		return 0;
	event->kind = CORE_EVENT_NEW_TASK;
	event->pid = BPF_CORE_READ(task, pid);
	event->tgid = BPF_CORE_READ(task, tgid);
	event->ppid = BPF_CORE_READ(task, real_parent, tgid);
	event->flags = BPF_CORE_READ(task, flags);
	event->state = task_state(task, &event->state_is_new);
	event->in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	event->in_iowait = BPF_CORE_READ_BITFIELD_PROBED(task, in_iowait);
	BPF_CORE_READ_STR_INTO(&event->comm, task, comm);
	fill_kernel_facts(event);
	bpf_ringbuf_submit(event, 0);
	return 0;
}

/*
 * Raw tracepoints get the tracepoint's arguments as an array of u64 with no
 * type information; BPF_PROG unpacks them. Pointers are untrusted here.
 */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__s32 parent_tgid = BPF_CORE_READ(parent, tgid);
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&forks_by_parent, &parent_tgid);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&forks_by_parent, &parent_tgid, &one, BPF_NOEXIST);
	return 0;
}
