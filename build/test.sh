#!/usr/bin/env bash
# The project's test command (README, .ci/run). Installs what it needs, builds,
# then runs every suite and ends with one line: "N passed, M failed".
#   build/test.sh            everything
#   PDMV2_TEST_ONLY="node qjs" build/test.sh   a subset of stages (node qjs kmod lab arch)
#   lab: the QEMU lab's default scenarios on Debian's 6.1 and 6.12 kernels (amd64),
#     the two kernels side by side;
#   arch: the module's core tests under qemu-user on arm64, armhf, s390x, mips64el,
#   mipsel, and the lab booted on arm64, armhf and s390x (qemu/arch-lab.sh)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export NO_COLOR=1 FORCE_COLOR=0
only=" ${PDMV2_TEST_ONLY:-all} "
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

total_passed=0
total_failed=0
failed_stages=()

want() { [[ $only == *" all "* || $only == *" $1 "* ]]; }

# record STAGE PASSED FAILED
record() {
  total_passed=$((total_passed + $2))
  total_failed=$((total_failed + $3))
  [[ $3 -eq 0 ]] || failed_stages+=("$1")
  printf '== %s: %d passed, %d failed\n' "$1" "$2" "$3"
}

# Stage whose output ends with "N passed, M failed": take the counts from it, and
# count a non-zero exit without such a line as one failure.
stage_counted() {
  stage_run "$@"
  stage_tally "$1"
}

# stage_run NAME CMD...: run a stage, its output, exit status and time to files in
# $log_dir (safe in a background lane: it changes no variable of this shell)
stage_run() {
  local name=$1; shift
  local t0=$SECONDS
  "$@" >"$log_dir/$name.log" 2>&1
  echo $? >"$log_dir/$name.rc"
  echo $((SECONDS - t0)) >"$log_dir/$name.time"
}

# stage_tally NAME: print a finished stage's output and count its summary line
stage_tally() {
  local name=$1
  local out="$log_dir/$name.log" rc time
  rc=$(cat "$log_dir/$name.rc" 2>/dev/null || echo 1)
  time=$(cat "$log_dir/$name.time" 2>/dev/null || echo '?')
  cat "$out" 2>/dev/null
  echo "== $name took $time s"
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [[ -z $line ]]; then
    record "$name" 0 1
    echo "!! $name printed no summary (exit $rc)"
    return
  fi
  local p f
  p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
  [[ $rc -ne 0 && $f -eq 0 ]] && f=1
  record "$name" "$p" "$f"
}

# A single check: passes when the command exits 0.
stage_check() {
  local name=$1; shift
  if "$@" >"$log_dir/$name.log" 2>&1; then
    record "$name" 1 0
  else
    cat "$log_dir/$name.log"
    record "$name" 0 1
  fi
}

# uvu over the compiled tests whose file names match PATTERN. uvu prints Total/Passed
# per run and exits 1 on any failure. uvu has no per-test time limit, and a failed
# assertion can leave a test's child process holding the event loop: the stage is
# bounded, so that a hang is a failure with its log rather than a run that never ends.
stage_uvu() {
  local name=$1 pattern=$2 limit=${PDMV2_NODE_UNIT_TIMEOUT:-1200}
  local out="$log_dir/$name.log"
  timeout -k 10 "$limit" node_modules/.bin/uvu .build/node/test "$pattern" >"$out" 2>&1
  local rc=$?
  [[ $rc -eq 124 || $rc -eq 137 ]] && echo "!! $name stopped after $limit s" >>"$out"
  cat "$out"
  local total passed
  total=$(sed -nE 's/^ *Total: *([0-9]+).*/\1/p' "$out" | tail -n 1)
  passed=$(sed -nE 's/^ *Passed: *([0-9]+).*/\1/p' "$out" | tail -n 1)
  if [[ -z $total || -z $passed ]]; then
    record "$name" 0 1
    return
  fi
  local f=$((total - passed))
  [[ $rc -ne 0 && $f -eq 0 ]] && f=1
  record "$name" "$passed" "$f"
}

