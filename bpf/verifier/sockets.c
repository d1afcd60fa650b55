// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * sockets.c - socket pointers and the references they hold, one program per
 * rule: socket map lookups (which take a reference), the socket casts
 * (bpf_sk_fullsock, bpf_tcp_sock, bpf_get_listener_sock) and the pointers they
 * derive from a referenced socket, and bpf_sock_ops.sk. Some programs are
 * meant to be REJECTED by the kernel verifier: SocketKernelTests compares
 * SharpBPF's verdict, error line and processed count with the kernel's.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sock_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sock_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xsk_map SEC(".maps");

struct sock_counts {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_counts);
} sock_store SEC(".maps");

static __always_inline struct bpf_sock *lookup_tcp(struct __sk_buff *skb)
{
	struct bpf_sock_tuple tuple = {};

	return bpf_sk_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
}

/* Rejected: a socket map lookup holds a reference, never released here. */
SEC("tc")
int sockmap_lookup_leak(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&sock_map, &key);

	if (!sk)
		return TC_ACT_OK;
	return sk->family;
}

/* Accepted: the socket is read and released. */
SEC("tc")
int sockmap_lookup_release(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&sock_map, &key);
	int family;

	if (!sk)
		return TC_ACT_OK;
	family = sk->family;
	bpf_sk_release(sk);
	return family;
}

/* Accepted: a sockhash lookup is a full socket too (type is readable). */
SEC("tc")
int sockhash_lookup_release(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&sock_hash, &key);
	int type;

	if (!sk)
		return TC_ACT_OK;
	type = sk->type;
	bpf_sk_release(sk);
	return type;
}

/* Rejected: a socket is not writable memory. */
SEC("tc")
int sockmap_lookup_write(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&sock_map, &key);

	if (!sk)
		return TC_ACT_OK;
	sk->mark = 1;
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

/* Accepted: XDP may look sockets up in a sockmap too. */
SEC("xdp")
int sockmap_lookup_xdp(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&sock_map, &key);

	if (!sk)
		return XDP_PASS;
	bpf_sk_release(sk);
	return XDP_PASS;
}

/* Accepted: an XSKMAP lookup is an xdp_sock, whose queue_id is readable; no reference. */
SEC("xdp")
int xskmap_lookup_read(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct bpf_xdp_sock *xsk = bpf_map_lookup_elem(&xsk_map, &key);

	if (!xsk)
		return XDP_PASS;
	return xsk->queue_id;
}

/* Rejected: an xdp_sock is not writable. */
SEC("xdp")
int xskmap_lookup_write(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct bpf_xdp_sock *xsk = bpf_map_lookup_elem(&xsk_map, &key);

	if (!xsk)
		return XDP_PASS;
	xsk->queue_id = 3;
	return XDP_PASS;
}

/* Accepted: __sk_buff.sk cast to a full socket, whose type field is readable. */
SEC("tc")
int fullsock_read(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return TC_ACT_OK;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return TC_ACT_OK;
	return sk->type;
}

/* Rejected: a sock_common is not a full socket. */
SEC("tc")
int sock_common_type(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return TC_ACT_OK;
	return sk->type;
}

/* Accepted: struct bpf_tcp_sock, 4-byte fields and the two 8-byte counters. */
SEC("tc")
int tcp_sock_read(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct bpf_tcp_sock *tp;

	if (!sk)
		return TC_ACT_OK;
	tp = bpf_tcp_sock(sk);
	if (!tp)
		return TC_ACT_OK;
	return tp->snd_cwnd + tp->bytes_acked;
}

/* Rejected: no narrow reads of bpf_tcp_sock. */
SEC("tc")
int tcp_sock_narrow(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct bpf_tcp_sock *tp;

	if (!sk)
		return TC_ACT_OK;
	tp = bpf_tcp_sock(sk);
	if (!tp)
		return TC_ACT_OK;
	return *(__u16 *)&tp->snd_cwnd;
}

/* Rejected: bpf_tcp_sock is read-only. */
SEC("tc")
int tcp_sock_write(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct bpf_tcp_sock *tp;

	if (!sk)
		return TC_ACT_OK;
	tp = bpf_tcp_sock(sk);
	if (!tp)
		return TC_ACT_OK;
	tp->snd_cwnd = 1;
	return TC_ACT_OK;
}

/* Rejected: past icsk_retransmits, the last field. */
SEC("tc")
int tcp_sock_beyond(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct bpf_tcp_sock *tp;

	if (!sk)
		return TC_ACT_OK;
	tp = bpf_tcp_sock(sk);
	if (!tp)
		return TC_ACT_OK;
	return *(__u32 *)((char *)tp + 112);
}

