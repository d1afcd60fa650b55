// Old-style object: struct bpf_map_def in the "maps" section, a "version" section, and section names
// in the style of the kernel's samples/bpf ("socket1", "kprobe/...").
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
	unsigned int inner_map_idx;
	unsigned int numa_node;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

struct bpf_map_def SEC("maps") packet_counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(long),
	.max_entries = 256,
};

struct bpf_map_def SEC("maps") call_counts = {
	.type = BPF_MAP_TYPE_PERCPU_HASH,
	.key_size = sizeof(__u64),
	.value_size = sizeof(__u64),
	.max_entries = 1024,
	.map_flags = 1,
	.numa_node = 3,
};

SEC("socket1")
int count_by_protocol(struct __sk_buff *skb)
{
	__u32 key = skb->protocol & 0xff;
	long *value = bpf_map_lookup_elem(&packet_counts, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	return 0;
}

SEC("kprobe/sys_write")
int trace_write(void *ctx)
{
	__u64 key = 1;
	__u64 *value = bpf_map_lookup_elem(&call_counts, &key);
	if (value)
		*value += 1;
	return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x060c00;
