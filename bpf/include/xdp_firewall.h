/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * xdp_firewall.h - structures shared between xdp_firewall.c and the host.
 *
 * Layouts are fixed-size with explicit padding so that a user-space reader
 * (C, C#, Python) can decode map values and ring-buffer records without
 * guessing at compiler padding.
 */
#ifndef SHARPBPF_XDP_FIREWALL_H
#define SHARPBPF_XDP_FIREWALL_H

#include <linux/types.h>

/* Index into the per-CPU counter array `fw_stats`. */
enum fw_stat_index {
	FW_STAT_TCP = 0,   /* IPv4 TCP */
	FW_STAT_UDP = 1,   /* IPv4 UDP */
	FW_STAT_ICMP = 2,  /* IPv4 ICMP */
	FW_STAT_OTHER = 3, /* IPv4, any other protocol */
	FW_STAT_IPV6 = 4,  /* every IPv6 packet */
	FW_STAT_NON_IP = 5, /* ARP, LLDP, runt frames, ... */
	FW_STAT_MAX = 6,
};

/* Value of one `fw_stats` slot (one copy per CPU). */
struct fw_stat {
	__u64 packets;
	__u64 bytes;
};

/* Value of the block list `fw_blocklist` (key: IPv4 source address, network byte order). */
struct fw_block_entry {
	__u64 drops; /* packets dropped because of this entry, updated atomically */
	__u64 bytes; /* bytes of those packets, updated atomically */
};

/* Why a packet was dropped (fw_event.reason). */
enum fw_drop_reason {
	FW_REASON_BLOCKED_SOURCE = 1, /* saddr is in fw_blocklist */
	FW_REASON_UDP_PORT = 2,       /* UDP to the configured drop_udp_dport */
	FW_REASON_MALFORMED = 3,      /* header truncated or inconsistent */
};

/* One ring-buffer record per dropped packet (24 bytes). */
struct fw_event {
	__u32 saddr;    /* IPv4 source, network byte order; 0 when not IPv4 */
	__u32 daddr;    /* IPv4 destination, network byte order; 0 when not IPv4 */
	__u16 sport;    /* L4 source port, host byte order; 0 when unknown */
	__u16 dport;    /* L4 destination port, host byte order; 0 when unknown */
	__u32 pkt_len;  /* frame length in bytes */
	__u16 vlan_id;  /* 802.1Q VLAN id, 0 when untagged */
	__u8 protocol;  /* IP protocol / IPv6 next header; 0 when unknown */
	__u8 reason;    /* enum fw_drop_reason */
	__u8 family;    /* 4, 6 or 0 (not parsed far enough) */
	__u8 pad[3];
};

/* Load-time configuration, stored in .rodata and set by the host before load. */
struct fw_config {
	__u16 drop_udp_dport; /* drop every UDP datagram to this port; 0 disables */
	__u8 drop_malformed;  /* 1: drop truncated/inconsistent frames; 0: pass them */
	__u8 pad;
};

/* Host code decodes these byte for byte: keep the sizes fixed. */
_Static_assert(sizeof(struct fw_stat) == 16, "struct fw_stat layout changed");
_Static_assert(sizeof(struct fw_block_entry) == 16, "struct fw_block_entry layout changed");
_Static_assert(sizeof(struct fw_event) == 24, "struct fw_event layout changed");
_Static_assert(sizeof(struct fw_config) == 4, "struct fw_config layout changed");

#endif /* SHARPBPF_XDP_FIREWALL_H */
