#!/usr/bin/env bash
# Trains model/pricing.onnx end to end: builds pricestream, creates the pinned
# Python environment (model/train/.venv, idempotent) and runs the closed-loop
# training (dagger.py): data from the simulator labeled by the stock-aware
# oracle, first at list prices, then on the states each round's model leads
# to; the round that earns most on held-out seeds ships.
#   model/train/train.sh [--rounds N] [--target plan|profit|revenue] [...]
#   (default: 3 rounds, target plan; --rounds 1 = static-price data only;
#    model/train/dagger.py --help lists every option)
set -euo pipefail
cd "$(dirname "$0")/../.."
python=$(model/train/venv)
cargo build --release --locked --quiet
"$python" model/train/dagger.py target/release/pricestream "$@"
