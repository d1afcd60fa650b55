// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Maps and global data of many BTF shapes, for comparing SharpBPF's map dumps with `bpftool map dump`.
 * gen.sh loads this object with bpftool, fills the maps with the bytes of the `sample_*` variables of .data
 * (listed in updates.txt) and records bpftool's plain and JSON dumps.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

enum color { RED = 0, GREEN = 1, BLUE = -2 };
enum wide { WIDE_SMALL = 1, WIDE_BIG = 0x100000000ULL };
typedef unsigned short port_t;

struct pair {
	__u8 x;
	__u8 y;
};

struct kitchen {
	__u8 u8v;
	__s8 s8v;
	__u16 u16v;
	__s16 s16v;
	__u32 u32v;
	__s32 s32v;
	__u64 u64v;
	__s64 s64v;
	_Bool flag;
	char ch;
	unsigned int lo : 3;
	int hi : 5;
	unsigned int mid : 12;
	enum color color;
	enum color unknown_color;
	char name[8];
	char raw[4];
	unsigned char bytes[3];
	struct pair pairs[2];
	union {
		__u32 word;
		__u8 octets[4];
	};
	struct {
		port_t a;
		port_t b;
	} ports;
	void *ptr;
	void *null_ptr;
	__u32 matrix[2][2];
	unsigned __int128 wide128;
	enum wide w;
	float ratio;
	__u32 after_float;
};

struct key_with_tag {
	__u32 id;
	char tag[4];
};

struct counter {
	__u64 packets;
	__u32 flags : 4;
	__u32 level : 28;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct kitchen);
} kitchen_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, struct key_with_tag);
	__type(value, struct counter);
} tagged_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct counter);
} percpu_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4);
	__type(key, __u64);
	__type(value, enum color);
} percpu_colors SEC(".maps");

/* No BTF types: bpftool prints these in hex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__uint(key_size, 4);
	__uint(value_size, 8);
} hex_small SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, 4);
	__uint(value_size, 40);
} hex_wide SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, 4);
	__uint(value_size, 20);
} hex_percpu SEC(".maps");

/* Global data: .data, .rodata and .bss with several variables each; the kitchen sink alone in .data.kitchen, since
 * bpftool stops a data section at its first value it cannot show (the float). */
struct kitchen sample_kitchen SEC(".data.kitchen") = {
	.u8v = 200, .s8v = -5, .u16v = 65000, .s16v = -300, .u32v = 4000000000u, .s32v = -70000,
	.u64v = 18000000000000000000ull, .s64v = -9000000000000000000ll, .flag = 1, .ch = 'A',
	.lo = 5, .hi = -3, .mid = 0xabc, .color = BLUE, .unknown_color = (enum color)7,
	.name = "bash", .raw = { 1, 2, 0, 3 }, .bytes = { 'h', 'i', 0 },
	.pairs = { { 1, 2 }, { 3, 4 } }, .word = 0x04030201, .ports = { 80, 443 },
	.ptr = (void *)0x1f2e3d4c, .null_ptr = 0, .matrix = { { 1, 2 }, { 3, 4 } },
	.wide128 = ((unsigned __int128)0x11 << 64) | 0x2233, .w = WIDE_BIG, .ratio = 1.5f, .after_float = 9,
};
struct key_with_tag sample_key = { .id = 7, .tag = "eth" };
struct counter sample_counter = { .packets = 12345, .flags = 9, .level = 0x123456 };
enum color sample_color = GREEN;
__u64 sample_u64 = 0x0102030405060708ull;
__u32 sample_zero_key = 0;
__u32 sample_one_key = 1;
char greeting[16] = "hello, world";
__s32 negative = -42;

const volatile __u16 config_port = 8080;
const volatile struct pair config_pair = { 9, 10 };

__u64 event_count;
struct pair last_pair;

SEC("xdp")
int dump_types(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct kitchen *k = bpf_map_lookup_elem(&kitchen_array, &key);

	if (k && config_port)
		event_count += k->u8v + config_pair.x + negative + greeting[0];
	last_pair.x = 1;
	return XDP_PASS;
}
