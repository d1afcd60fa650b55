// Prints the instructions libbpf produces for each program of a BPF object after linking subprograms
// and relocating maps and global data. The "gen_loader" mode makes libbpf do all of that without loading
// anything into a kernel; maps then appear as lddw src=5/6 (map index) instead of file descriptors.
// Built and run by gen-libbpf.sh.
#include <stdio.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
int main(int argc, char **argv) {
	struct gen_loader_opts gen = { .sz = sizeof(gen) };
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) { fprintf(stderr, "open failed\n"); return 1; }
	if (bpf_object__gen_loader(obj, &gen)) { fprintf(stderr, "gen_loader failed\n"); return 1; }
	int err = bpf_object__load(obj);
	if (err) { fprintf(stderr, "load failed %d\n", err); return 1; }
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		const struct bpf_insn *in = bpf_program__insns(prog);
		size_t n = bpf_program__insn_cnt(prog);
		printf("P %s %zu\n", bpf_program__name(prog), n);
		for (size_t i = 0; i < n; i++)
			printf("I %02x %d %d %d %d\n", in[i].code, in[i].dst_reg, in[i].src_reg, in[i].off, in[i].imm);
	}
	return 0;
}
