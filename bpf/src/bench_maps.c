// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * bench_maps.c - programs whose cost is dominated by map operations, so the
 * VM and the kernel can be compared on the map paths alone.
 *
 *   bench_hash:    one hash lookup and one update per packet, keyed by the
 *                  IPv4 source address (flows), as a flow table does.
 *   bench_ringbuf: one 64-byte record to a ring buffer per packet.
 *
 * Both return XDP_PASS and never modify the packet, so repeated runs on the
 * same buffer take the same path.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct flow_stats);
} bench_flows SEC(".maps");

struct bench_record {
	__u64 seq;
	__u32 len;
	__u32 saddr;
	__u8 payload[48];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024 * 1024);
} bench_events SEC(".maps");

/* Records the ring buffer had no room for; the host checks it stays 0 while it drains. */
__u64 bench_lost = 0;
__u64 bench_seq = 0;

static __always_inline __u32 source_address(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end || eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return 0;
	return ip->saddr;
}

SEC("xdp")
int bench_hash(struct xdp_md *ctx)
{
	__u32 key = source_address(ctx);
	__u32 len = ctx->data_end - ctx->data;
	struct flow_stats *stats = bpf_map_lookup_elem(&bench_flows, &key);
	struct flow_stats next = { .packets = 1, .bytes = len };

	if (stats) {
		next.packets = stats->packets + 1;
		next.bytes = stats->bytes + len;
	}
	bpf_map_update_elem(&bench_flows, &key, &next, BPF_ANY);
	return XDP_PASS;
}

SEC("xdp")
int bench_ringbuf(struct xdp_md *ctx)
{
	struct bench_record record = {};

	record.seq = __sync_fetch_and_add(&bench_seq, 1);
	record.len = ctx->data_end - ctx->data;
	record.saddr = source_address(ctx);
	if (bpf_ringbuf_output(&bench_events, &record, sizeof(record), 0) != 0)
		__sync_fetch_and_add(&bench_lost, 1);
	return XDP_PASS;
}
