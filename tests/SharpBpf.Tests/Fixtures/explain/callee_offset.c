// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Rejected: a subprogram returns a random number, and the caller adds it to a packet pointer. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

static __attribute__((noinline)) int pick_offset(void)
{
	int offset = bpf_get_prandom_u32();

	return offset * 2;
}

SEC("xdp")
int callee_offset(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *data_end = (void *)(long)ctx->data_end;
	int offset = pick_offset();

	if (data + 16 > data_end)
		return XDP_PASS;
	unsigned char *p = data + offset;

	if (p + 1 > data_end)
		return XDP_PASS;
	return *p == 0x08 ? XDP_PASS : XDP_DROP;
}
