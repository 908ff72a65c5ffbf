#!/usr/bin/env bash
# Runs the README as a newcomer would: every ```sh block, in order, in one
# shell (so the variables a block defines are there for the next), against a
# fresh `plugway serve --dev` on SQLite in a temporary data directory. It
# fails, naming the README line, at the first command that fails; curl fails
# on any 4xx or 5xx reply (--fail-with-body), as a reader would see an error.
#
# The runner stands in for the reader in three ways only:
# - `cargo run --release -p plugway -- ARGS` runs the already built binary
#   (PLUGWAY_BIN, default $CARGO_TARGET_DIR/debug/plugway; built if missing)
#   with ARGS, against the same data directory;
# - the pictures the README uploads ("any JPEG, PNG or WebP pictures of
#   yours") are small PNG files it writes;
# - TEMP_PASSWORD is read from the server's log (where --dev writes SMS)
#   before each block, as the README tells the reader to.
# A block right after `<!-- readme: skip REASON -->` is not run (the two
# commands that start the server and the tests, deployment examples that
# need other machines); the reason is printed.
#
#   scripts/readme.sh                      # exit 0 when every block ran
#   README_FILE=other.md scripts/readme.sh # the same for another file
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
bin=${PLUGWAY_BIN:-$target/debug/plugway}
if [ ! -x "$bin" ]; then
    echo "readme: building $bin" >&2
    cargo build -q -p plugway --manifest-path "$repo/Cargo.toml"
fi
# The blocks run in a directory of their own: the binary's path must not
# be relative.
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
# The README's commands use curl and jq; a new machine gets them from
# Debian's packages (as scripts/services.sh does for the servers).
for tool in curl jq python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "readme: installing $tool" >&2
        as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
        as_root apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$tool" >/dev/null
    fi
done

work=$(mktemp -d)
server=""
cleanup() {
    # The blocks' background jobs: the simulated chargers run as
    # grandchildren (through the `cargo` function), so they are found by
    # the server URL they were given, which names this run's own port.
    [ -n "${port:-}" ] && pkill -f "ws://127.0.0.1:$port/ocpp" 2>/dev/null || true
    pkill -P $$ 2>/dev/null || true
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PLUGWAY_DATA_DIR=$work/data PLUGWAY_LISTEN=127.0.0.1:$port PLUGWAY_DEV=1 PLUGWAY_DEFAULT_REGION=MN
export PLUGWAY_BIN=$bin
"$bin" serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "readme: the server never became ready" >&2; exit 1; }

# The reader's pictures and the files the README names by path.
python3 - "$work" <<'EOF'
import struct, sys, zlib
def png(w, h):
    raw = b"".join(b"\x00" + b"".join(bytes((x * 7 % 256, y * 5 % 256, 128)) for x in range(w)) for y in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
for name in ["front.jpg", "bay.png", "car.jpg", "me.jpg", "banner.jpg"]:
    open(f"{sys.argv[1]}/{name}", "wb").write(png(64, 48))
EOF
ln -s "$repo/docs" "$work/docs"

# The blocks, with the README line each starts at.
python3 - "${README_FILE:-$repo/README.md}" "$work/blocks.sh" "$port" <<'EOF'
import re, shlex, sys
readme, out, port = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(readme).read().split("\n")
script = []
i, skip = 0, None
while i < len(lines):
    line = lines[i]
    marker = re.match(r"<!-- readme: skip (.*) -->", line.strip())
    if marker:
        skip = marker.group(1)
    elif line.strip() in ("```sh", "```bash", "```shell"):
        start = i + 1
        body = []
        i += 1
        while lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        if skip:
            script.append(f"printf '\\nREADME.md:{start}: skipped: %s\\n' {shlex.quote(skip)} >&2")
        else:
            text = "\n".join(body)
            text = re.sub(r"(localhost|127\.0\.0\.1|HOST):8080", f"127.0.0.1:{port}", text)
            script.append(f"README_LINE={start}; printf '\\nREADME.md:{start}\\n' >&2; refresh_temp_password")
            script.append(text)
        skip = None
    elif line.strip():
        skip = None
    i += 1
open(out, "w").write("\n".join(script) + "\n")
EOF

cd "$work"
bash -Eeuo pipefail -c '
cargo() {
    if [ "${1:-}" = run ]; then
        while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done
        shift
        "$PLUGWAY_BIN" "$@"
    else
        command cargo "$@"
    fi
}
curl() { command curl --fail-with-body --max-time 60 "$@"; }
refresh_temp_password() {
    TEMP_PASSWORD=$(grep -o "Temporary password: [^ ]*" '"$work"'/serve.log | tail -1 | cut -d" " -f3 || true)
}
trap '"'"'echo "readme: README.md block at line $README_LINE failed: $BASH_COMMAND" >&2'"'"' ERR

source ./blocks.sh
' >"$work/out.log" 2>&1 || {
    tail -c 4000 "$work/out.log" >&2
    echo >&2
    echo "--- server log (tail)" >&2
    tail -20 "$work/serve.log" >&2
    exit 1
}
grep '^README.md:' "$work/out.log" >&2 || true
echo "readme: every block ran" >&2