echo "== setup"
parts="core kmod"
want node && parts="$parts analyzer primary"
want lab && parts="$parts lab analyzer" # analyzer: Chromium (luci) and what analyzer-lab's Wireshark decryption plugin builds with
want arch && parts="$parts lab arch"
if ! build/setup.sh $parts; then
  echo "setup failed"
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== build"
if ! node build/build.mjs; then
  echo "0 passed, 1 failed"
  exit 1
fi

if want node; then
  stage_check "vectors-up-to-date" node .build/node/build/gen-vectors.js --check
  stage_uvu "node-unit" '\.test\.js$'
  # The primary's suite once more, on PostgreSQL (a throwaway cluster the tests start); the
  # three-instance test (PostgreSQL only) ran in node-unit.
  PDMV2_PRIMARY_BACKEND=postgres stage_uvu "node-primary-postgres" \
    'primary-(service|limits|admin|http|pending|database|durability|agent)\.test\.js$'
  stage_counted "kat-rfc9180" node .build/node/build/kat.js test/vectors/rfc9180-*.json
  # the OpenWrt package definitions against what their recipes install (needs build/qjs)
  stage_counted "openwrt-packages" node .build/node/build/check-packages.js
fi

if want qjs; then
  stage_counted "qjs-selfcheck" build/qjs --std -m .build/qjs/selfcheck.mjs \
    --rfc9180 test/vectors/rfc9180-*.json \
    --options test/vectors/pdmv2-options.json --keys test/vectors/pdmv2-keys.json
  stage_counted "qjs-polyfills" build/qjs --std -m .build/qjs/polyfills-check.mjs
  stage_counted "qjs-agent" build/qjs --std -m .build/qjs/agent-check.mjs
fi

if want kmod && [[ -f kmod/test/Makefile ]]; then
  stage_counted "kmod-core" make -s -C kmod/test check
fi

# The QEMU stages in two lanes side by side: a TCG guest keeps one host core busy,
# and the two kernels' labs and the other CPUs' boots are independent (each lab
# has its own share, .build/lab/KERNEL, and image). Lane 2 runs in the background;
# every stage's output is printed, in this order, once both lanes are done.
lab_out=${PDMV2_LAB_ARTIFACTS:-$root/artifacts/lab}
lane2=()
# setup and build ran above: the lab scripts skip theirs (two at once would race)
export PDMV2_LAB_PREPARED=1
if want lab; then
  # OpenWrt 25.12's kernel (bookworm-security's 6.12): the whole default set, as on 6.1
  lane2+=("qemu-lab-6.12")
fi
if want arch; then
  # one boot per CPU (amd64 the reference, arm64 also runs the agent's checks on its qjs)
  lane2+=("qemu-arch")
fi
run_lane2() {
  local s
  for s in "${lane2[@]}"; do
    case $s in
    qemu-lab-6.12) stage_run "$s" qemu/lab.sh --kernel 6.12 --artifacts "$lab_out-6.12" ;;
    qemu-arch) stage_run "$s" qemu/arch-lab.sh --agent --artifacts "$lab_out-arch" ;;
    esac
  done
}
lane2_pid=''
if [[ ${#lane2[@]} -gt 0 ]]; then
  run_lane2 &
  lane2_pid=$!
fi
lane1=()
if want lab; then
  # One boot runs every lab scenario (hardening in a second, slab-poisoned one); the host then checks the captures.
  stage_run "qemu-lab" qemu/lab.sh --artifacts "$lab_out"
  # The analyzer and the Wireshark dissector on the captures that boot left (pcap, and pcapng via editcap).
  stage_run "analyzer-lab" node .build/node/test/analyzer-lab.js "$lab_out"
  lane1+=(qemu-lab analyzer-lab)
fi
if want arch; then
  # 64- and 32-bit, both byte orders: every vector of the C core under qemu-user
  stage_run "kmod-core-cpus" qemu/user-tests.sh
  lane1+=(kmod-core-cpus)
fi
[[ -z $lane2_pid ]] || wait "$lane2_pid"
for s in ${lane1[@]+"${lane1[@]}"} ${lane2[@]+"${lane2[@]}"}; do stage_tally "$s"; done

if [[ ${#failed_stages[@]} -gt 0 ]]; then
  echo "failed stages: ${failed_stages[*]}"
fi
echo "${total_passed} passed, ${total_failed} failed"
[[ $total_failed -eq 0 && $total_passed -gt 0 ]]
