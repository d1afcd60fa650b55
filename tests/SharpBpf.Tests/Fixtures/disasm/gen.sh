#!/bin/sh
# Regenerates the disassembler fixtures: the instruction corpora (corpus.py) and
# what llvm-objdump-19 prints for them. Needs python3, llvm-mc-19, llvm-objdump-19.
# The objects are disassembled with --mcpu=v4 so every ISA feature is decoded
# (without it, 32-bit loads/stores/atomics print with r registers and the 32-bit
# fetch atomics are <unknown>).
set -eu
cd "$(dirname "$0")"
python3 corpus.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for name in forms random truncated zeros; do
  # Each hex line becomes one .byte directive in .text.
  {
    echo '.text'
    sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$name.hex" |
      sed -e 's/\(..\)/0x\1,/g' -e 's/,$//' -e 's/^/.byte /'
  } > "$work/$name.s"
  llvm-mc-19 -triple bpfel -mcpu=v4 -filetype=obj "$work/$name.s" -o "$work/$name.o"
  # Run from the work directory so the file name in the header is stable.
  (cd "$work" && llvm-objdump-19 -d --mcpu=v4 "$name.o") > "$name.objdump.txt"
  (cd "$work" && llvm-objdump-19 -d --mcpu=v4 --no-show-raw-insn "$name.o") > "$name.noraw.txt"
done
