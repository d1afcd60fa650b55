// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * socket_filter.c - keep only UDP datagrams to a destination port range.
 *
 * A socket filter (SO_ATTACH_BPF on a packet, raw or UDP socket) returns how
 * many bytes of the packet the socket should receive: the full length to keep
 * it, 0 to discard it. Both programs below keep UDP over IPv4 (and, in the
 * first one, IPv6) whose destination port lies in
 * [udp_port_min, udp_port_max] and discard everything else.
 *
 * Socket filters may not use direct packet access (skb->data/data_end), so
 * the packet is read in the two ways this program type allows:
 *   - udp_port_range:        bpf_skb_load_bytes_relative() with
 *                            BPF_HDR_START_NET, i.e. relative to the network
 *                            header;
 *   - udp_port_range_legacy: the classic-BPF style LD_ABS loads (load_byte /
 *                            load_half), with the SKF_NET_OFF base so offsets
 *                            are also relative to the network header.
 * Reading relative to the network header matters because where skb->data
 * points depends on the socket: an AF_PACKET/SOCK_RAW socket sees the
 * Ethernet header at offset 0, a UDP or raw IP socket does not.
 */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "net_parse.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Port range to keep, inclusive, host byte order; the host may change it
 * before load. The default covers a typical RTP media port block. */
const volatile __u16 udp_port_min = 5000;
const volatile __u16 udp_port_max = 5099;

/*
 * LLVM exposes the classic LD_ABS instructions as intrinsics. They read
 * big-endian values (already converted to host order) from the packet and
 * end the program with return 0 if the offset is out of bounds.
 */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

static __always_inline int port_in_range(__u16 port)
{
	return port >= udp_port_min && port <= udp_port_max;
}

SEC("socket")
int udp_port_range(struct __sk_buff *skb)
{
	struct udphdr udp;
	__u32 l4_off;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET) < 0)
			return 0;
		if (ip.version != 4 || ip.ihl < 5 || ip.protocol != IPPROTO_UDP)
			return 0;
		/* Only the first fragment carries the UDP header. */
		if (bpf_ntohs(ip.frag_off) & IPV4_FRAG_OFFSET_MASK)
			return 0;
		l4_off = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes_relative(skb, 0, &ip6, sizeof(ip6), BPF_HDR_START_NET) < 0)
			return 0;
		/* Extension headers are not walked: UDP must follow directly. */
		if (ip6.nexthdr != IPPROTO_UDP)
			return 0;
		l4_off = sizeof(ip6);
	} else {
		return 0;
	}

	if (bpf_skb_load_bytes_relative(skb, l4_off, &udp, sizeof(udp), BPF_HDR_START_NET) < 0)
		return 0;
	if (!port_in_range(bpf_ntohs(udp.dest)))
		return 0;
	return skb->len;
}

SEC("socket")
int udp_port_range_legacy(struct __sk_buff *skb)
{
	__u32 header_len;
	__u16 dest;

	/* IPv4 only, like the classic tcpdump-style filters this mirrors. */
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (load_byte(skb, SKF_NET_OFF + offsetof(struct iphdr, protocol)) != IPPROTO_UDP)
		return 0;
	if (load_half(skb, SKF_NET_OFF + offsetof(struct iphdr, frag_off)) & IPV4_FRAG_OFFSET_MASK)
		return 0;
	header_len = (load_byte(skb, SKF_NET_OFF) & 0x0f) * 4;
	if (header_len < sizeof(struct iphdr))
		return 0;
	dest = load_half(skb, SKF_NET_OFF + header_len + offsetof(struct udphdr, dest));
	if (!port_in_range(dest))
		return 0;
	return skb->len;
}
