#!/usr/bin/env bash
# Instructions per packet of the data path's insertion and state update, counted
# by callgrind (deterministic, unlike timings on a shared machine), for a UDP
# and a TCP packet without extension headers (goal of the issue: <= 400).
# kmod/test/bench_insert.c runs the user-space build of kmod/pdmv2_core.c
# through exactly the core calls the module makes per packet in clear mode
# (kmod/pdmv2_xmit.c: pdmv2_parse_and_plan, pdmv2_fill, pdmv2_insert):
# pdmv2_pkt_parse once and pdmv2_pkt_insert_plan; pdmv2_gp_next,
# pdmv2_metrics_on_send (a flow in its steady state: DeltaTLR and DeltaTLS
# both encoded), pdmv2_opt_from_tx and pdmv2_opt_encode into a temporary
# buffer; then pdmv2_pkt_apply_plan on the packet whose start moved plan.grow
# octets into its headroom (the skb push). What is not core code (skb
# handling, locks, flow lookup, the clock, tracing) is not counted; the calls
# themselves and the module's checks of the parse result are. Two run lengths
# cancel start-up; the harness's copy of the packet per iteration is
# subtracted (mode "reset"). Below each figure: the self instructions per
# packet of each core function, inlined helpers included, and the rest.
# Then the GSO path where the kernel segments (kmod/pdmv2_gso.c): the hook
# inserts one pending option per GSO packet (the figure above, once), the
# wrapper finds it once and finishes each segment's copy; printed per
# segment of a 64 KiB TCP aggregate (45 segments of 1440 octets).
# Then the encrypted mode's crypto (kmod/test/bench_seal.c over
# kmod/pdmv2_crypto.c, the module's own AES and GHASH, with the CPU's AES-NI
# and PCLMULQDQ where it has them and portable): sealing one option
# with the flow's key state cached (goal <= 2,000), its AES and GHASH
# parts, expanding a key with H (a cache miss, a flow's first packet), and
# a new flow's key derivation (three HMAC-SHA256 over OpenSSL's SHA-256,
# see bench_seal.c; one when the module has the host's HS cached); AES-128
# and AES-256.
#   bash test/bench/insert-callgrind.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v valgrind >/dev/null || "$root/build/setup.sh" kmod >/dev/null
command -v valgrind >/dev/null || { apt-get install -y -qq valgrind >/dev/null; }
gcc -std=gnu11 -O2 -g -o "$out/bench" "$root/kmod/test/bench_insert.c" "$root/kmod/pdmv2_core.c"
# the module's choice of AES and GHASH: the CPU's instructions where it has
# them (x86-64: AES-NI and PCLMULQDQ, pdmv2_aesni_x86_64.S), else portable
simd_src=() cryptos=(portable)
if [ "$(uname -m)" = x86_64 ]; then
	simd_src=("$root/kmod/pdmv2_aesni_x86_64.S")
	grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo && cryptos=(simd portable)
fi
gcc -std=gnu11 -O2 -g -o "$out/bench_seal" "$root/kmod/test/bench_seal.c" \
	"$root/kmod/pdmv2_crypto.c" "$root/kmod/pdmv2_core.c" \
	"$root/kmod/test/simd_user.c" "$root/kmod/test/hmac_keyed_openssl.c" \
	${simd_src[@]+"${simd_src[@]}"} -lcrypto
ir() { # MODE PROTO N -> total instructions
	valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1.$2.$3" \
		"$out/bench" "$1" "$2" "$3" >/dev/null 2>"$out/log"
	sed -n 's/^summary: //p' "$out/cg.$1.$2.$3"
}
small=1000 large=11000
for proto in udp tcp; do
	full=$(( $(ir full $proto $large) - $(ir full $proto $small) ))
	reset=$(( $(ir reset $proto $large) - $(ir reset $proto $small) ))
	per=$(( (full - reset) / (large - small) ))
	[ "$proto" = tcp ] && tcp_per=$per
	echo "insertion + state update (clear option, ${proto^^}): $per instructions per packet (callgrind; goal <= 400)"
	callgrind_annotate --auto=no "$out/cg.full.$proto.$large" 2>/dev/null |
		awk -v n="$large" -v per="$per" '{
			for (i = 2; i <= NF; i++)
				if ($i ~ /:pdmv2_/) {
					c = $1; gsub(",", "", c)
					f = $i; sub(/.*:/, "", f); ir[f] += c
				}
		} END {
			for (f in ir)
				if (ir[f] >= n) {
					printf "%6.0f  %s\n", ir[f] / n, f
					per -= ir[f] / n
				}
			printf "%6.0f  (the rest: calling them, checks)\n", per
		}' | sort -rn
done
find=$(( ($(ir find tcp $large) - $(ir find tcp $small)) / (large - small) ))
finish=$(( ($(ir finish tcp $large) - $(ir finish tcp $small)) / (large - small) ))
segs=45
echo "GSO packet numbered as the kernel segments it (clear option, TCP, $segs segments):" \
	"$(( (tcp_per + find) / segs + finish )) instructions per segment" \
	"(insertion $tcp_per + finding the option $find once, finishing it $finish per segment; loop included)"
# MODE KEY N -> total instructions of bench_seal
irs() {
	valgrind --tool=callgrind --callgrind-out-file="$out/cgs.$1.$2.$3" \
		"$out/bench_seal" "$1" "$2" "$3" >/dev/null 2>"$out/log"
	sed -n 's/^summary: //p' "$out/cgs.$1.$2.$3"
}
small=100 large=1100
per_seal() { # MODE KEY -> instructions per iteration, the loop subtracted
	echo $(( ( $(irs "$1" "$2" $large) - $(irs "$1" "$2" $small) -
		   $(irs reset "$2" $large) + $(irs reset "$2" $small) ) / (large - small) ))
}
for crypto in "${cryptos[@]}"; do
	if [ "$crypto" = simd ]; then
		unset PDMV2_CRYPTO
		name="AES-NI and PCLMULQDQ" aes_what="two blocks, one call" ghash_what="six PCLMULQDQ in one call, one reduction"
	else
		export PDMV2_CRYPTO=portable
		name="portable constant-time C" aes_what="two blocks, one bitsliced call" ghash_what="two products, one reduction"
	fi
	echo "-- $name${cryptos[1]+$([ "$crypto" = simd ] && echo " (what the module runs on this CPU)")}"
	for key in aes128 aes256; do
		seal=$(per_seal seal $key) aes=$(per_seal aes $key) ghash=$(per_seal ghash $key)
		goal=met; [ "$seal" -le 2000 ] || goal="NOT met"
		echo "sealing one option, key state cached (${key^^}, $name): $seal instructions" \
			"(callgrind; goal <= 2000: $goal): AES ($aes_what) $aes," \
			"GHASH ($ghash_what) $ghash, the rest $((seal - aes - ghash))"
		echo "expanding the key and H (${key^^}, $name; a flow's first packet on a CPU or a cache miss): $(per_seal init $key) instructions"
		echo "new flow's key derivation (${key^^}, $name: HS from CS, STK from HS; three HMAC-SHA256): $(per_seal derive $key) instructions;" \
			"with the host's HS cached (the STK alone, one HMAC of two compressions, the PRK keyed once): $(per_seal stk $key)"
	done
done
