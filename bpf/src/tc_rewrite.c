// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * tc_rewrite.c - rewrite IPv4 header fields from a tc (clsact) hook.
 *
 * Two independent rewrites, each driven by a hash map the host fills in:
 *   - DSCP re-marking: if the IPv4 destination is in tc_dscp_rules, the DSCP
 *     bits of the TOS byte are replaced (ECN bits kept) and the IPv4 header
 *     checksum is patched with bpf_csum_diff + bpf_l3_csum_replace;
 *   - UDP port redirection: if the UDP destination port is in tc_port_rules,
 *     it is replaced and the UDP checksum is patched with
 *     bpf_l4_csum_replace (a datagram sent without checksum keeps 0).
 * The program never drops: it always returns TC_ACT_OK.
 *
 * Packet bytes are read with bpf_skb_load_bytes and written with
 * bpf_skb_store_bytes rather than through skb->data, which shows the
 * helper-based style and needs no re-validation of packet pointers after a
 * write (every store may move the packet data).
 *
 * Scope: untagged Ethernet + IPv4 (skb->protocol == ETH_P_IP). On real NICs
 * the VLAN tag is usually already stripped into skb metadata by the time tc
 * runs, so skb->protocol is the inner type; frames that still carry an
 * in-band tag are left untouched. Non-first fragments have no UDP header and
 * are not port-rewritten.
 */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "net_parse.h"
#include "tc_rewrite.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define IP_OFF ETH_HLEN
#define IP_CSUM_OFF (IP_OFF + offsetof(struct iphdr, check))
#define IP_TOS_OFF (IP_OFF + offsetof(struct iphdr, tos))

/* IPv4 destination (network byte order) -> new DSCP. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct tc_dscp_rule);
} tc_dscp_rules SEC(".maps");

/* UDP destination port (host byte order) -> new destination port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, struct tc_port_rule);
} tc_port_rules SEC(".maps");

/*
 * Re-marks the DSCP bits. The checksum fix is computed over the first 32-bit
 * word of the header (version/IHL, TOS, total length): bpf_csum_diff needs
 * 4-byte multiples, and handing the resulting difference to
 * bpf_l3_csum_replace with size 0 applies it to the stored checksum.
 */
static __always_inline void rewrite_dscp(struct __sk_buff *skb, const struct iphdr *ip)
{
	struct tc_dscp_rule *rule;
	__u32 old_word, new_word;
	__u8 new_tos;
	__s64 diff;

	rule = bpf_map_lookup_elem(&tc_dscp_rules, &ip->daddr);
	if (!rule)
		return;
	new_tos = (__u8)((rule->dscp & 0x3f) << 2) | (ip->tos & 0x03);
	if (new_tos == ip->tos)
		return;

	__builtin_memcpy(&old_word, ip, sizeof(old_word));
	new_word = old_word;
	((__u8 *)&new_word)[offsetof(struct iphdr, tos)] = new_tos;

	diff = bpf_csum_diff(&old_word, sizeof(old_word), &new_word, sizeof(new_word), 0);
	if (diff < 0)
		return;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, 0, diff, 0) < 0)
		return;
	if (bpf_skb_store_bytes(skb, IP_TOS_OFF, &new_tos, sizeof(new_tos), 0) < 0)
		return;
	__sync_fetch_and_add(&rule->hits, 1);
}

/*
 * Replaces the UDP destination port. The port is not part of the IPv4
 * pseudo-header, so only the UDP checksum changes: bpf_l4_csum_replace with
 * size 2 swaps one 16-bit word. BPF_F_MARK_MANGLED_0 keeps a zero ("no
 * checksum") field at zero and turns a computed zero into 0xffff, as UDP
 * requires.
 */
static __always_inline void rewrite_udp_port(struct __sk_buff *skb, __u32 l4_off)
{
	struct tc_port_rule *rule;
	struct udphdr udp;
	__u16 port;
	__be16 new_dest;

	if (bpf_skb_load_bytes(skb, l4_off, &udp, sizeof(udp)) < 0)
		return;
	port = bpf_ntohs(udp.dest);
	rule = bpf_map_lookup_elem(&tc_port_rules, &port);
	if (!rule || rule->new_port == port)
		return;
	new_dest = bpf_htons(rule->new_port);

	if (bpf_l4_csum_replace(skb, l4_off + offsetof(struct udphdr, check), udp.dest, new_dest,
				BPF_F_MARK_MANGLED_0 | sizeof(new_dest)) < 0)
		return;
	if (bpf_skb_store_bytes(skb, l4_off + offsetof(struct udphdr, dest), &new_dest,
				sizeof(new_dest), 0) < 0)
		return;
	__sync_fetch_and_add(&rule->hits, 1);
}

SEC("tc")
int tc_rewrite(struct __sk_buff *skb)
{
	struct iphdr ip;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, IP_OFF, &ip, sizeof(ip)) < 0)
		return TC_ACT_OK;
	if (ip.version != 4 || ip.ihl < 5)
		return TC_ACT_OK;

	rewrite_dscp(skb, &ip);

	if (ip.protocol == IPPROTO_UDP && !(bpf_ntohs(ip.frag_off) & IPV4_FRAG_OFFSET_MASK))
		rewrite_udp_port(skb, IP_OFF + ip.ihl * 4);

	return TC_ACT_OK;
}
