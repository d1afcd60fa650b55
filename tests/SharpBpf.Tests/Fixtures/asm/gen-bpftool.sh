#!/bin/sh
# Regenerates bpftool.xlated (the text of `bpftool prog dump xlated`) and bpftool.hex (the same
# program's xlated instructions as raw bytes, 8 per line) from bpftool-prog.c. Needs root, a mounted
# bpffs at /sys/fs/bpf, clang-19 and bpftool. Run from anywhere.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
pin=/sys/fs/bpf/sharpbpf_asm_fixture_$$
trap 'rm -f "$pin"; rm -rf "$tmp"' EXIT
clang-19 -target bpf -mcpu=v4 -O2 -g -I/usr/include/"$(uname -m)"-linux-gnu -c bpftool-prog.c -o "$tmp/prog.o"
bpftool prog load "$tmp/prog.o" "$pin"
bpftool prog dump xlated pinned "$pin" > bpftool.xlated
bpftool prog dump xlated pinned "$pin" file "$tmp/prog.bin"
od -An -v -tx1 "$tmp/prog.bin" | tr -d ' \n' | fold -w 16 > bpftool.hex
echo >> bpftool.hex
