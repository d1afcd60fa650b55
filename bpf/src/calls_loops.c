// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * calls_loops.c - BPF-to-BPF calls, loops and global variables in one XDP program.
 *
 * For every IPv4 frame (untagged Ethernet) the program
 *   - verifies the IPv4 header checksum with a bounded `for` loop over the
 *     ten 16-bit words of a 20-byte header (frames with options are skipped),
 *   - hashes the first `hash_bytes` bytes after the Ethernet header with
 *     FNV-1a, driven by the bpf_loop() helper and a callback,
 *   - counts what it saw in global variables,
 * and drops the frame only if verify_checksum is set and the checksum is wrong.
 *
 * Features on show:
 *   - static __noinline functions: real BPF-to-BPF calls, verified in the
 *     caller's context (they may take packet pointers);
 *   - global (non-static) __noinline functions: verified once, on their own,
 *     from their BTF signature (arguments are a ctx pointer or scalars);
 *   - a bounded loop the verifier proves terminates (kernel 5.3+); unrolling
 *     is disabled so the back-edge really is in the bytecode;
 *   - bpf_loop(): a helper-driven loop with a callback, whose iteration count
 *     does not have to be a compile-time constant;
 *   - global variables: .rodata (const volatile config), .data (initialised,
 *     writable), .bss (zero-initialised counters).
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define HASH_WINDOW 64 /* most bytes bpf_loop will hash */

/* .rodata: configuration, patched by the host before load. */
const volatile bool verify_checksum = false;
const volatile __u32 hash_bytes = 32;

/* .data: initialised and writable. The FNV-1a offset basis, kept in a
 * variable so the host can seed the hash differently at run time. */
__u32 fnv_seed = 0x811c9dc5;

/* .bss: zero-initialised counters, updated atomically (many CPUs). */
__u64 packets_seen;
__u64 ipv4_packets;
__u64 bad_checksums;
__u64 options_skipped;
__u32 last_hash;

/* Folds a 32-bit one's-complement sum into 16 bits. Global function: it is
 * verified independently and called with a plain scalar. */
__noinline int fold_checksum(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Global function taking the context: counts every frame it is given. */
__noinline int count_frame(struct xdp_md *ctx)
{
	if (!ctx)
		return 0;
	__sync_fetch_and_add(&packets_seen, 1);
	return ctx->data_end - ctx->data;
}

/* Sums the ten 16-bit words of a 20-byte IPv4 header (including the stored
 * checksum): the result folds to 0 when the header is intact. A static
 * function may receive a packet pointer because it is verified inline with
 * its caller's knowledge of the bounds. */
static __noinline __u32 ipv4_header_sum(const struct iphdr *ip)
{
	const __u16 *words = (const __u16 *)ip;
	__u32 sum = 0;

	/* Keep it a real loop in the bytecode so the verifier's bounded-loop
	 * support is what proves termination (clang would otherwise unroll it). */
#pragma clang loop unroll(disable)
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += words[i];
	return sum;
}

struct hash_state {
	__u8 bytes[HASH_WINDOW];
	__u32 len;
	__u32 hash;
};

/* bpf_loop callback: hashes one byte. Returning 1 stops the loop early. */
static int fnv_step(__u32 index, void *data)
{
	struct hash_state *state = data;

	if (index >= state->len || index >= HASH_WINDOW)
		return 1;
	state->hash ^= state->bytes[index];
	state->hash *= 16777619; /* FNV-1a 32-bit prime */
	return 0;
}

static __noinline __u32 hash_prefix(struct xdp_md *ctx, __u32 offset, __u32 available)
{
	struct hash_state state = {};
	__u32 len = hash_bytes;

	if (len > HASH_WINDOW)
		len = HASH_WINDOW;
	if (len > available)
		len = available;
	/* bpf_xdp_load_bytes wants a non-zero length the verifier can bound by
	 * the buffer size. The mask changes nothing for len <= 64; it restates
	 * the bound in a form the verifier tracks whatever clang does with the
	 * clamps above. */
	if (len == 0 || bpf_xdp_load_bytes(ctx, offset, state.bytes, len & (HASH_WINDOW * 2 - 1)) < 0)
		return 0;
	state.len = len;
	state.hash = fnv_seed;
	bpf_loop(len, fnv_step, &state, 0);
	return state.hash;
}

SEC("xdp")
int xdp_calls_loops(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 frame_len;

	frame_len = count_frame(ctx);

	ip = (struct iphdr *)(eth + 1);
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	__sync_fetch_and_add(&ipv4_packets, 1);

	last_hash = hash_prefix(ctx, sizeof(*eth), frame_len - sizeof(*eth));

	if (ip->ihl != 5) {
		__sync_fetch_and_add(&options_skipped, 1);
		return XDP_PASS;
	}
	if (fold_checksum(ipv4_header_sum(ip)) != 0) {
		__sync_fetch_and_add(&bad_checksums, 1);
		if (verify_checksum)
			return XDP_DROP;
	}
	return XDP_PASS;
}
