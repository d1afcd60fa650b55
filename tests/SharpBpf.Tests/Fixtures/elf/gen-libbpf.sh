#!/bin/sh
# Regenerates libbpf.txt: how libbpf (libbpf-dev, 1.x) links each program of the hand-built objects in src/
# and of every sample object it accepts (objects with legacy "maps" sections are refused by libbpf 1.x and
# are skipped, as are old objects in which libbpf 1.x finds no programs). The tests compare SharpBpf's linking with it instruction by instruction.
#   O <object: src/<name> or the path relative to the samples dir>
#   P <program name> <instruction count>
#   I <opcode hex> <dst> <src> <off> <imm>
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
main=$(cd "$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir)/.." && pwd)
if [ -n "${1:-}" ]; then samples=$1; elif [ -d "$repo/../shared/samples" ]; then samples=$repo/../shared/samples; else samples=$main/../shared/samples; fi
tool=$(mktemp)
trap 'rm -f "$tool"' EXIT
cc -O1 -o "$tool" "$here/libbpf-dump.c" -lbpf
out="$here/libbpf.txt"
{
  for f in multi globals btfmaps; do
    echo "O src/$f.o"
    "$tool" "$here/src/$f.o"
  done
  cd "$samples"
  find . -name '*.o' -not -path './invalid/*' | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
    # Old objects without function symbols load with no programs at all in libbpf 1.x: nothing to compare.
    if result=$("$tool" "$f" 2>/dev/null) && [ -n "$result" ]; then
      echo "O $f"
      echo "$result"
    fi
  done
} > "$out"
echo "wrote $out ($(grep -c '^O' "$out") objects)"
