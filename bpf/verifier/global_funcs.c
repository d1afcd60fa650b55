// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * global_funcs.c - global (non-static) BPF functions, which the kernel verifies
 * on their own from their BTF prototype, and static ones, verified inline with
 * their caller's registers. One tc program per rule; some are meant to be
 * REJECTED: GlobalFunctionKernelTests compares SharpBPF's verdict, error line,
 * processed count and level-1 log with the kernel's for each.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
#define __arg_nullable __attribute__((btf_decl_tag("arg:nullable")))

enum color { RED, GREEN };

volatile int sink;

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

struct stat {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct stat);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} jumps SEC(".maps");

static __always_inline struct counter *lookup(__u32 key)
{
	return bpf_map_lookup_elem(&counters, &key);
}

static __always_inline struct stat *lookup_stat(__u32 key)
{
	return bpf_map_lookup_elem(&stats, &key);
}

/* Global, scalars only: R1 and R2 are unknown scalars. */
__noinline int mix(__u32 a, __u32 b)
{
	return (a * 31) ^ b;
}

/* Global, one 64-bit scalar. */
__noinline int fold(long v)
{
	return v ^ (v >> 32);
}

/* Global, the context by its type: R1 is ctx(). */
__noinline int frame_length(struct __sk_buff *skb)
{
	return skb->len;
}

/* Global, the context by tag: a void pointer tagged arg:ctx is ctx(). */
__noinline int frame_mark(void *ctx __arg_ctx)
{
	return ((struct __sk_buff *)ctx)->mark;
}

/* Global, a pointer to memory of the pointee's size that may be NULL. */
__noinline int total(const struct stat *c)
{
	if (!c)
		return 0;
	return c->packets + c->bytes;
}

/* Global, a pointer tagged arg:nonnull: memory that is never NULL. */
__noinline int packets_of(const struct stat *c __arg_nonnull)
{
	return c->packets;
}

/* Global, forgets that its pointer may be NULL. */
__noinline int unchecked_total(const struct stat *c)
{
	return c->packets + c->bytes;
}

/* Global, calls another global function. */
__noinline int mixed_length(struct __sk_buff *skb)
{
	return mix(frame_length(skb), 7);
}

/* Global, returns a pointer: the kernel supports only scalar returns. */
__noinline struct counter *counter_of(__u32 key)
{
	return bpf_map_lookup_elem(&counters, &key);
}

/* Global, changes the packet data: the caller's packet pointers become invalid. */
__noinline int pull(struct __sk_buff *skb)
{
	return bpf_skb_pull_data(skb, 0);
}

/* Global, returns nothing: the kernel supports only scalar returns. */
__noinline void nothing(int n)
{
	asm volatile("" ::: "memory");
}

/* Global, calls itself: each call is assumed valid, the call chain is unbounded. */
__noinline int countdown(int n)
{
	int r;

	if (n <= 0)
		return 0;
	r = countdown(n - 1);
	return r > 5 ? r : r + 2;
}

/* Global, 304 bytes of stack. */
__noinline int big_stack(int n)
{
	volatile char buf[300];

	buf[n & 255] = 1;
	return buf[(n + 1) & 255];
}

/* Global, a tail call: the programs it runs may change the packet. */
__noinline int jump_away(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jumps, 0);
	return 0;
}

/* Static, a tail call: when it succeeds the function returns at once. */
static __noinline int static_jump(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jumps, 0);
	return 0;
}

/* Global, a loop body: callbacks must be static. */
__noinline int loop_body(__u32 index, void *data)
{
	return 0;
}

/* Global, a void pointer: memory of no known size. */
__noinline int takes_void(void *p)
{
	return p != 0;
}

/* Global, an Ethernet header: 14 bytes of memory. */
__noinline int takes_eth(struct ethhdr *eth)
{
	if (!eth)
		return 0;
	return eth->h_proto;
}

/* Global, an enum, a char and a bool: scalars. */
__noinline int takes_enum(enum color c, char x, _Bool b)
{
	return c + x + b;
}

/* Global, arg:nullable without arg:trusted: a combination the kernel refuses. */
__noinline int nullable_mem(int *p __arg_nullable)
{
	return p ? *p : 0;
}

/* Global, arg:ctx on another program type's context. */
__noinline int wrong_ctx_tag(struct xdp_md *ctx __arg_ctx)
{
	return sink;
}

/* Global, another program type's context without a tag: memory of its size. */
__noinline int xdp_ctx(struct xdp_md *ctx)
{
	return sink + 1;
}

/* Static: verified with its caller's registers, so it may be called with a lock held. */
static __noinline int bump(struct counter *c)
{
	c->packets++;
	return 0;
}

