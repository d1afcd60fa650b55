/* CO-RE relocations for the .BTF.ext parser: regenerate core.btf and core.btf.ext with ./regenerate.sh. */
#define SEC(name) __attribute__((section(name), used))

struct task {
	int pid;
	int tgid;
	struct {
		long start;
		unsigned int flags: 4;
	} times;
} __attribute__((preserve_access_index));

enum state { RUNNING = 0, SLEEPING = 1 };

SEC("kprobe/do_exit")
int probe(struct task *t)
{
	int exists = __builtin_preserve_field_info(t->times.flags, 2 /* FIELD_EXISTS */);
	int size = __builtin_preserve_type_info(*t, 1 /* TYPE_SIZE */);
	int sleeping = __builtin_preserve_enum_value(*(typeof(enum state) *)SLEEPING, 1 /* ENUMVAL_VALUE */);
	return t->tgid + t->times.start + exists + size + sleeping;
}

char _license[] SEC("license") = "GPL";
