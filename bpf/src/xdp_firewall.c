// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * xdp_firewall.c - a small stateless XDP firewall.
 *
 * For every frame received on the attached interface the program:
 *   1. parses Ethernet, at most one 802.1Q/802.1ad tag, then IPv4 or IPv6,
 *      then the TCP/UDP/ICMP header that follows;
 *   2. adds the frame to a per-CPU packet/byte counter chosen by protocol
 *      (fw_stats, indexed by enum fw_stat_index);
 *   3. drops IPv4 packets whose source address is in the block list
 *      (fw_blocklist), bumping that entry's drop counter atomically;
 *   4. drops UDP datagrams (IPv4 or IPv6) to the port configured in
 *      fw_config.drop_udp_dport, when that is non-zero;
 *   5. drops frames whose headers are truncated or inconsistent, when
 *      fw_config.drop_malformed is set (the default);
 *   6. for every drop, writes a struct fw_event to the ring buffer fw_events.
 * Everything else is passed up the stack with XDP_PASS.
 *
 * Policy for malformed input: a frame that cannot be parsed is the sender's
 * problem, not a failure of this program, so it is dropped (or passed, if the
 * host cleared drop_malformed) and reported with FW_REASON_MALFORMED.
 * XDP_ABORTED is deliberately never returned: it means "the program hit an
 * internal error", fires the xdp:xdp_exception tracepoint and would make a
 * flood of runt frames look like a firewall bug.
 *
 * Known limits (kept on purpose to stay small): IPv6 extension headers are not
 * walked (a packet whose first next-header is not TCP/UDP/ICMPv6 is counted
 * and passed), the block list is IPv4-only, and non-first IPv4 fragments carry
 * no L4 header so ports are reported as 0 and the UDP port rule cannot match.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "net_parse.h"
#include "xdp_firewall.h"

#ifndef FW_DEFAULT_DROP_UDP_DPORT
#define FW_DEFAULT_DROP_UDP_DPORT 0 /* rule disabled unless the host sets it */
#endif

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/*
 * Load-time configuration. `const volatile` puts it in .rodata, which the
 * loader may patch before BPF_PROG_LOAD and then freezes; `volatile` stops
 * clang from folding the default values into the code.
 */
const volatile struct fw_config fw_config = {
	.drop_udp_dport = FW_DEFAULT_DROP_UDP_DPORT,
	.drop_malformed = 1,
};

/* Ring-buffer records that could not be reserved (buffer full); lives in .bss. */
__u64 fw_events_lost = 0;

/* Source addresses to drop. Key: IPv4 address in network byte order. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct fw_block_entry);
} fw_blocklist SEC(".maps");

/* Per-protocol packet and byte counters; the host sums the per-CPU copies. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FW_STAT_MAX);
	__type(key, __u32);
	__type(value, struct fw_stat);
} fw_stats SEC(".maps");

/* One struct fw_event per dropped packet. Size must be a power-of-two number of pages. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} fw_events SEC(".maps");

/* What the parser learned about a packet so far; feeds the drop event. */
struct pkt_info {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u16 vlan_id;
	__u8 protocol;
	__u8 family;
	__u32 len;
};

static __always_inline void count_packet(__u32 index, __u32 len)
{
	struct fw_stat *stat = bpf_map_lookup_elem(&fw_stats, &index);

	/* The lookup cannot fail for an in-range index of an array map, but the
	 * verifier insists on the NULL check all the same. Per-CPU values need no
	 * atomics: only this CPU writes this copy. */
	if (stat) {
		stat->packets += 1;
		stat->bytes += len;
	}
}

static __always_inline int drop_with_event(const struct pkt_info *info, __u8 reason)
{
	struct fw_event *event;

	event = bpf_ringbuf_reserve(&fw_events, sizeof(*event), 0);
	if (!event) {
		/* Dropping is still the right decision; only the report is lost. */
		__sync_fetch_and_add(&fw_events_lost, 1);
		return XDP_DROP;
	}
	event->saddr = info->saddr;
	event->daddr = info->daddr;
	event->sport = info->sport;
	event->dport = info->dport;
	event->pkt_len = info->len;
	event->vlan_id = info->vlan_id;
	event->protocol = info->protocol;
	event->reason = reason;
	event->family = info->family;
	event->pad[0] = 0;
	event->pad[1] = 0;
	event->pad[2] = 0;
	bpf_ringbuf_submit(event, 0);
	return XDP_DROP;
}

static __always_inline int malformed(const struct pkt_info *info)
{
	if (!fw_config.drop_malformed)
		return XDP_PASS;
	return drop_with_event(info, FW_REASON_MALFORMED);
}

/*
 * Reads the ports of a TCP or UDP header at `l4`. Returns 0 on success, -1 if
 * the header does not fit in the frame. ICMP and other protocols have no ports
 * and always succeed once their minimal header is present.
 */
