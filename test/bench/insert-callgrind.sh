#!/usr/bin/env bash
# Instructions per packet of the data path's insertion and state update, counted
# by callgrind (deterministic, unlike timings on a shared machine): the user-space
# build of kmod/pdmv2_core.c doing what the module does per packet (parse the
# header chain, Global Pointer, metrics, encode the clear option, insert it).
# Two run lengths cancel start-up; the per-iteration packet copy is subtracted.
#   bash test/bench/insert-callgrind.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v valgrind >/dev/null || "$root/build/setup.sh" kmod >/dev/null
command -v valgrind >/dev/null || { apt-get install -y -qq valgrind >/dev/null; }
gcc -std=gnu11 -O2 -g -o "$out/bench" "$root/kmod/test/bench_insert.c" "$root/kmod/pdmv2_core.c"
ir() { # MODE N -> total instructions
	valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1.$2" "$out/bench" "$1" "$2" >/dev/null 2>"$out/log"
	sed -n 's/^summary: //p' "$out/cg.$1.$2"
}
small=1000 large=11000
full=$(( $(ir full $large) - $(ir full $small) ))
reset=$(( $(ir reset $large) - $(ir reset $small) ))
per=$(( (full - reset) / (large - small) ))
echo "insertion + state update (clear option, UDP): $per instructions per packet (callgrind; goal <= 400)"
callgrind_annotate "$out/cg.full.$large" 2>/dev/null | grep -E 'pdmv2_' | head -n 8 | sed 's/^/  /'
