// Several programs per section, bpf-to-bpf calls into .text (global and static subprograms, a chain of
// calls), and a callback passed by address (lddw src=4) to bpf_loop.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((noinline)) int add_one(int x) { return x + 1; }

static __attribute__((noinline)) int twice_plus_one(int x) { return add_one(x * 2); }

__attribute__((noinline)) int triple(int x) { return twice_plus_one(x) + x - 1; }

static long count_step(__u32 index, void *ctx)
{
	int *total = ctx;
	*total += index;
	return 0;
}

SEC("xdp")
int xdp_first(struct xdp_md *ctx)
{
	return add_one((int)ctx->ingress_ifindex) > 5 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int xdp_second(struct xdp_md *ctx)
{
	return triple((int)ctx->rx_queue_index) & 3;
}

SEC("tc")
int tc_plain(struct __sk_buff *skb)
{
	return skb->len > 100;
}

SEC("tracepoint/syscalls/sys_enter_write")
int tp_loop(void *ctx)
{
	int total = 0;
	bpf_loop(10, count_step, &total, 0);
	return total;
}

char LICENSE[] SEC("license") = "GPL";
