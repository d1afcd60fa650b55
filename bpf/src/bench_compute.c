// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * bench_compute.c - compute-bound programs for comparing the VM's engines
 * with the kernel's JIT on the same code (bench/SharpBpf.Benchmarks).
 *
 *   bench_sum:      the sum of 1..10^7 in a loop of three instructions per
 *                   iteration (add, add, compare-and-jump). The kernel's
 *                   verifier walks every iteration of a loop, at most 10^6
 *                   instructions in all, so the loop runs in 1000 chunks of
 *                   10^4 iterations through bpf_loop, whose callback it
 *                   verifies once: 1000 helper calls next to 3*10^7
 *                   instructions.
 *   bench_checksum: the Internet checksum (ones' complement sum of 16-bit
 *                   words) over the whole frame, 1500 bytes in the benchmark,
 *                   with a bounds check per word as the verifier requires.
 *
 * Both return XDP_PASS (the result goes to a global, so that the work is
 * not optimised away) and never modify the packet.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

__u64 bench_sum_result = 0;
__u32 bench_checksum_result = 0;

/* 10^7 = SUM_CHUNKS callbacks of SUM_CHUNK iterations each. */
#define SUM_CHUNK 10000
#define SUM_CHUNKS 1000

/*
 * Adds base + 1 .. base + SUM_CHUNK with base = index * SUM_CHUNK to the
 * result (a global: its value is not tracked by the verifier, so the callback's
 * states converge). The inner loop sums 1..SUM_CHUNK (the base part is added
 * after it), so its bound is a constant the verifier follows; the empty asm
 * keeps clang from replacing the loop by the closed form.
 */
static long sum_chunk(__u32 index, void *ctx)
{
	__u64 base = (__u64)index * SUM_CHUNK;
	__u64 sum = 0;
	__u64 i = 1;

#pragma clang loop unroll(disable)
	do {
		sum += i;
		asm volatile("" : "+r"(sum));
		i++;
	} while (i <= SUM_CHUNK);
	bench_sum_result += sum + base * SUM_CHUNK;
	return 0;
}

SEC("xdp")
int bench_sum(struct xdp_md *ctx)
{
	bench_sum_result = 0;
	bpf_loop(SUM_CHUNKS, sum_chunk, NULL, 0);
	return XDP_PASS;
}

/* At most a jumbo-less MTU of 16-bit words: the bound the verifier walks. */
#define MAX_WORDS 768

SEC("xdp")
int bench_checksum(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 *word = data;
	__u64 sum = 0;

#pragma clang loop unroll(disable)
	for (int i = 0; i < MAX_WORDS; i++) {
		if ((void *)(word + 1) > data_end)
			break;
		sum += *word;
		word++;
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	bench_checksum_result = ~sum & 0xffff;
	return XDP_PASS;
}
