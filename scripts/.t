#!/usr/bin/env bash
# The whole test suite: formatting, lints, every test (unit, integration,
# golden, property, CLI) and a smoke run of the benchmarks. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found; install Rust (rustup) first" >&2
    exit 2
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
scripts/install-ort
if ! command -v tmux >/dev/null 2>&1; then
    echo "==> installing tmux (the terminal UI's smoke test)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
fi
if ! python3 -c "import moto.server, flask" >/dev/null 2>&1; then
    echo "==> installing moto (the AWS emulator for the SageMaker tests)"
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'
fi

# moto on loopback, port 0, for the AWS tests; stopped when this script exits.
moto_log=$(mktemp)
log=$(mktemp)
moto_server -H 127.0.0.1 -p 0 >"$moto_log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; rm -f "$moto_log" "$log"' EXIT
for _ in $(seq 1 100); do
    port=$(grep -o 'http://127.0.0.1:[0-9]*' "$moto_log" | head -1 | cut -d: -f3 || true)
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "${port:-}" ]; then
    echo "error: moto_server did not start:" >&2
    cat "$moto_log" >&2
    exit 1
fi
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_MAX_ATTEMPTS=1

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> benchmarks, once each (test mode)"
true
echo "==> cargo test"
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line with the totals over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
