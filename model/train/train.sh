#!/usr/bin/env bash
# Trains model/pricing.onnx end to end: builds pricestream, exports labeled
# training data from the simulator, creates the pinned Python environment
# (model/train/.venv, idempotent) and runs train.py.
#   model/train/train.sh [--target plan|profit|revenue]   (default: plan)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=model/train/.venv
if [ ! -x "$venv/bin/python" ] || ! cmp -s model/train/requirements.txt "$venv/.requirements"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r model/train/requirements.txt
    cp model/train/requirements.txt "$venv/.requirements"
fi
cargo build --release --locked --quiet
data=out/training.csv
mkdir -p out
target/release/pricestream export-training \
    scenarios/celebrity-spike.toml scenarios/multi-celebrity.toml scenarios/stockout.toml scenarios/steady.toml \
    --seeds 1..4 --out "$data"
"$venv/bin/python" model/train/train.py "$data" "$@"
