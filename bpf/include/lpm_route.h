/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * lpm_route.h - key/value layouts of the routing table used by lpm_route.c.
 */
#ifndef SHARPBPF_LPM_ROUTE_H
#define SHARPBPF_LPM_ROUTE_H

#include <linux/types.h>

/*
 * LPM trie key: the prefix length in bits comes first (the kernel requires
 * it), then the address bytes, most significant first (network byte order).
 * A lookup uses prefixlen = 32 and the full destination address.
 */
struct route_key {
	__u32 prefixlen;
	__u32 addr;
};

enum route_action {
	ROUTE_PASS = 0,      /* hand to the kernel stack (it does the forwarding) */
	ROUTE_DROP = 1,      /* blackhole route */
	ROUTE_REDIRECT = 2,  /* bpf_redirect() to ifindex */
};

/* Value of the routing table. */
struct route_entry {
	__u32 next_hop;   /* gateway IPv4 address, network byte order, 0 = on-link */
	__u32 ifindex;    /* egress interface for ROUTE_REDIRECT */
	__u32 action;     /* enum route_action */
	__u32 pad;
	__u64 packets;    /* packets matched by this route, updated atomically */
	__u64 bytes;      /* bytes matched by this route, updated atomically */
};

/* Indexes of the per-CPU counter array route_stats. */
enum route_stat {
	ROUTE_STAT_LOOKUPS = 0, /* IPv4 packets looked up */
	ROUTE_STAT_MISSES = 1,  /* no prefix matched: passed */
	ROUTE_STAT_DROPS = 2,   /* blackholed */
	ROUTE_STAT_REDIRECTS = 3,
	ROUTE_STAT_MAX = 4,
};

/* Host code decodes these byte for byte: keep the sizes fixed. */
_Static_assert(sizeof(struct route_key) == 8, "struct route_key layout changed");
_Static_assert(sizeof(struct route_entry) == 32, "struct route_entry layout changed");

#endif /* SHARPBPF_LPM_ROUTE_H */
