#!/usr/bin/env bash
# The test command: starts (or installs) PostgreSQL and NATS when missing,
# then runs every test of the workspace on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
env_lines=$(bash scripts/services.sh) || { echo "test: required services are missing (CI=true)" >&2; exit 1; }
eval "$env_lines"
echo "test: PLUGWAY_TEST_DATABASE_URL=${PLUGWAY_TEST_DATABASE_URL:-<unset: PostgreSQL tests skipped>}" >&2
echo "test: PLUGWAY_TEST_NATS_URL=${PLUGWAY_TEST_NATS_URL:-<unset: NATS tests skipped>}" >&2
exec cargo test --workspace --locked "$@"
