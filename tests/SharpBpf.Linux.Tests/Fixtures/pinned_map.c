// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* A map pinned by name (LIBBPF_PIN_BY_NAME) and a program using it, for the map pinning and reuse test. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counts SEC(".maps");

SEC("xdp")
int count_pinned(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *value = bpf_map_lookup_elem(&pinned_counts, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	return XDP_PASS;
}
