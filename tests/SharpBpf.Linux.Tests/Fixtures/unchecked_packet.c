// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* An XDP program the verifier must reject: it reads the packet without checking data_end first. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int unchecked_packet(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[12] == 0x08 ? XDP_PASS : XDP_DROP;
}
