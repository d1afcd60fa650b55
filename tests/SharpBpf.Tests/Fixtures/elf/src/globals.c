// Global data: .data, .rodata (const volatile configuration), .bss, a custom .data.counters section and
// string literals in .rodata.str1.1, used from a program and from a subprogram.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int counter = 7;
const volatile int threshold = 42;
const volatile char banner[8] = "sharp";
long hits;
long misses;
int per_cpu_slots[4] SEC(".data.counters") = {1, 2, 3, 4};

__attribute__((noinline)) int bump(int by)
{
	hits += by;
	per_cpu_slots[2] += by;
	return counter;
}

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	if (skb->len > threshold) {
		misses++;
		bpf_printk("big packet %d", skb->len);
	}
	return bump(banner[1]) + counter;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
