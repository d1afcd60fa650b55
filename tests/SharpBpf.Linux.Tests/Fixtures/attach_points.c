// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Programs for the attach-point and event-reader tests of SharpBpf.Linux: each counts its hits in one slot of
 * `hits`, and the getpid tracepoint also reports the caller through a ring buffer and a perf event array.
 * Build with ./build.sh (clang-19); the object is committed so tests need no compiler. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

enum slot { S_UPROBE, S_URETPROBE, S_CGROUP_SKB, S_SOCKOPS, S_PERF_EVENT, S_TRACEPOINT, S_RAW_TP, S_TC, S_XDP, S_SOCKET, S_MAX };

struct event {
	__u32 pid;
	__u32 tgid;
	__u64 sequence;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, S_MAX);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/* The tracepoint reports only the process that asked (the test sets it before attaching). */
const volatile __u32 target_tgid = 0;

static __always_inline __u64 hit(__u32 slot)
{
	__u64 *counter = bpf_map_lookup_elem(&hits, &slot);
	if (!counter)
		return 0;
	return __sync_fetch_and_add(counter, 1) + 1;
}

SEC("uprobe")
int count_uprobe(void *ctx)
{
	hit(S_UPROBE);
	return 0;
}

SEC("uretprobe")
int count_uretprobe(void *ctx)
{
	hit(S_URETPROBE);
	return 0;
}

SEC("cgroup_skb/egress")
int count_cgroup_egress(struct __sk_buff *skb)
{
	hit(S_CGROUP_SKB);
	return 1;
}

SEC("sockops")
int count_sockops(struct bpf_sock_ops *ops)
{
	hit(S_SOCKOPS);
	return 1;
}

SEC("perf_event")
int count_perf_event(void *ctx)
{
	hit(S_PERF_EVENT);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int report_getpid(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if ((__u32)(id >> 32) != target_tgid)
		return 0;
	struct event ev = { .pid = (__u32)id, .tgid = (__u32)(id >> 32) };
	ev.sequence = hit(S_TRACEPOINT);
	bpf_ringbuf_output(&events, &ev, sizeof(ev), 0);
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
	return 0;
}

SEC("raw_tp/sys_enter")
int count_raw_sys_enter(void *ctx)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == target_tgid)
		hit(S_RAW_TP);
	return 0;
}

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
	hit(S_TC);
	return TC_ACT_OK;
}

SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
	hit(S_XDP);
	return XDP_PASS;
}

SEC("socket")
int count_socket(struct __sk_buff *skb)
{
	hit(S_SOCKET);
	return skb->len;
}