static __always_inline int parse_l4(void *l4, void *data_end, struct pkt_info *info)
{
	if (info->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return -1;
		info->sport = bpf_ntohs(tcp->source);
		info->dport = bpf_ntohs(tcp->dest);
	} else if (info->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return -1;
		info->sport = bpf_ntohs(udp->source);
		info->dport = bpf_ntohs(udp->dest);
	} else if (info->protocol == IPPROTO_ICMP || info->protocol == IPPROTO_ICMPV6) {
		/* type, code and checksum: the part every ICMP message has. */
		if (l4 + 4 > data_end)
			return -1;
	}
	return 0;
}

static __always_inline int udp_port_rule(const struct pkt_info *info)
{
	__u16 port = fw_config.drop_udp_dport;

	if (port != 0 && info->protocol == IPPROTO_UDP && info->dport == port)
		return drop_with_event(info, FW_REASON_UDP_PORT);
	return XDP_PASS;
}

static __always_inline int handle_ipv4(void *l3, void *data_end, struct pkt_info *info)
{
	struct iphdr *ip = l3;
	struct fw_block_entry *blocked;
	__u32 header_len;
	__u32 stat_index;

	info->family = 4;
	if ((void *)(ip + 1) > data_end) {
		count_packet(FW_STAT_OTHER, info->len);
		return malformed(info);
	}
	info->protocol = ip->protocol;
	info->saddr = ip->saddr;
	info->daddr = ip->daddr;

	switch (ip->protocol) {
	case IPPROTO_TCP:
		stat_index = FW_STAT_TCP;
		break;
	case IPPROTO_UDP:
		stat_index = FW_STAT_UDP;
		break;
	case IPPROTO_ICMP:
		stat_index = FW_STAT_ICMP;
		break;
	default:
		stat_index = FW_STAT_OTHER;
		break;
	}
	count_packet(stat_index, info->len);

	/* The block list wins over every other check, even for broken headers:
	 * a blocked host must not get through by sending garbage. */
	blocked = bpf_map_lookup_elem(&fw_blocklist, &info->saddr);
	if (blocked) {
		__sync_fetch_and_add(&blocked->drops, 1);
		__sync_fetch_and_add(&blocked->bytes, info->len);
		return drop_with_event(info, FW_REASON_BLOCKED_SOURCE);
	}

	if (ip->version != 4 || ip->ihl < 5)
		return malformed(info);
	header_len = ip->ihl * 4;
	/* Options make the header variable-length; the bound keeps the verifier
	 * (and us) sure the L4 header start is inside the frame. */
	if (l3 + header_len > data_end)
		return malformed(info);

	/* A non-first fragment has no L4 header: nothing more to look at. */
	if (bpf_ntohs(ip->frag_off) & IPV4_FRAG_OFFSET_MASK)
		return XDP_PASS;

	if (parse_l4(l3 + header_len, data_end, info) < 0)
		return malformed(info);
	return udp_port_rule(info);
}

static __always_inline int handle_ipv6(void *l3, void *data_end, struct pkt_info *info)
{
	struct ipv6hdr *ip6 = l3;

	info->family = 6;
	count_packet(FW_STAT_IPV6, info->len);
	if ((void *)(ip6 + 1) > data_end)
		return malformed(info);
	if (ip6->version != 6)
		return malformed(info);
	info->protocol = ip6->nexthdr;
	if (parse_l4(ip6 + 1, data_end, info) < 0)
		return malformed(info);
	return udp_port_rule(info);
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt_info info = {};
	struct ethhdr *eth = data;
	void *cursor;
	__u16 eth_proto;

	info.len = data_end - data;

	if ((void *)(eth + 1) > data_end) {
		count_packet(FW_STAT_NON_IP, info.len);
		return malformed(&info);
	}
	eth_proto = eth->h_proto;
	cursor = eth + 1;

	/* One VLAN tag is enough for the usual access-port / trunk setups; a
	 * second (QinQ) tag is treated as a non-IP EtherType and passed. */
	if (eth_proto == bpf_htons(ETH_P_8021Q) || eth_proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_tag *tag = cursor;

		if ((void *)(tag + 1) > data_end) {
			count_packet(FW_STAT_NON_IP, info.len);
			return malformed(&info);
		}
		info.vlan_id = bpf_ntohs(tag->tci) & VLAN_VID_MASK;
		eth_proto = tag->encapsulated_proto;
		cursor = tag + 1;
	}

	if (eth_proto == bpf_htons(ETH_P_IP))
		return handle_ipv4(cursor, data_end, &info);
	if (eth_proto == bpf_htons(ETH_P_IPV6))
		return handle_ipv6(cursor, data_end, &info);

	count_packet(FW_STAT_NON_IP, info.len);
	return XDP_PASS;
}