/* Rejected: the argument of a cast must not be NULL. */
SEC("tc")
int tcp_sock_of_null(struct __sk_buff *skb)
{
	struct bpf_tcp_sock *tp = bpf_tcp_sock(skb->sk);

	return tp ? tp->snd_cwnd : 0;
}

/* Accepted: the listener socket of __sk_buff.sk. */
SEC("tc")
int listener_read(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return TC_ACT_OK;
	sk = bpf_get_listener_sock(sk);
	if (!sk)
		return TC_ACT_OK;
	return sk->src_port;
}

/* Rejected: a tcp_sock cast from a looked-up socket dies with its release. */
SEC("tc")
int derived_after_release(struct __sk_buff *skb)
{
	struct bpf_sock *sk = lookup_tcp(skb);
	struct bpf_tcp_sock *tp;

	if (!sk)
		return TC_ACT_OK;
	tp = bpf_tcp_sock(sk);
	if (!tp) {
		bpf_sk_release(sk);
		return TC_ACT_OK;
	}
	bpf_sk_release(sk);
	return tp->snd_cwnd;
}

/* Accepted: releasing the cast pointer releases the looked-up socket. */
SEC("tc")
int release_derived(struct __sk_buff *skb)
{
	struct bpf_sock *sk = lookup_tcp(skb);
	struct bpf_tcp_sock *tp;
	int cwnd;

	if (!sk)
		return TC_ACT_OK;
	tp = bpf_tcp_sock(sk);
	if (!tp) {
		bpf_sk_release(sk);
		return TC_ACT_OK;
	}
	cwnd = tp->snd_cwnd;
	bpf_sk_release((struct bpf_sock *)tp);
	return cwnd;
}

/* Rejected: a NULL cast result does not release the socket it came from. */
SEC("tc")
int derived_null_leak(struct __sk_buff *skb)
{
	struct bpf_sock *sk = lookup_tcp(skb);
	struct bpf_sock *full;

	if (!sk)
		return TC_ACT_OK;
	full = bpf_sk_fullsock(sk);
	if (!full)
		return TC_ACT_OK;
	bpf_sk_release(full);
	return TC_ACT_SHOT;
}

/* Accepted: the listener socket holds no reference and outlives the release. */
SEC("tc")
int listener_of_lookup(struct __sk_buff *skb)
{
	struct bpf_sock *sk = lookup_tcp(skb);
	struct bpf_sock *listener;

	if (!sk)
		return TC_ACT_OK;
	listener = bpf_get_listener_sock(sk);
	bpf_sk_release(sk);
	if (!listener)
		return TC_ACT_OK;
	return listener->state;
}

/* Accepted: bpf_sock_ops.sk is a full socket after a NULL check. */
SEC("sockops")
int sockops_sk_read(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;

	if (!sk)
		return 1;
	return sk->family == 2;
}

/* Rejected: bpf_sock_ops.sk may be NULL. */
SEC("sockops")
int sockops_sk_no_null_check(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;

	return sk->family == 2;
}

/* Accepted: sock_ops programs may cast their socket to a tcp_sock. */
SEC("sockops")
int sockops_sk_tcp(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;
	struct bpf_tcp_sock *tp;

	if (!sk)
		return 1;
	tp = bpf_tcp_sock(sk);
	if (!tp)
		return 1;
	return tp->snd_cwnd > 10;
}

/* Rejected: bpf_sock_ops.sk holds no reference, and sock_ops may not release. */
SEC("sockops")
int sockops_sk_release(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;

	if (!sk)
		return 1;
	bpf_sk_release(sk);
	return 1;
}

/* Accepted: socket local storage of __sk_buff.sk, created on first use. */
SEC("tc")
int sk_storage_count(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct sock_counts *counts;

	if (!sk)
		return TC_ACT_OK;
	counts = bpf_sk_storage_get(&sock_store, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!counts)
		return TC_ACT_OK;
	counts->packets++;
	counts->bytes += skb->len;
	return TC_ACT_OK;
}

/* Rejected: the socket may be NULL. */
SEC("tc")
int sk_storage_of_null(struct __sk_buff *skb)
{
	struct sock_counts *counts = bpf_sk_storage_get(&sock_store, skb->sk, 0, 0);

	return counts ? counts->packets : TC_ACT_OK;
}

/* Accepted: deleting a socket's storage. */
SEC("tc")
int sk_storage_delete(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return TC_ACT_OK;
	bpf_sk_storage_delete(&sock_store, sk);
	return TC_ACT_OK;
}

/* Rejected: socket storage is reached through the socket, not looked up by key. */
SEC("tc")
int sk_storage_lookup(struct __sk_buff *skb)
{
	int key = 0;
	struct sock_counts *counts = bpf_map_lookup_elem(&sock_store, &key);

	return counts ? counts->packets : TC_ACT_OK;
}

