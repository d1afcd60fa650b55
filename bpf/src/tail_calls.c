// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * tail_calls.c - an XDP dispatcher that tail-calls per-protocol handlers.
 *
 * xdp_dispatch parses Ethernet and IPv4/IPv6, picks a slot of the program
 * array dispatch_table by protocol and jumps there with bpf_tail_call(). A tail
 * call replaces the running program (same stack frame budget, no return), so
 * the handler's verdict is the verdict for the packet. When the slot is empty
 * bpf_tail_call() simply returns and the dispatcher takes the fallback path:
 * count it and pass the packet.
 *
 * Slot contents right after loading (static initialisation of the program
 * array, which libbpf performs after loading the programs):
 *   SLOT_TCP  -> handle_tcp   (counts SYNs, passes everything)
 *   SLOT_UDP  -> handle_udp   (drops UDP to port 0, which is never valid)
 *   SLOT_ICMP -> empty; handle_icmp exists in this object and the host may
 *                install it, to show updating a slot at run time
 *   SLOT_IPV6 -> empty; there is no handler, IPv6 always falls back
 *
 * Only untagged Ethernet is dispatched; VLAN-tagged and non-IP frames are
 * counted as STAT_NOT_IP and passed.
 *
 * The dispatcher hands the parsed L4 offset to the handler through a per-CPU
 * array (dispatch_scratch): a tail call keeps the context but not registers
 * or stack, and XDP runs a packet on one CPU from start to finish.
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

#include "tail_calls.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Largest L4 offset the dispatcher produces: Ethernet + VLAN-free IPv4 with
 * the biggest options (14 + 60); also keeps the verifier's range small. */
#define MAX_L4_OFFSET 128

/* Handlers are declared first so the program array can refer to them. */
int handle_tcp(struct xdp_md *ctx);
int handle_udp(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SLOT_MAX);
	/* key_size, not __type(key, ...): program arrays accept no BTF for
	 * their key or value, so the map must not carry type ids. */
	__uint(key_size, sizeof(__u32));
	__array(values, int(struct xdp_md *));
} dispatch_table SEC(".maps") = {
	.values = {
		[SLOT_TCP] = (void *)&handle_tcp,
		[SLOT_UDP] = (void *)&handle_udp,
	},
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dispatch_scratch);
} dispatch_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} dispatch_stats SEC(".maps");

static __always_inline void bump(__u32 index)
{
	__u64 *counter = bpf_map_lookup_elem(&dispatch_stats, &index);

	if (counter)
		*counter += 1; /* per-CPU slot: no atomics needed */
}

/*
 * Returns the L4 offset the dispatcher left in the scratch slot, or -1 when it
 * is missing or out of range. The value is read once through a volatile
 * pointer so the bound check and the later use see the same number (the
 * verifier cannot know that nobody rewrote the map value in between).
 */
static __always_inline int scratch_l4_offset(void)
{
	__u32 zero = 0;
	struct dispatch_scratch *s = bpf_map_lookup_elem(&dispatch_scratch, &zero);
	__u32 offset;

	if (!s)
		return -1;
	offset = *(volatile __u32 *)&s->l4_offset;
	if (offset > MAX_L4_OFFSET)
		return -1;
	return offset;
}

SEC("xdp")
int handle_tcp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int offset = scratch_l4_offset();
	struct tcphdr *tcp;

	if (offset < 0)
		return XDP_PASS;
	tcp = data + offset;
	if ((void *)(tcp + 1) > data_end)
		return XDP_PASS;
	if (tcp->syn && !tcp->ack)
		bump(STAT_TCP_SYN);
	return XDP_PASS;
}

SEC("xdp")
int handle_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int offset = scratch_l4_offset();
	struct udphdr *udp;

	if (offset < 0)
		return XDP_PASS;
	udp = data + offset;
	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	bump(STAT_UDP);
	if (udp->dest == 0) {
		bump(STAT_UDP_PORT0);
		return XDP_DROP;
	}
	return XDP_PASS;
}

/* Not in the table at load time: the host installs it into SLOT_ICMP. */
SEC("xdp")
int handle_icmp(struct xdp_md *ctx)
{
	bump(STAT_ICMP);
	return XDP_PASS;
}

SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct dispatch_scratch *s;
	__u32 zero = 0;
	__u32 slot;

	if ((void *)(eth + 1) > data_end) {
		bump(STAT_NOT_IP);
		return XDP_PASS;
	}
	s = bpf_map_lookup_elem(&dispatch_scratch, &zero);
	if (!s)
		return XDP_PASS;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl < 5) {
			bump(STAT_NOT_IP);
			return XDP_PASS;
		}
		s->l4_offset = sizeof(*eth) + ip->ihl * 4;
		s->protocol = ip->protocol;
		switch (ip->protocol) {
		case IPPROTO_TCP:
			slot = SLOT_TCP;
			break;
		case IPPROTO_UDP:
			slot = SLOT_UDP;
			break;
		case IPPROTO_ICMP:
			slot = SLOT_ICMP;
			break;
		default:
			/* No handler slot for other protocols: pass untouched. */
			return XDP_PASS;
		}
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		s->l4_offset = sizeof(*eth) + sizeof(struct ipv6hdr);
		s->protocol = IPPROTO_IPV6;
		slot = SLOT_IPV6;
	} else {
		bump(STAT_NOT_IP);
		return XDP_PASS;
	}

	bump(STAT_DISPATCHED);
	bpf_tail_call(ctx, &dispatch_table, slot);

	/* Only reached when the slot is empty (or the tail-call limit of 33
	 * nested calls was hit): the fallback is to let the packet through. */
	bump(STAT_FALLBACK);
	return XDP_PASS;
}
