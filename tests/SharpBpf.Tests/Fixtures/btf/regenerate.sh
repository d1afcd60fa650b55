#!/bin/sh
# Regenerates the BTF fixtures from kinds.bpf.c with external tools only:
#   kinds.bpf.o       clang-19 -g -O2 -target bpf
#   kinds.btf         the object's .BTF section (llvm-objcopy-19)
#   kinds.btf.ext     the object's .BTF.ext section
#   kinds.expected.h  bpftool btf dump file kinds.bpf.o format c
set -eu
cd "$(dirname "$0")"
clang-19 -g -O2 -target bpf -c kinds.bpf.c -o kinds.bpf.o
llvm-objcopy-19 --dump-section .BTF=kinds.btf --dump-section .BTF.ext=kinds.btf.ext kinds.bpf.o /dev/null
bpftool btf dump file kinds.bpf.o format c > kinds.expected.h
