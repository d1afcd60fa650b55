/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * net_parse.h - small definitions shared by the packet-processing programs.
 *
 * The kernel's UAPI headers describe Ethernet, IPv4, IPv6, TCP, UDP and ICMP,
 * but the 802.1Q tag lives in a kernel-internal header, so it is defined here.
 * Everything in this file is a plain wire-format description: no helpers, no
 * maps, so each program stays readable on its own.
 */
#ifndef SHARPBPF_NET_PARSE_H
#define SHARPBPF_NET_PARSE_H

#include <linux/types.h>

/* 802.1Q / 802.1ad tag that follows the Ethernet source address. */
struct vlan_tag {
	__be16 tci;              /* priority (3 bits), DEI (1 bit), VLAN id (12 bits) */
	__be16 encapsulated_proto; /* EtherType of what follows the tag */
};

#define VLAN_VID_MASK 0x0fff

/* IPv4 fragment bits inside iphdr.frag_off (host order after ntohs). */
#define IPV4_MORE_FRAGMENTS 0x2000
#define IPV4_FRAG_OFFSET_MASK 0x1fff

#endif /* SHARPBPF_NET_PARSE_H */
