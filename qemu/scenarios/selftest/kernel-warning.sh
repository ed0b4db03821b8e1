#!/bin/bash
# Harness self-test: the script passes, but a "WARNING:" in the kernel log must
# make qemu/run.sh exit 3.
echo 'WARNING: test warning injected by qemu/scenarios/selftest/kernel-warning.sh' >/dev/kmsg
exit 0
