#!/bin/bash
# The agent's QuickJS checks on the guest's own CPU (qemu/arch-lab.sh --agent
# on arm64): Debian trixie's qjs of that architecture with its own loader and
# libc (build/fetch-quickjs.sh --arch) runs test/qjs/agent-check.ts (UCI,
# configuration, the ladder KEM against the core's, kernel plans, nft ruleset,
# files, subprocesses) and test/qjs/selfcheck.ts over the project's option and
# key vectors. The RFC 9180 file stays on the host's qjs (stage qjs-selfcheck):
# under TCG it alone would take minutes; the agent's HPKE is checked here by
# agent-check's KEM round trips against the core's.
#
# Inputs in the share: qjs/ (ld.so, qjs, libc.so.6, libm.so.6), js/
# (agent-check.mjs, selfcheck.mjs), vectors/.
# shellcheck source=/dev/null
. "${LAB_LIB:-/host/scenarios/lib/lab.sh}"

SHARE=${LAB_SHARE:-/share}
Q=$SHARE/qjs
for f in "$Q/qjs" "$Q/ld.so" "$SHARE/js/agent-check.mjs" "$SHARE/js/selfcheck.mjs" "$SHARE/vectors/pdmv2-options.json"; do
	[ -e "$f" ] || { echo "not ok - input $f missing"; echo "0 passed, 1 failed"; exit 1; }
done
qjs() { "$Q/ld.so" --library-path "$Q" "$Q/qjs" --std -m "$@"; }

# OUT SCRIPT ARGS...: ran to the end with "N passed, 0 failed" (N > 0)
all_passed() {
	local out=$1; shift
	qjs "$@" >"$ARTIFACTS/$out" 2>&1
	local rc=$? line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$ARTIFACTS/$out" | tail -n 1)
	echo "${line:-no summary} (exit $rc)"
	grep -E '^(not ok|FAIL)' "$ARTIFACTS/$out" | head -n 5
	[ "$rc" = 0 ] && [[ $line =~ ^[1-9][0-9]*\ passed,\ 0\ failed$ ]]
}

lab_check "qjs runs on $(uname -m)" sh -c "'$Q/ld.so' --library-path '$Q' '$Q/qjs' -h 2>&1 | head -n 1 | grep -q 'QuickJS version'"
lab_check "agent checks on $(uname -m) qjs" all_passed agent-check.txt "$SHARE/js/agent-check.mjs"
lab_check "self-check over the option and key vectors on $(uname -m) qjs" all_passed selfcheck.txt \
	"$SHARE/js/selfcheck.mjs" --options "$SHARE/vectors/pdmv2-options.json" --keys "$SHARE/vectors/pdmv2-keys.json"
lab_finish
