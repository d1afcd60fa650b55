#!/bin/sh
# Rebuilds the explain fixtures: the objects (clang-19, libbpf-dev) and the running kernel's verifier logs of them,
# as `sharpbpf verify --kernel` captures them (root). The logs are committed so that the parser tests need no kernel;
# the kernel's version is written beside them.
set -e
cd "$(dirname "$0")"
repo=$(cd ../../../.. && pwd)
for src in *.c; do
	clang-19 -O2 -g -target bpf -mcpu=v3 -Wall -Werror -fdebug-compilation-dir=. \
		-I/usr/include/$(uname -m)-linux-gnu -c "$src" -o "${src%.c}.o"
done
dotnet build "$repo/src/SharpBpf.Cli" -c Release >/dev/null
cli="$repo/src/SharpBpf.Cli/bin/Release/net10.0/SharpBpf.Cli"
kernel_log() { # OBJECT LEVEL OUTPUT
	"$cli" verify "$1" --kernel --json --log-level "$2" >"$3.json" || true
	python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))["programs"][0]["kernel"]["log"])' "$3.json" >"$3"
	rm -f "$3.json"
}
for obj in unbounded_index callee_offset; do
	kernel_log "$obj.o" 1 "$obj.level1.log"
	kernel_log "$obj.o" 2 "$obj.level2.log"
done
kernel_log stack_loop.o 2 stack_loop.level2.log
kernel_log "$repo/bpf/obj/xdp_firewall.o" 2 xdp_firewall.level2.log
uname -r >kernel-version.txt
