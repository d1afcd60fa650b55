// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * lpm_route.c - longest-prefix-match routing decisions in XDP.
 *
 * The host fills route_table, a BPF_MAP_TYPE_LPM_TRIE keyed by IPv4 prefix,
 * with routes such as
 *     10.0.0.0/8       -> pass (the kernel forwards it)
 *     203.0.113.0/24   -> redirect to ifindex N
 *     198.51.100.0/24  -> drop (blackhole)
 * For every IPv4 packet (untagged or with one 802.1Q tag) the program looks
 * up the destination with a /32 key; the trie answers with the most specific
 * matching prefix. The matching route's packet/byte counters are updated
 * atomically and its action is applied. No match means XDP_PASS.
 *
 * The redirect only shows the decision: it sends the frame out unchanged,
 * without rewriting MAC addresses or decrementing the TTL, which a real
 * router would do (see bpf_fib_lookup for that).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "net_parse.h"
#include "lpm_route.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct route_key);
	__type(value, struct route_entry);
	/* LPM tries are always allocated on demand; the flag is mandatory. */
	__uint(map_flags, BPF_F_NO_PREALLOC);
} route_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ROUTE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} route_stats SEC(".maps");

static __always_inline void bump(__u32 index)
{
	__u64 *counter = bpf_map_lookup_elem(&route_stats, &index);

	if (counter)
		*counter += 1;
}

SEC("xdp")
int xdp_lpm_route(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct route_entry *route;
	struct route_key key;
	struct iphdr *ip;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	proto = eth->h_proto;
	ip = (void *)(eth + 1);
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_tag *tag = (void *)(eth + 1);

		if ((void *)(tag + 1) > data_end)
			return XDP_PASS;
		proto = tag->encapsulated_proto;
		ip = (void *)(tag + 1);
	}
	if (proto != bpf_htons(ETH_P_IP) || (void *)(ip + 1) > data_end)
		return XDP_PASS;

	bump(ROUTE_STAT_LOOKUPS);
	key.prefixlen = 32;
	key.addr = ip->daddr;
	route = bpf_map_lookup_elem(&route_table, &key);
	if (!route) {
		bump(ROUTE_STAT_MISSES);
		return XDP_PASS;
	}
	__sync_fetch_and_add(&route->packets, 1);
	__sync_fetch_and_add(&route->bytes, data_end - data);

	switch (route->action) {
	case ROUTE_DROP:
		bump(ROUTE_STAT_DROPS);
		return XDP_DROP;
	case ROUTE_REDIRECT:
		bump(ROUTE_STAT_REDIRECTS);
		return bpf_redirect(route->ifindex, 0);
	default:
		return XDP_PASS;
	}
}
