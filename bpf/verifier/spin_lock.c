// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * spin_lock.c - bpf_spin_lock rules, one tc program per rule. Some of these
 * programs are meant to be REJECTED by the kernel verifier: the test
 * SpinLockKernelTests compares SharpBPF's verdict and error line with the
 * kernel's for each. Not part of bpf/obj (whose programs all load).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct counter {
	__u64 packets;
	struct bpf_spin_lock lock;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct counter);
} counters SEC(".maps");

static __always_inline struct counter *lookup(__u32 key)
{
	return bpf_map_lookup_elem(&counters, &key);
}

/* Accepted: the lock is taken and released on every path. */
SEC("tc")
int locked_update(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	if (!c)
		return TC_ACT_OK;
	bpf_spin_lock(&c->lock);
	c->packets++;
	c->bytes += skb->len;
	bpf_spin_unlock(&c->lock);
	return TC_ACT_OK;
}

/* Rejected: a helper call while the lock is held. */
SEC("tc")
int call_while_locked(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	if (!c)
		return TC_ACT_OK;
	bpf_spin_lock(&c->lock);
	c->packets = bpf_ktime_get_ns();
	bpf_spin_unlock(&c->lock);
	return TC_ACT_OK;
}

/* Rejected: one path returns with the lock held. */
SEC("tc")
int unlock_missing(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	if (!c)
		return TC_ACT_OK;
	bpf_spin_lock(&c->lock);
	if (skb->len > 100)
		return TC_ACT_SHOT;
	bpf_spin_unlock(&c->lock);
	return TC_ACT_OK;
}

/* Rejected: the lock word is read directly. */
SEC("tc")
int lock_read_directly(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	if (!c)
		return TC_ACT_OK;
	return *(volatile __u32 *)&c->lock;
}

/* Rejected: the unlock names another element's lock. */
SEC("tc")
int unlock_other_lock(struct __sk_buff *skb)
{
	struct counter *a = lookup(0), *b = lookup(1);

	if (!a || !b)
		return TC_ACT_OK;
	bpf_spin_lock(&a->lock);
	a->packets++;
	bpf_spin_unlock(&b->lock);
	return TC_ACT_OK;
}

/* Rejected: the pointer is not at the lock. */
SEC("tc")
int lock_wrong_offset(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	if (!c)
		return TC_ACT_OK;
	bpf_spin_lock((struct bpf_spin_lock *)&c->bytes);
	bpf_spin_unlock((struct bpf_spin_lock *)&c->bytes);
	return TC_ACT_OK;
}

/* Rejected: socket filters may not use maps that hold a lock at all. */
SEC("socket")
int socket_filter_lock_map(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	return c ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