/* Accepted: scalars, the context by type and by tag, another global inside. */
SEC("tc")
int scalars_and_ctx(struct __sk_buff *skb)
{
	return mix(skb->len, 3) + frame_length(skb) + frame_mark(skb) + mixed_length(skb) > 0 ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Accepted: a map value and a stack object for the nullable memory argument. */
SEC("tc")
int memory_args(struct __sk_buff *skb)
{
	struct stat local = { .packets = skb->len, .bytes = 1 };
	struct stat *c = lookup_stat(0);

	if (!c)
		return TC_ACT_OK;
	return total(c) + total(&local) + packets_of(c) > 0 ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Accepted: NULL itself for the nullable memory argument. */
SEC("tc")
int null_memory_arg(struct __sk_buff *skb)
{
	return total(0) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected: the global function dereferences a pointer that may be NULL. */
SEC("tc")
int callee_misses_null_check(struct __sk_buff *skb)
{
	struct stat *c = lookup_stat(0);

	if (!c)
		return TC_ACT_OK;
	return unchecked_total(c) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: a maybe-NULL pointer for an arg:nonnull argument. */
SEC("tc")
int nonnull_given_maybe_null(struct __sk_buff *skb)
{
	return packets_of(lookup_stat(1)) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: a pointer for a scalar argument. */
SEC("tc")
int pointer_for_scalar(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	if (!c)
		return TC_ACT_OK;
	return fold((long)c) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: memory holding a lock for a memory argument. */
SEC("tc")
int locked_value_for_memory(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	if (!c)
		return TC_ACT_OK;
	return total((const struct stat *)c) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: a stack object smaller than the memory argument. */
SEC("tc")
int small_stack_for_memory(struct __sk_buff *skb)
{
	__u64 one = skb->len;

	return total((const struct stat *)&one) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: a map value where the context is expected. */
SEC("tc")
int map_value_for_ctx(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	if (!c)
		return TC_ACT_OK;
	return frame_length((struct __sk_buff *)c) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: the global function returns a pointer. */
SEC("tc")
int global_returns_pointer(struct __sk_buff *skb)
{
	return counter_of(0) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected: a global function called while a lock is held. */
SEC("tc")
int global_call_while_locked(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);
	int n;

	if (!c)
		return TC_ACT_OK;
	bpf_spin_lock(&c->lock);
	n = mix(c->packets, 2);
	bpf_spin_unlock(&c->lock);
	return n ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Accepted: a static function called while a lock is held. */
SEC("tc")
int static_call_while_locked(struct __sk_buff *skb)
{
	struct counter *c = lookup(0);

	if (!c)
		return TC_ACT_OK;
	bpf_spin_lock(&c->lock);
	bump(c);
	bpf_spin_unlock(&c->lock);
	return TC_ACT_OK;
}

/* Rejected: a packet pointer read after a global function that may change the packet. */
SEC("tc")
int packet_after_global_pull(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *first = data;

	if (data + 1 > data_end)
		return TC_ACT_OK;
	pull(skb);
	return *first ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: the global function returns void. */
SEC("tc")
int global_returns_void(struct __sk_buff *skb)
{
	nothing(skb->len);
	return TC_ACT_OK;
}

/* Rejected after verification: the global function's call chain is deeper than 8 frames. */
SEC("tc")
int global_recursion(struct __sk_buff *skb)
{
	return countdown(skb->len) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected after verification: the caller's and the global function's stacks exceed 512 bytes together. */
SEC("tc")
int global_combined_stack(struct __sk_buff *skb)
{
	volatile char buf[300];

	buf[skb->len & 255] = 1;
	return big_stack(skb->len) + buf[(skb->len + 3) & 255];
}

/* Rejected: a packet pointer read after a global function that tail calls. */
SEC("tc")
int packet_after_global_tail_call(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *first = data;

	if (data + 1 > data_end)
		return TC_ACT_OK;
	jump_away(skb);
	return *first ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected: a packet pointer read after a static function that tail calls. */
SEC("tc")
int packet_after_static_tail_call(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *first = data;

	if (data + 1 > data_end)
		return TC_ACT_OK;
	static_jump(skb);
	return *first ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Accepted: a packet pointer read after a tail call in the program itself. */
SEC("tc")
int packet_after_tail_call(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *first = data;

	if (data + 1 > data_end)
		return TC_ACT_OK;
	bpf_tail_call(skb, &jumps, 0);
	return *first ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected: a global function as a callback. */
SEC("tc")
int global_callback(struct __sk_buff *skb)
{
	bpf_loop(4, loop_body, 0, 0);
	return TC_ACT_OK;
}

/* Rejected at the call: a void pointer argument has no size. */
SEC("tc")
int void_pointer_arg(struct __sk_buff *skb)
{
	return takes_void(skb) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Accepted: a packet pointer with 14 bytes checked for the Ethernet header. */
SEC("tc")
int packet_for_memory(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (data + sizeof(struct ethhdr) > data_end)
		return TC_ACT_OK;
	return takes_eth(data) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: only 10 bytes of packet checked for the Ethernet header. */
SEC("tc")
int short_packet_for_memory(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (data + 10 > data_end)
		return TC_ACT_OK;
	return takes_eth(data) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Accepted: enum, char and bool arguments are scalars. */
SEC("tc")
int enum_args(struct __sk_buff *skb)
{
	return takes_enum(GREEN, skb->len, 1) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: arg:nullable needs arg:trusted. */
SEC("tc")
int nullable_tag(struct __sk_buff *skb)
{
	int v = skb->len;

	return nullable_mem(&v) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: arg:ctx names another program type's context. */
SEC("tc")
int ctx_tag_wrong_type(struct __sk_buff *skb)
{
	return wrong_ctx_tag((void *)skb) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected at the call: the context given for memory. */
SEC("tc")
int ctx_for_memory(struct __sk_buff *skb)
{
	return xdp_ctx((void *)skb) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Rejected after verification: a tail call under more than 256 bytes of its callers' stacks. */
SEC("tc")
int tail_call_under_big_stack(struct __sk_buff *skb)
{
	volatile char buf[300];

	buf[skb->len & 255] = 1;
	return static_jump(skb) + buf[(skb->len + 3) & 255];
}

char LICENSE[] SEC("license") = "GPL";
