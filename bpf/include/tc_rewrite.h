/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * tc_rewrite.h - map value layouts shared between tc_rewrite.c and the host.
 */
#ifndef SHARPBPF_TC_REWRITE_H
#define SHARPBPF_TC_REWRITE_H

#include <linux/types.h>

/* tc_dscp_rules value (key: IPv4 destination, network byte order). */
struct tc_dscp_rule {
	__u64 hits;  /* packets re-marked by this rule, updated atomically */
	__u8 dscp;   /* new DSCP code point, 0..63 (e.g. 46 = EF, 10 = AF11) */
	__u8 pad[7];
};

/* tc_port_rules value (key: __u16 UDP destination port, host byte order). */
struct tc_port_rule {
	__u64 hits;      /* datagrams redirected by this rule, updated atomically */
	__u16 new_port;  /* replacement destination port, host byte order */
	__u8 pad[6];
};

/* Host code decodes these byte for byte: keep the sizes fixed. */
_Static_assert(sizeof(struct tc_dscp_rule) == 16, "struct tc_dscp_rule layout changed");
_Static_assert(sizeof(struct tc_port_rule) == 16, "struct tc_port_rule layout changed");

#endif /* SHARPBPF_TC_REWRITE_H */
