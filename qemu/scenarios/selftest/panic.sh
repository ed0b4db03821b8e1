#!/bin/bash
# Harness self-test: a kernel crash (sysrq c) means no exit code comes back;
# run.sh must exit non-zero (4, or 3 if the oops text reached the console).
echo c >/proc/sysrq-trigger
sleep 30
