// Input of gen-bpftool.sh: a socket filter whose xlated dump exercises maps, atomics, calls and jumps.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
static __attribute__((noinline)) int sub(int x) { return x * 3 + (x >> 2); }
SEC("socket") int prog(struct __sk_buff *skb) {
  __u32 key = skb->len & 3;
  __u64 *v = bpf_map_lookup_elem(&counts, &key);
  if (v) { __sync_fetch_and_add(v, 1); __u64 old = __sync_fetch_and_add(v, 2); if (old > 5) return sub(key); }
  __s8 c = (__s8)skb->mark;
  return c + (skb->priority >> 3) * 7;
}
char LICENSE[] SEC("license") = "GPL";
