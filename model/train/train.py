#!/usr/bin/env python3
"""Train pricestream's price model from simulator data and ship it as ONNX.

Input: one or more CSVs from `pricestream export-training` (feature records
labeled with the oracle's price ratio), trained on together; `dagger.py`
calls `train()` once per closed-loop round. Output:

- model/pricing.onnx   the model, with the feature contract in its metadata
                       (pricestream.features, pricestream.features_version);
- model/MODEL_CARD.md  data, features, validation metrics, intended use, limits;
- model/reference.json reference rows and the outputs ONNX Runtime gave for
                       them here, which a Rust test must reproduce within 1e-5.

Seeded and deterministic: the same CSVs give the same model.
"""
import argparse
import csv
import datetime
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.ensemble import GradientBoostingRegressor

ID_COLUMNS = ["scenario", "seed", "product_id", "window_end"]
# plan: the stock-aware oracle's price at the close (rations stock over the horizon);
# profit/revenue: the myopic per-window optimum of the next window.
LABELS = {"profit": "label_profit_ratio", "revenue": "label_revenue_ratio", "plan": "label_plan_ratio"}
FEATURES_VERSION = "2"
LABEL_TEXT = {
    "plan": "the price ratio the clairvoyant, stock-aware oracle sets at the window's close "
            "(expected profit until the next restock, subject to expected sales within the stock "
            "left; within the default guardrails, so at most 1.5x list).",
    "profit": "the myopic profit-optimal price ratio for the following window alone, "
              "given the shoppers who reached the purchase decision in it and the stock on hand.",
    "revenue": "the myopic revenue-optimal price ratio for the following window alone "
               "(with elastic demand, always the floor).",
}

STATIC_PROVENANCE = "Prices were static (list prices) while the data was generated."
LIMIT_STATIC = """- Prices were static during data generation, so the model has not seen the
  states its own price changes lead to (stock left after a raise, the
  reference price after a cut): `model/train/dagger.py` trains in the closed loop."""
LIMIT_CLOSED_LOOP = """- The closed-loop rounds cover the states this model's predecessors led
  to on the training scenarios and seeds; states none of them visited are
  extrapolated."""


def load(paths, label):
    """The rows where a price matters (label present, followed by shoppers at
    the purchase decision) of one or more CSVs, read as a stream: the
    unfiltered rows of several closed-loop rounds would not fit in memory."""
    features, seeds, scenarios, xs, ys, total = None, [], [], [], [], 0
    for path in paths:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            cols = [c for c in reader.fieldnames or []
                    if c not in ID_COLUMNS and c not in ("next_decisions", *LABELS.values())]
            if features is None:
                features = cols
            elif cols != features:
                sys.exit(f"{path}: its feature columns differ from {paths[0]}'s")
            for r in reader:
                total += 1
                if r[label] == "" or float(r["next_decisions"] or 0) <= 0:
                    continue
                seeds.append(int(r["seed"]))
                scenarios.append(r["scenario"])
                xs.append([float(r[c]) for c in features])
                ys.append(float(r[label]))
    if not ys:
        sys.exit(f"no labeled rows in {', '.join(map(str, paths))}")
    x = np.array(xs, dtype=np.float32)
    y = np.array(ys, dtype=np.float32)
    return features, np.array(seeds), sorted(set(scenarios)), x, y, total


def metrics(y, p):
    err = p - y
    mae = float(np.mean(np.abs(err)))
    rmse = float(np.sqrt(np.mean(err**2)))
    r2 = float(1.0 - np.sum(err**2) / max(np.sum((y - y.mean()) ** 2), 1e-12))
    return {"mae": mae, "rmse": rmse, "r2": r2}


def parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+", help="CSV(s) from pricestream export-training, trained on together")
    ap.add_argument("--target", choices=LABELS, default="plan",
                    help="plan: the stock-aware oracle's price (default); profit/revenue: the myopic per-window optimum")
    ap.add_argument("--validation-seed", type=int, default=None,
                    help="rows of this seed are held out (default: the largest seed)")
    ap.add_argument("--out-dir", default=str(Path(__file__).resolve().parent.parent))
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--loss", choices=["squared_error", "huber", "absolute_error"], default="squared_error",
                    help="squared_error weighs the rare stock-constrained labels far above the floor")
    ap.add_argument("--provenance", default=STATIC_PROVENANCE,
                    help="how the data was generated, for the model card (dagger.py says which policy priced each round)")
    ap.add_argument("--version-tag", default="", help="added to the model version, e.g. dagger2")
    return ap


def main():
    train(parser().parse_args())


