// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Accepted: a loop over a stack buffer whose bound comes from the packet length; kernel 6.18's level-2 log of it has
 * the loop's SCC number in its "Live regs" listing, mark_precise lines and stack liveness lines before "processed". */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int stack_loop(struct xdp_md *ctx)
{
	volatile __u64 buf[4] = {};
	__u32 n = (ctx->data_end - ctx->data) & 3;
	__u64 sum = 0;

#pragma clang loop unroll(disable)
	for (__u32 i = 0; i <= n; i++) {
		buf[i] = i;
		sum += buf[i];
	}
	return sum > 3 ? XDP_DROP : XDP_PASS;
}
