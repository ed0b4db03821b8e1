#!/bin/bash
# Harness self-test: a script that never ends is killed at the guest deadline
# (run.sh --timeout minus a margin); run.sh must exit 124.
echo "sleeping forever"
sleep 100000
