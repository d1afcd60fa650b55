/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * tail_calls.h - slot numbers and counters shared by tail_calls.c and the host.
 */
#ifndef SHARPBPF_TAIL_CALLS_H
#define SHARPBPF_TAIL_CALLS_H

#include <linux/types.h>

/* Slots of the program array tc_dispatch (one per protocol handler). */
enum tc_slot {
	SLOT_TCP = 0,  /* filled at load time with handle_tcp */
	SLOT_UDP = 1,  /* filled at load time with handle_udp */
	SLOT_ICMP = 2, /* empty at load; the host may install handle_icmp */
	SLOT_IPV6 = 3, /* no handler exists: always the fallback path */
	SLOT_MAX = 4,
};

/* Indexes of the per-CPU counter array dispatch_stats. */
enum dispatch_stat {
	STAT_DISPATCHED = 0,   /* tail call attempted */
	STAT_FALLBACK = 1,     /* slot empty: bpf_tail_call returned */
	STAT_NOT_IP = 2,       /* not IPv4/IPv6, passed without dispatch */
	STAT_TCP_SYN = 3,      /* counted by handle_tcp */
	STAT_UDP = 4,          /* counted by handle_udp */
	STAT_UDP_PORT0 = 5,    /* dropped by handle_udp (destination port 0) */
	STAT_ICMP = 6,         /* counted by handle_icmp */
	STAT_MAX = 7,
};

/* Per-packet scratch the dispatcher leaves for the handler it jumps to. */
struct dispatch_scratch {
	__u32 l4_offset; /* byte offset of the L4 header from the frame start */
	__u32 protocol;  /* IP protocol number */
};

/* Host code decodes these byte for byte: keep the sizes fixed. */
_Static_assert(sizeof(struct dispatch_scratch) == 8, "struct dispatch_scratch layout changed");

#endif /* SHARPBPF_TAIL_CALLS_H */
