// BTF-defined maps in ".maps", including a prog array and a map-in-map whose slots are initialised
// statically (relocations in .rel.maps).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { &inner_a, &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} lookup SEC(".maps");

SEC("cgroup_skb/ingress")
int filter_ingress(struct __sk_buff *skb)
{
	__u32 key = 0;
	void *inner = bpf_map_lookup_elem(&outer, &key);
	if (!inner)
		return 1;
	__u64 *v = bpf_map_lookup_elem(inner, &key);
	__u32 *w = bpf_map_lookup_elem(&lookup, &key);
	return (v && w) ? 1 : 0;
}

SEC("fentry/do_unlinkat")
int on_unlink(void *ctx)
{
	__u32 key = 1;
	return bpf_map_lookup_elem(&lookup, &key) != 0;
}

char LICENSE[] SEC("license") = "GPL";