/* Accepted: sock_ops keeps per-socket state in socket storage. */
SEC("sockops")
int sockops_sk_storage(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;
	struct sock_counts *counts;

	if (!sk)
		return 1;
	counts = bpf_sk_storage_get(&sock_store, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (counts)
		counts->packets++;
	return 1;
}

/* Accepted: a socket looked up by its tuple has storage too, released after. */
SEC("tc")
int sk_storage_of_lookup(struct __sk_buff *skb)
{
	struct bpf_sock *sk = lookup_tcp(skb);
	struct sock_counts *counts;

	if (!sk)
		return TC_ACT_OK;
	counts = bpf_sk_storage_get(&sock_store, sk, 0, 0);
	if (counts)
		counts->packets++;
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

/* Accepted: a cgroup sock program's context is the socket. */
SEC("cgroup/sock_create")
int cgroup_sock_storage(struct bpf_sock *ctx)
{
	struct sock_counts *counts = bpf_sk_storage_get(&sock_store, ctx, 0, BPF_SK_STORAGE_GET_F_CREATE);

	if (counts)
		counts->packets = 1;
	return 1;
}

/* Accepted: tc may put a socket into a sockmap. */
SEC("tc")
int sockmap_update(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u32 key = 0;

	if (!sk)
		return TC_ACT_OK;
	bpf_map_update_elem(&sock_map, &key, sk, BPF_ANY);
	return TC_ACT_OK;
}

/* Rejected: a sockmap's value is a socket, not memory. */
SEC("tc")
int sockmap_update_not_socket(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 value = 0;

	bpf_map_update_elem(&sock_map, &key, &value, BPF_ANY);
	return TC_ACT_OK;
}

/* Rejected: cgroup skb programs may not delete from a sockmap. */
SEC("cgroup_skb/ingress")
int sockmap_delete_cgroup_skb(struct __sk_buff *skb)
{
	__u32 key = 0;

	bpf_map_delete_elem(&sock_map, &key);
	return 1;
}

/* Accepted: sock_ops may delete from a sockhash (updates go through bpf_sock_hash_update). */
SEC("sockops")
int sockhash_delete_sockops(struct bpf_sock_ops *ops)
{
	__u32 key = 0;

	bpf_map_delete_elem(&sock_hash, &key);
	return 1;
}

/* Rejected: ... but not update it directly. */
SEC("sockops")
int sockhash_update_sockops(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk = ops->sk;
	__u32 key = 0;

	if (!sk)
		return 1;
	bpf_map_update_elem(&sock_hash, &key, sk, BPF_ANY);
	return 1;
}

/* Accepted: a looked-up socket assigned to the packet, then released. */
SEC("tc")
int sk_assign_lookup(struct __sk_buff *skb)
{
	struct bpf_sock *sk = lookup_tcp(skb);
	long err;

	if (!sk)
		return TC_ACT_OK;
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	return err ? TC_ACT_SHOT : TC_ACT_OK;
}

/* Rejected: bpf_sk_assign needs a socket, not maybe one. */
SEC("tc")
int sk_assign_of_null(struct __sk_buff *skb)
{
	return bpf_sk_assign(skb, skb->sk, 0) ? TC_ACT_SHOT : TC_ACT_OK;
}

/* Accepted: an XDP SYN cookie check on the packet's own IP and TCP headers. */
SEC("xdp")
int syncookie_check(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct tcphdr *th = (void *)(iph + 1);
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;
	long ok;

	if ((void *)(th + 1) > data_end)
		return XDP_PASS;
	sk = bpf_skc_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return XDP_PASS;
	ok = bpf_tcp_check_syncookie(sk, iph, sizeof(*iph), th, sizeof(*th));
	bpf_sk_release(sk);
	return ok == 0 ? XDP_PASS : XDP_DROP;
}

/* Rejected: the TCP header is read past the checked bytes. */
SEC("xdp")
int syncookie_gen_beyond_packet(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct tcphdr *th = (void *)(iph + 1);
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;
	__s64 cookie;

	if ((void *)(iph + 1) > data_end)
		return XDP_PASS;
	sk = bpf_skc_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return XDP_PASS;
	cookie = bpf_tcp_gen_syncookie(sk, iph, sizeof(*iph), th, sizeof(*th));
	bpf_sk_release(sk);
	return cookie < 0 ? XDP_PASS : XDP_DROP;
}

/* Accepted: the cgroup of __sk_buff.sk's socket. */
SEC("cgroup_skb/egress")
int sk_cgroup(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return 1;
	return bpf_sk_cgroup_id(sk) != 0 && bpf_sk_ancestor_cgroup_id(sk, 1) != 0;
}

char _license[] SEC("license") = "GPL";
