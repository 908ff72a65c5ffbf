#!/usr/bin/env bash
# Makes sure the PostgreSQL and NATS (JetStream) servers the tests use are
# running on loopback: starts them if installed, installs them from Debian's
# packages if not (needs root). Prints the environment to use.
# Outside CI a service that cannot be had is reported and its tests skip;
# with CI=true this script fails instead.
set -uo pipefail

PG_URL="postgres://postgres@127.0.0.1:5432/postgres"
NATS_URL="nats://127.0.0.1:4222"
in_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }
say() { echo "services: $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq >/dev/null && apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
wait_port() { for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done; return 1; }

ensure_postgres() {
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then return 0; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    say "installing PostgreSQL from Debian packages"
    apt_install postgresql || return 1
    local hba
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
    # Tests connect as postgres without a password on loopback only.
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  fi
  say "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1
  wait_port 5432
}

# The nats-server binary: the auth and restart tests run servers of their own.
ensure_nats_binary() {
  if [ ! -x /usr/sbin/nats-server ] && ! command -v nats-server >/dev/null 2>&1; then
    say "installing nats-server from Debian packages"
    apt_install nats-server || return 1
  fi
}

ensure_nats() {
  ensure_nats_binary || return 1
  port_open 4222 && return 0
  say "starting NATS with JetStream"
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 4222
}

# The interop test's OCPP charge point (Python `ocpp` package) in a venv of its own.
ensure_interop_python() {
  local venv="$PWD/target/interop-venv"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import ocpp, websockets, moto" 2>/dev/null; then
    say "installing the Python test peers (ocpp, moto)"
    python3 -m venv "$venv" >/dev/null 2>&1 || { apt_install python3-venv && python3 -m venv "$venv"; } || return 1
    "$venv/bin/pip" install -q -r tests/interop/requirements.txt >/dev/null || return 1
  fi
  echo "export PLUGWAY_TEST_PYTHON=$venv/bin/python"
}

# The OCPI interop tests' 2.2.1 partner (tests/interop/ocpi/partner.py, on the
# `extrawest-ocpi` package, which pins pydantic 1) in a venv of its own.
ensure_ocpi_python() {
  local venv="$PWD/target/ocpi-venv"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import py_ocpi, fastapi, uvicorn, httpx" 2>/dev/null; then
    say "installing the OCPI test partner (extrawest-ocpi)"
    python3 -m venv "$venv" >/dev/null 2>&1 || { apt_install python3-venv && python3 -m venv "$venv"; } || return 1
    "$venv/bin/pip" install -q -r tests/interop/ocpi/requirements.txt >/dev/null || return 1
  fi
  echo "export PLUGWAY_TEST_OCPI_PYTHON=$venv/bin/python"
}

# schemathesis, which fuzzes the whole HTTP API from its OpenAPI document
# (crates/plugway/tests/it/api_fuzz.rs), in a venv of its own.
ensure_schemathesis() {
  local venv="$PWD/target/schemathesis-venv"
  if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
    say "installing the API fuzzer (schemathesis)"
    python3 -m venv "$venv" >/dev/null 2>&1 || { apt_install python3-venv && python3 -m venv "$venv"; } || return 1
    "$venv/bin/pip" install -q -r tests/fuzz/requirements.txt >/dev/null || return 1
  fi
  echo "export PLUGWAY_TEST_SCHEMATHESIS=$venv/bin/schemathesis"
}

# An S3-compatible server (moto, from the same venv) for the media store's S3 test.
ensure_s3() {
  local venv="$PWD/target/interop-venv"
  [ -x "$venv/bin/moto_server" ] || return 1
  if port_open 4566; then
    # A server left by another checkout whose venv is gone answers 500:
    # only one that lists buckets is kept.
    "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4566/', timeout=5)" \
      >/dev/null 2>&1 && return 0
    say "restarting moto's S3 server (the one on 127.0.0.1:4566 does not answer)"
    pkill -f "moto_server -H 127.0.0.1 -p 4566" 2>/dev/null
    for _ in $(seq 1 20); do port_open 4566 || break; sleep 0.25; done
  fi
  say "starting moto's S3 server"
  setsid nohup "$venv/bin/moto_server" -H 127.0.0.1 -p 4566 >/dev/null 2>&1 &
  wait_port 4566
}

# Debian's Chromium and its WebDriver, for the console's browser tests
# (crates/plugway/tests/it/console.rs).
ensure_chromium() {
  if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
    say "installing Chromium and chromedriver from Debian packages (the console's browser tests)"
    apt_install chromium chromium-driver || return 1
  fi
  echo "export PLUGWAY_TEST_CHROMEDRIVER=$(command -v chromedriver)"
  echo "export PLUGWAY_TEST_CHROMIUM=$(command -v chromium)"
}

status=0
ensure_chromium || { say "Chromium is not available: the console's browser tests will be skipped"; in_ci && status=1; }
ensure_interop_python || { say "the Python test peers are not available: the interop and S3 tests will be skipped"; in_ci && status=1; }
ensure_ocpi_python || { say "the OCPI test partner is not available: the OCPI interop tests will be skipped"; in_ci && status=1; }
ensure_schemathesis || { say "schemathesis is not available: the API fuzzing test will be skipped"; in_ci && status=1; }
if ensure_s3; then
  echo "export PLUGWAY_TEST_S3_URL=http://127.0.0.1:4566"
else
  say "no S3-compatible server: the media S3 test will be skipped"; in_ci && status=1
fi
if ensure_postgres; then
  echo "export PLUGWAY_TEST_DATABASE_URL=$PG_URL"
else
  say "PostgreSQL is not available: its tests will be skipped"; in_ci && status=1
fi
if ensure_nats; then
  echo "export PLUGWAY_TEST_NATS_URL=$NATS_URL"
  echo "export PLUGWAY_TEST_NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)"
else
  say "NATS is not available: its tests will be skipped"; in_ci && status=1
fi
exit $status
