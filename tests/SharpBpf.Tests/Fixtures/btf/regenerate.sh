#!/bin/sh
# Regenerates the BTF fixtures from kinds.bpf.c with external tools only:
#   kinds.bpf.o       clang-19 -g -O2 -target bpf
#   kinds.btf         the object's .BTF section (llvm-objcopy-19)
#   kinds.btf.ext     the object's .BTF.ext section
#   kinds.expected.h  bpftool btf dump file kinds.bpf.o format c
#   core.btf, core.btf.ext  the same sections of core.bpf.c (CO-RE relocations)
set -eu
cd "$(dirname "$0")"
clang-19 -g -O2 -target bpf -c kinds.bpf.c -o kinds.bpf.o
llvm-objcopy-19 --dump-section .BTF=kinds.btf --dump-section .BTF.ext=kinds.btf.ext kinds.bpf.o /dev/null
bpftool btf dump file kinds.bpf.o format c > kinds.expected.h
clang-19 -g -O2 -target bpf -c core.bpf.c -o core.bpf.o
llvm-objcopy-19 --dump-section .BTF=core.btf --dump-section .BTF.ext=core.btf.ext core.bpf.o /dev/null
rm core.bpf.o
