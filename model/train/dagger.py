#!/usr/bin/env python3
"""Closed-loop (DAgger-style) training of pricestream's price model.

A model trained only on static-price trajectories has never seen the states
its own prices lead to: stock left after a raise, a shop price that moved.
DAgger (Ross, Gordon & Bagnell 2011) fixes that by rounds:

- round 0: the simulation runs at list prices; the stock-aware oracle labels
  every feature record (`pricestream export-training --policy static`);
- round k: the simulation runs priced by round k-1's model; the oracle labels
  the states that model reached (`--policy model --model ...`); the model is
  retrained on the rows of all rounds so far.

Every round's model is then judged where it matters, in the workbench's
closed loop on seeds it was never trained on: expected profit against
static-opt, paired on the same shoppers (common random numbers), mean over
the evaluation scenarios. The best round ships (model/pricing.onnx,
MODEL_CARD.md with a section on the rounds, reference.json); the work
directory keeps every round's data, model and evaluation (dagger.json).

Deterministic: the simulator, the oracle and the training are seeded.
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import train as trainer

SCENARIOS = ["celebrity-spike", "multi-celebrity", "stockout", "steady"]
SHIPPED = ["pricing.onnx", "MODEL_CARD.md", "reference.json"]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", help="the pricestream executable")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, the static one included (1 = no closed loop)")
    ap.add_argument("--seeds", default="1..4", help="seeds the training data is simulated with")
    ap.add_argument("--eval-seeds", default="11..16", help="seeds each round's model is judged on (never trained on)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="scenario names under scenarios/, for data")
    ap.add_argument("--eval-scenarios", default=",".join(SCENARIOS), help="scenario names for judging the rounds")
    ap.add_argument("--duration", default=None, help="override every scenario's duration (e.g. 1d, for a smoke run)")
    ap.add_argument("--work", default="out/training", help="every round's data, model and evaluation")
    ap.add_argument("--out-dir", default=str(Path(__file__).resolve().parent.parent), help="where the best round ships")
    ap.add_argument("--target", choices=trainer.LABELS, default="plan")
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--loss", default="squared_error")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    return args


def run(cmd):
    print("+ " + " ".join(map(str, cmd)), file=sys.stderr, flush=True)
    done = subprocess.run([str(c) for c in cmd], stdout=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"{cmd[0]} {cmd[1]} failed with exit code {done.returncode}")


def scenario(name):
    path = Path("scenarios") / f"{name}.toml"
    if not path.is_file():
        sys.exit(f"no scenario {path} (run from the repository root)")
    return path


def provenance(k, rounds):
    if k == 0:
        return trainer.STATIC_PROVENANCE
    return (f"Closed-loop (DAgger) round {k} of rounds 0–{rounds - 1}: round 0's rows were simulated at list "
            f"prices, round j's (1 ≤ j ≤ {k}) priced by round j−1's model; the stock-aware oracle labels the "
            f"states each pricing policy reached, and all {k + 1} rounds' rows are trained on together.")


def evaluate(binary, model, names, seeds, report_dir, duration):
    """The model's expected profit vs static-opt per scenario (mean, sd over seeds), from the workbench."""
    result = {}
    for name in names:
        report = report_dir / name
        run([binary, "run", scenario(name), "--compare", "static-opt,model", "--model", model,
             "--seeds", seeds, "-q", "--report", report, *duration])
        summary = json.loads((report / "summary.json").read_text())
        row = next(c for c in summary["comparison"] if c["policy"] == "model")
        result[name] = {
            "expected_vs_static_opt": row["expected_vs_static_opt"],
            "profit_vs_static_opt": row["profit_vs_static_opt"],
            "price_changes": row["price_changes"]["mean"],
            "guardrail_breaches": row["guardrail_breaches"],
        }
    return result


def pct(stat):
    return f"{stat['mean'] * 100:+.1f} % ± {stat['sd'] * 100:.1f}".replace("-", "−")


def rounds_section(rounds, best, args):
    names = list(rounds[0]["evaluation"])
    head = "| round | priced by | rows | validation MAE | " + " | ".join(f"`{n}`" for n in names) + " | mean |"
    lines = [head, "|" + "---|" * (len(names) + 5)]
    for k, r in enumerate(rounds):
        cells = [pct(r["evaluation"][n]["expected_vs_static_opt"]) for n in names]
        mark = " **(shipped)**" if k == best else ""
        lines.append(f"| {k}{mark} | {r['priced_by']} | {r['rows']} | {r['validation']['mae']:.4f} | "
                     + " | ".join(cells) + f" | {r['score'] * 100:+.2f} % |".replace("-", "−"))
    table = "\n".join(lines)
    return f"""
## Closed-loop training
Trained by `model/train/dagger.py` in {len(rounds)} rounds (DAgger: each round
adds the states the previous round's model led the simulation to, labeled by
the oracle). Each round's model was judged in the workbench on seeds
{args.eval_seeds}, never trained on: expected profit against static-opt,
paired on the same shoppers (mean ± sd over seeds); the round with the best
mean over the scenarios ships. Validation MAE is on the held-out training
seed of that round's own data (later rounds' data is harder: it holds the
states where prices moved).

{table}
"""


def main():
    args = parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data_scenarios = [scenario(n) for n in args.scenarios.split(",")]
    eval_names = args.eval_scenarios.split(",")
    rounds, csvs = [], []
    duration = ["--duration", args.duration] if args.duration else []
    for k in range(args.rounds):
        out = work / f"round-{k}"
        out.mkdir(exist_ok=True)
        data = work / f"round-{k}.csv"
        policy = ["--policy", "static"] if k == 0 else \
            ["--policy", "model", "--model", work / f"round-{k - 1}" / "pricing.onnx"]
        run([args.binary, "export-training", *data_scenarios, "--seeds", args.seeds, *policy, "--out", data,
             *duration])
        csvs.append(data)
        targs = trainer.parser().parse_args([
            *map(str, csvs), "--out-dir", str(out), "--target", args.target, "--trees", str(args.trees),
            "--depth", str(args.depth), "--loss", args.loss, "--provenance", provenance(k, args.rounds),
            *(["--version-tag", f"dagger{k}"] if args.rounds > 1 else []),
        ])
        fitted = trainer.train(targs)
        evaluation = evaluate(args.binary, out / "pricing.onnx", eval_names, args.eval_seeds, out / "eval", duration)
        score = sum(e["expected_vs_static_opt"]["mean"] for e in evaluation.values()) / len(evaluation)
        rounds.append({**fitted, "priced_by": "list prices" if k == 0 else f"round {k - 1}'s model",
                       "evaluation": evaluation, "score": score})
        print(f"round {k}: {fitted['version']}, expected profit vs static-opt {score * 100:+.2f} % "
              f"(mean over {', '.join(eval_names)}; seeds {args.eval_seeds})", flush=True)

    best = max(range(len(rounds)), key=lambda k: rounds[k]["score"])
    (work / "dagger.json").write_text(json.dumps({"rounds": rounds, "shipped": best}, indent=1) + "\n")
    chosen, out_dir = work / f"round-{best}", Path(args.out_dir)
    for name in SHIPPED:
        shutil.copyfile(chosen / name, out_dir / name)
    if args.rounds > 1:
        with open(out_dir / "MODEL_CARD.md", "a") as card:
            card.write(rounds_section(rounds, best, args))
    print(f"shipped round {best} ({rounds[best]['version']}) to {out_dir}")


if __name__ == "__main__":
    main()
