#!/usr/bin/env bash
# The test command: starts (or installs) PostgreSQL and NATS when missing,
# then runs every test of the workspace on SQLite and PostgreSQL, then every
# shell block of the README (scripts/readme.sh), and ends with one line
# summing it all up.
set -euo pipefail
cd "$(dirname "$0")/.."
env_lines=$(bash scripts/services.sh) || { echo "test: required services are missing (CI=true)" >&2; exit 1; }
eval "$env_lines"
echo "test: PLUGWAY_TEST_DATABASE_URL=${PLUGWAY_TEST_DATABASE_URL:-<unset: PostgreSQL tests skipped>}" >&2
echo "test: PLUGWAY_TEST_NATS_URL=${PLUGWAY_TEST_NATS_URL:-<unset: NATS tests skipped>}" >&2
echo "test: PLUGWAY_TEST_NATS_SERVER=${PLUGWAY_TEST_NATS_SERVER:-<unset: looked up in /usr/sbin and PATH>}" >&2
echo "test: PLUGWAY_TEST_S3_URL=${PLUGWAY_TEST_S3_URL:-<unset: the media S3 test skipped>}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --all-targets --locked "$@" 2>&1 | tee "$log" || status=$?
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
# The README, run as written against a fresh server (the binary the tests
# just built).
readme="passed"
PLUGWAY_BIN="${CARGO_TARGET_DIR:-target}/debug/plugway" bash scripts/readme.sh || { readme="FAILED"; status=1; }
echo
echo "tests: $passed passed, $failed failed; README blocks: $readme"
exit $status
