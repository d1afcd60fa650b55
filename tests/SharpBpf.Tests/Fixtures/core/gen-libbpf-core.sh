#!/bin/sh
# Records what libbpf itself does with the CO-RE relocations of the project's CO-RE objects against the running
# kernel's BTF: `bpftool -d prog loadall` prints libbpf's debug lines for every relocation (candidates, matches,
# patched or poisoned instructions). The tests compare SharpBPF's relocation log with these lines, but only when
# /sys/kernel/btf/vmlinux still has the SHA-256 recorded on the first line (the lines depend on that kernel's BTF).
#
# Usage (root, bpffs mounted): tests/SharpBpf.Tests/Fixtures/core/gen-libbpf-core.sh
# Writes <object>.libbpf.txt next to this script for every bpf/obj/core_*.o; removes its pins afterwards.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
vmlinux=/sys/kernel/btf/vmlinux
hash=$(sha256sum "$vmlinux" | cut -d' ' -f1)
for obj in "$repo"/bpf/obj/core_*.o; do
	name=$(basename "$obj" .o)
	pin=/sys/fs/bpf/sharpbpf-core-fixture-$$
	out="$here/$name.libbpf.txt"
	log=$(mktemp)
	status=0
	bpftool -d prog loadall "$obj" "$pin" >"$log" 2>&1 || status=$?
	rm -rf "$pin"
	{
		echo "# vmlinux-sha256 $hash"
		echo "# $(bpftool version | head -1), $(uname -r), loadall exit status $status"
		grep -E "^libbpf: (prog '[^']*': relo #|CO-RE relocating|sec '[^']*': skipping CO-RE)" "$log" | sed 's/^libbpf: //'
	} >"$out"
	rm -f "$log"
	echo "$out: $(($(wc -l <"$out") - 2)) lines"
done
