#!/bin/bash
# Harness self-test: a failing scenario must make qemu/run.sh exit 1.
echo "this scenario fails on purpose"
echo partial >"$ARTIFACTS/partial.txt"
exit 1
