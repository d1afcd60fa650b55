// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Rejected: an index read from a map value selects a slot of the same value without a bounds check. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct config {
	__u32 index;
	__u32 pad;
	__u64 slots[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config_map SEC(".maps");

SEC("xdp")
int unbounded_index(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct config *config = bpf_map_lookup_elem(&config_map, &key);

	if (!config)
		return XDP_PASS;
	__u32 index = config->index;
	config->slots[index] += 1;
	return XDP_PASS;
}
