#!/bin/sh
# Rebuilds the test fixtures' BPF objects (committed, so tests need no compiler). Needs clang-19 and libbpf-dev.
set -e
cd "$(dirname "$0")"
for src in *.c; do
	clang-19 -O2 -g -target bpf -mcpu=v3 -Wall -Werror -fdebug-compilation-dir=. \
		-I/usr/include/$(uname -m)-linux-gnu -c "$src" -o "${src%.c}.o"
done
