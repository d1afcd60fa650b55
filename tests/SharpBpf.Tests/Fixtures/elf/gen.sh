#!/bin/sh
# Regenerates samples.txt: a summary of every object under ../shared/samples (except invalid/) as reported by
# llvm-readelf-19, which the ELF loader tests compare against. Run from anywhere:
#   tests/SharpBpf.Tests/Fixtures/elf/gen.sh [samples-dir]
# Record format, one per line (fields separated by single spaces; names never contain spaces):
#   O <path relative to the samples dir>
#   S <index> <name> <type> <flags or -> <size hex> <info>                 every section header
#   Y <name or -> <value hex> <size> <type> <bind> <section index>          FUNC/OBJECT symbols and all global ones
#   R <relocation section> <offset hex> <type> <symbol name or ->          relocations of code sections and .maps
#   X <section> <hex bytes>                                                  contents of maps / maps/* sections
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
# ../shared next to the checkout; for a git worktree, next to the main checkout.
main=$(cd "$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir)/.." && pwd)
if [ -n "${1:-}" ]; then samples=$1; elif [ -d "$repo/../shared/samples" ]; then samples=$repo/../shared/samples; else samples=$main/../shared/samples; fi
out="$here/samples.txt"
cd "$samples"
find . -name '*.o' -not -path './invalid/*' | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
  echo "O $f"
  llvm-readelf-19 -S -W "$f" | sed -n 's/^ *\[ *\([0-9]*\)\] /\1 /p' | awk '
    { if (NF == 11) { flags = $8; lk = $9; inf = $10 } else { flags = "-"; lk = $8; inf = $9 }
      if ($2 !~ /^\.(rel\.)?debug_/) print "S", $1, $2, $3, flags, $6, inf }'
  llvm-readelf-19 -s -W "$f" | awk '
    /^ *[0-9]+:/ { name = (NF >= 8) ? $8 : "-";
      if ($4 == "FUNC" || $4 == "OBJECT" || $5 == "GLOBAL" || $5 == "WEAK") print "Y", name, $2, $3, $4, $5, $7 }'
  llvm-readelf-19 -r -W "$f" | awk '
    /^Relocation section/ { sec = $3; gsub("\047", "", sec); keep = (sec !~ /^\.rela?\.(debug|BTF|eh_frame)/); next }
    keep && /^[0-9a-f]+ / { sym = (NF >= 5) ? $5 : "-"; print "R", sec, $1, $3, sym }'
  tmp=$(mktemp)
  for m in $(llvm-readelf-19 -S -W "$f" | sed -n 's/^ *\[ *[0-9]*\] \(maps[^ ]*\) .*/\1/p'); do
    printf 'X %s %s\n' "$m" "$(llvm-objcopy-19 -O binary --only-section="$m" "$f" "$tmp" && od -An -v -tx1 "$tmp" | tr -d ' \n')"
  done
  rm -f "$tmp"
done > "$out"
echo "wrote $out ($(wc -l < "$out") lines)"