def train(args):
    """Fits, exports and documents one model; returns its version, row count and validation metrics."""
    label = LABELS[args.target]
    features, seeds, scenarios, x, y, total = load(args.data, label)
    val_seed = args.validation_seed if args.validation_seed is not None else int(seeds.max())
    train, val = seeds != val_seed, seeds == val_seed
    if train.sum() == 0 or val.sum() == 0:
        sys.exit(f"need rows of at least two seeds; validation seed {val_seed}")

    model = GradientBoostingRegressor(loss=args.loss, n_estimators=args.trees, max_depth=args.depth, learning_rate=0.1,
                                      subsample=1.0, random_state=7)
    model.fit(x[train], y[train])

    onx = to_onnx(model, x[:1], target_opset=17)
    # Name the batch dimension so every runtime sees a dynamic batch.
    for io in list(onx.graph.input) + list(onx.graph.output):
        io.type.tensor_type.shape.dim[0].dim_param = "N"
    trained = datetime.date.today().isoformat()
    tag = f"-{args.version_tag}" if args.version_tag else ""
    version = f"gbr-{args.trees}x{args.depth}-{args.target}{tag}-{trained}"
    for key, value in {
        "pricestream.features": ",".join(features),
        "pricestream.features_version": FEATURES_VERSION,
        "pricestream.model_version": version,
        "pricestream.target": label,
    }.items():
        prop = onx.metadata_props.add()
        prop.key, prop.value = key, value
    out_dir = Path(args.out_dir)
    model_path = out_dir / "pricing.onnx"
    onnx.save(onx, model_path)

    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    pred = sess.run(None, {name: x[val]})[0].reshape(-1)
    m_model = metrics(y[val], pred)
    m_const = metrics(y[val], np.full_like(y[val], float(np.median(y[train]))))
    m_current = metrics(y[val], x[val][:, features.index("price_ratio_base")])

    ref_idx = np.linspace(0, int(val.sum()) - 1, num=min(32, int(val.sum())), dtype=int)
    ref_x = x[val][ref_idx]
    ref_out = sess.run(None, {name: ref_x})[0].reshape(-1)
    (out_dir / "reference.json").write_text(json.dumps({
        "model_version": version,
        "features": features,
        "rows": ref_x.tolist(),
        "outputs": ref_out.tolist(),
    }, indent=1) + "\n")

    ranked = sorted(zip(model.feature_importances_, features), reverse=True)[:8]
    importances = "\n".join(f"| `{n}` | {v:.3f} |" for v, n in ranked)
    card = f"""# Model card: `pricing.onnx`

**Version** `{version}` · features version {FEATURES_VERSION} · trained {trained} by `model/train/train.py`.

## What it does
Given one feature record (a product's last 100 s window, docs/features.md) it
proposes a **price ratio** (target price / base price) for the next window.
The pipeline's pricer clamps it into the product's guardrails (floor, ceiling,
max step, cooldown, holdout, kill switch); the model never sets a price alone.

## Data
Simulated by `pricestream export-training` (scenarios: {", ".join(scenarios)}; seeds
{", ".join(str(s) for s in sorted(set(seeds.tolist())))}). {args.provenance} Each
row pairs a feature record with `{label}`: {LABEL_TEXT[args.target]}
Only windows followed by at least one purchase decision are used:
{len(y)} of {total} rows ({train.sum()} train, {val.sum()} validation =
seed {val_seed}, held out whole).

## Model
scikit-learn `GradientBoostingRegressor` ({args.trees} trees, depth {args.depth},
learning rate 0.1, random_state 7), exported with skl2onnx (opset 17, batch
dimension `N`) and run by ONNX Runtime ({ort.__version__}).

## What it looks at
The eight features with the largest impurity-based importance (sum 1 over all
{len(features)}; a screen, not a causal claim):

| feature | importance |
|---|---|
{importances}

## Validation (seed {val_seed}, never seen in training)
| predictor | MAE | RMSE | R² |
|---|---|---|---|
| this model | {m_model['mae']:.4f} | {m_model['rmse']:.4f} | {m_model['r2']:.3f} |
| constant (training median {float(np.median(y[train])):.3f}) | {m_const['mae']:.4f} | {m_const['rmse']:.4f} | {m_const['r2']:.3f} |
| keep the current price | {m_current['mae']:.4f} | {m_current['rmse']:.4f} | {m_current['r2']:.3f} |

Label distribution (validation): mean {float(y[val].mean()):.3f}, 10th/50th/90th
percentile {np.percentile(y[val], 10):.3f} / {np.percentile(y[val], 50):.3f} / {np.percentile(y[val], 90):.3f};
{float((np.abs(y[val] - np.median(y[train])) > 0.02).mean()) * 100:.1f} % of labels are more than 0.02 from the median.

**Reading these numbers.** In the simulated economy most labels sit near
one level: for regular shoppers (elasticity −2.62, loss aversion against the
shop's recent price) the profit-optimal price is c·ε/(1+ε) or the floor
(MAP, 0.8 × base), whichever is higher. The information is in the few
windows where a trend's fans (willingness to pay around 1.5× list) arrive or
stock binds and the price rises toward the 1.5× cap. A constant predictor is
hard to beat in MAE; R² and RMSE show whether the model learned the
exceptions. The loss is `{args.loss}`.

## Intended use
The workbench's `model` policy and the production pricer, on shops whose
traffic resembles the simulated scenarios. Its value is judged by the
workbench's profit against static prices (list, static-opt, the uniform
sweep) and the stock-aware oracle, paired on the same seeds — not by these
regression metrics.

## Limits
- Trained on simulated shoppers only: constant-elasticity regular shoppers
  (−2.62), fans with a lognormal willingness to pay (median 1.5× list) or a
  plain elasticity (−1.0 to −1.5), the simulator's funnel and trend shapes.
  Real shops differ.
- Only windows followed by a purchase decision are used; quiet windows are
  extrapolated.
{LIMIT_STATIC if args.provenance == STATIC_PROVENANCE else LIMIT_CLOSED_LOOP}
- The features see a trend through view rates only (recent vs baseline,
  its age) and assume its excess views halve every 12 h when they count
  views ahead per unit of stock; the oracle's label knows the real decay.
"""
    (out_dir / "MODEL_CARD.md").write_text(card)
    print(f"model: {model_path} ({version}); validation MAE {m_model['mae']:.4f} "
          f"vs constant {m_const['mae']:.4f} vs current price {m_current['mae']:.4f}")
    return {"version": version, "rows": int(len(y)), "validation": m_model}


if __name__ == "__main__":
    main()
