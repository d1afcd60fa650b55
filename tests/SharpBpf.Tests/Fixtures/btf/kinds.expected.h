#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef unsigned int __u32;

typedef unsigned char __u8;

struct node;

typedef int (*visit_fn)(struct node *, void *);

typedef unsigned long long __u64;

struct flags {
	unsigned int a: 3;
	unsigned int b: 5;
	int c: 7;
	__u64 d: 40;
	__u8 e;
};

enum color {
	RED = 0,
	GREEN = 1,
	BLUE = 2,
};

enum signed_values {
	NEG = -5,
	POS = 7,
};

enum wide {
	W_SMALL = 1ULL,
	W_BIG = 4294967296ULL,
};

enum wide_signed {
	WS_NEG = -4294967297LL,
	WS_POS = 3LL,
};

struct packed_hdr {
	__u8 kind;
	__u32 len;
	__u64 value;
} __attribute__((packed));

struct node {
	struct node *next;
	union {
		__u32 ip4;
		__u8 ip6[16];
		struct {
			__u32 lo;
			__u32 hi;
		};
	};
	visit_fn visit;
	int (*handlers[4])(void *, long);
	volatile const char *name;
	struct flags fl;
	enum color col;
	enum signed_values sv;
	enum wide w;
	enum wide_signed ws;
	float ratio;
	double scale;
	int __attribute__((btf_type_tag("user"))) *uptr;
	struct packed_hdr hdr;
	char matrix[2][3];
	struct node *children[2];
	int tail[0];
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
