/* A BPF program whose BTF uses every C-expressible BTF kind and the tricky layouts the C dumper must reproduce.
 * Regenerate kinds.bpf.o, kinds.btf and kinds.expected.h with ./regenerate.sh (clang-19, llvm-objcopy-19, bpftool). */
typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef long long __s64;

#define SEC(name) __attribute__((section(name), used))
#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __type_tag(x) __attribute__((btf_type_tag(x)))

enum color { RED = 0, GREEN = 1, BLUE = 2 };
enum signed_values { NEG = -5, POS = 7 };
enum wide { W_SMALL = 1, W_BIG = 0x100000000ULL };
enum wide_signed { WS_NEG = -0x100000001LL, WS_POS = 3 };

struct node;
typedef int (*visit_fn)(struct node *n, void *ctx);

struct flags {
	unsigned int a: 3;
	unsigned int b: 5;
	int c: 7;
	__u64 d: 40;
	__u8 e;
};

struct __attribute__((packed)) packed_hdr {
	__u8 kind;
	__u32 len;
	__u64 value;
};

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
	const volatile char *name;
	struct flags fl;
	enum color col;
	enum signed_values sv;
	enum wide w;
	enum wide_signed ws;
	float ratio;
	double scale;
	int __type_tag("user") *uptr;
	struct packed_hdr hdr;
	char matrix[2][3];
	struct node *children[2];
	int tail[];
} __tag("node_tag");

struct node global_node SEC(".data.nodes");
int counter __tag("counter_tag") = 1;
volatile unsigned long ticks;
struct packed_hdr last_hdr;

static __attribute__((noinline)) int helper(struct node *n __tag("arg_tag"), int x)
{
	return n->fl.a + x + n->hi + n->tail[0];
}

int varargs_user(int n, ...);

SEC("xdp")
int prog(void *ctx)
{
	counter++;
	ticks += global_node.fl.b;
	last_hdr.len = global_node.col + global_node.sv + global_node.w + global_node.ws;
	return helper(&global_node, 1) + global_node.matrix[1][2];
}

char _license[] SEC("license") = "GPL";
