// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * callback_refs.c - references across bpf_loop and bpf_for_each_map_elem
 * callbacks, one program per rule: references taken and released inside a
 * callback, handed to the caller through the callback context, released by
 * the callback for the caller, and bpf_loop's iteration count. Some programs
 * are meant to be REJECTED by the kernel verifier: CallbackReferenceKernelTests
 * compares SharpBPF's verdict, error line, processed count and log with the
 * kernel's.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

struct holder {
	__u64 *record;
};

struct sock_holder {
	struct bpf_sock *sk;
};

static int reserve_submit(__u32 i, void *data)
{
	__u64 *record = bpf_ringbuf_reserve(&events, 8, 0);

	if (record) {
		*record = i;
		bpf_ringbuf_submit(record, 0);
	}
	return 0;
}

/* Accepted: each round reserves and submits its own record. */
SEC("tc")
int loop_reserve_submit(struct __sk_buff *skb)
{
	bpf_loop(4, reserve_submit, 0, 0);
	return TC_ACT_OK;
}

/* Accepted: the caller's own reservation outlives the loop. */
SEC("tc")
int loop_with_reference_held(struct __sk_buff *skb)
{
	__u64 *record = bpf_ringbuf_reserve(&events, 8, 0);

	if (!record)
		return TC_ACT_OK;
	bpf_loop(4, reserve_submit, 0, 0);
	bpf_ringbuf_submit(record, 0);
	return TC_ACT_OK;
}

static int reserve_leak(__u32 i, void *data)
{
	__u64 *record = bpf_ringbuf_reserve(&events, 8, 0);

	if (!record)
		return 0;
	*record = 1;
	return 1;
}

/* Rejected: a round's reservation is never released. */
SEC("tc")
int loop_reserve_leak(struct __sk_buff *skb)
{
	bpf_loop(4, reserve_leak, 0, 0);
	return TC_ACT_OK;
}

static int reserve_hand_off(__u32 i, struct holder *h)
{
	__u64 *record = bpf_ringbuf_reserve(&events, 8, 0);

	if (!record)
		return 1;
	h->record = record;
	return 1;
}

/* Accepted: one round (a constant count of 1) hands its reservation to the caller, who releases it. */
SEC("tc")
int loop_once_hand_off(struct __sk_buff *skb)
{
	struct holder h = {};

	bpf_loop(1, reserve_hand_off, &h, 0);
	if (h.record)
		bpf_ringbuf_discard(h.record, 0);
	return TC_ACT_OK;
}

/* Rejected: a second round overwrites the first round's reservation. */
SEC("tc")
int loop_thrice_hand_off(struct __sk_buff *skb)
{
	struct holder h = {};

	bpf_loop(3, reserve_hand_off, &h, 0);
	if (h.record)
		bpf_ringbuf_discard(h.record, 0);
	return TC_ACT_OK;
}

static int release_for_caller(__u32 i, struct holder *h)
{
	__u64 *record = h->record;

	if (record) {
		bpf_ringbuf_discard(record, 0);
		h->record = 0;
	}
	return 1;
}

/* Rejected: the loop may run no round, and the caller does not release after it. */
SEC("tc")
int loop_release_for_caller_only(struct __sk_buff *skb)
{
	struct holder h = {};

	h.record = bpf_ringbuf_reserve(&events, 8, 0);
	if (!h.record)
		return TC_ACT_OK;
	bpf_loop(1, release_for_caller, &h, 0);
	return TC_ACT_OK;
}

/* Accepted: the callback releases the caller's reservation, or the caller does. */
SEC("tc")
int loop_release_for_caller(struct __sk_buff *skb)
{
	struct holder h = {};

	h.record = bpf_ringbuf_reserve(&events, 8, 0);
	if (!h.record)
		return TC_ACT_OK;
	bpf_loop(skb->len, release_for_caller, &h, 0);
	if (h.record)
		bpf_ringbuf_discard(h.record, 0);
	return TC_ACT_OK;
}

static int use_after_release(__u32 i, struct holder *h)
{
	__u64 *record = h->record;

	if (record) {
		bpf_ringbuf_discard(record, 0);
		return *record & 1;
	}
	return 1;
}

/* Rejected: the callback reads the caller's record after releasing it. */
SEC("tc")
int loop_use_after_release(struct __sk_buff *skb)
{
	struct holder h = {};

	h.record = bpf_ringbuf_reserve(&events, 8, 0);
	if (!h.record)
		return TC_ACT_OK;
	bpf_loop(1, use_after_release, &h, 0);
	if (h.record)
		bpf_ringbuf_discard(h.record, 0);
	return TC_ACT_OK;
}

static int release_socket(__u32 i, struct sock_holder *h)
{
	struct bpf_sock *sk = h->sk;

	if (sk) {
		bpf_sk_release(sk);
		h->sk = 0;
	}
	return 1;
}

/* Accepted: the callback releases the socket the caller looked up. */
SEC("tc")
int loop_release_socket(struct __sk_buff *skb)
{
	struct bpf_sock_tuple tuple = {};
	struct sock_holder h = {};

	h.sk = bpf_sk_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	bpf_loop(1, release_socket, &h, 0);
	if (h.sk)
		bpf_sk_release(h.sk);
	return TC_ACT_OK;
}

static long each_reserve_submit(void *map, __u32 *key, __u64 *value, void *ctx)
{
	__u64 *record = bpf_ringbuf_reserve(&events, 8, 0);

	if (record)
		bpf_ringbuf_submit(record, 0);
	return 0;
}

/* Accepted: bpf_for_each_map_elem, reserve and submit per element. */
SEC("tc")
int each_reserve_submit_elem(struct __sk_buff *skb)
{
	bpf_for_each_map_elem(&values, each_reserve_submit, 0, 0);
	return TC_ACT_OK;
}

static long each_reserve_leak(void *map, __u32 *key, __u64 *value, void *ctx)
{
	__u64 *record = bpf_ringbuf_reserve(&events, 8, 0);

	if (!record)
		return 0;
	return 1;
}

/* Rejected: an element's reservation is never released. */
SEC("tc")
int each_reserve_leak_elem(struct __sk_buff *skb)
{
	bpf_for_each_map_elem(&values, each_reserve_leak, 0, 0);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
