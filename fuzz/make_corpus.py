#!/usr/bin/env python3
"""Builds the seed corpus of every fuzz target under fuzz/corpus/ from the
project's own files: the simulator's output (events with injected faults),
the golden files, the shipped scenarios, configs and catalogs, plus a few
hand-made KPL aggregates and a DynamoDB-stream event. Deterministic; the
corpus is not committed (run by scripts/fuzz when missing)."""

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
KPL_MAGIC = bytes([0xF3, 0x89, 0x9A, 0xC2])


def put(target, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    data = data if isinstance(data, bytes) else data.encode()
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(tag, wire, payload):
    key = varint(tag << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + varint(payload)


def aggregate(records, keys):
    """A KPL aggregate: records are (key index, data bytes)."""
    msg = b"".join(field(1, 2, k.encode()) for k in keys)
    for ix, data in records:
        msg += field(3, 2, field(1, 0, ix) + field(3, 2, data))
    return KPL_MAGIC + msg + hashlib.md5(msg).digest()


def sim_lines(hours):
    bin_ = ROOT / "target" / "debug" / "pricestream"
    if not bin_.exists():
        bin_ = ROOT / "target" / "release" / "pricestream"
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [str(bin_), "sim", str(ROOT / "scenarios" / "bad-input.toml"),
             "--out", out, "--duration", f"{hours}h", "-q"],
            check=True,
        )
        lines = []
        for f in sorted(Path(out).glob("events-*.ndjson")):
            lines += f.read_bytes().split(b"\n")
        return [l for l in lines if l], (Path(out) / "catalog.csv").read_bytes()


def feature_count():
    src = (ROOT / "pipeline" / "src" / "features.rs").read_text()
    block = src[src.index("pub const FEATURE_NAMES"):]
    block = block[: block.index("];")]
    return len(re.findall(r'"[a-z0-9_]+"', block))


def lambda_event():
    image = {
        "product_id": {"S": "sku-air-00"}, "window_end": {"N": "1795874500000"},
        "window_start": {"N": "1795874400000"}, "brand": {"S": "Air"},
        "model": {"S": "Max"}, "category": {"S": "running"},
        "base_price": {"N": "120"}, "current_price": {"N": "120"}, "cost": {"N": "50"},
        "price_version": {"N": "1"}, "features_version": {"N": "2"},
        "features": {"L": [{"N": "0.5"}] * feature_count()},
    }
    def record(seq, name, img):
        return {"eventID": f"e{seq}", "eventName": name, "eventSource": "aws:dynamodb",
                "dynamodb": {"SequenceNumber": seq, "NewImage": img,
                             "Keys": {"product_id": {"S": "sku-air-00"}}}}
    return json.dumps({"Records": [
        record("1", "INSERT", image), record("2", "MODIFY", {"product_id": {"S": "x"}}),
        record("3", "REMOVE", {}),
    ]})


def main():
    lines, catalog = sim_lines(6)
    golden = sorted((ROOT / "pipeline" / "tests" / "golden").glob("*/*.ndjson"))
    events = [p for p in golden if not p.name.startswith(("catalog", "orders", "expected-"))]
    # Single records: a spread of the simulator's lines (its faults included).
    for line in lines[:: max(1, len(lines) // 300)]:
        put("decode", line)
    for p in events:
        for line in p.read_bytes().split(b"\n"):
            if line:
                put("decode", line)
        put("operator", p.read_bytes())
    for i in range(0, min(len(lines), 2000), 40):
        put("operator", b"\n".join(lines[i : i + 40]))
    good = lines[0]
    for data in [
        aggregate([(0, good), (0, lines[1])], ["sku-a"]),
        aggregate([], ["sku-a"]),
        aggregate([(3, good)], ["sku-a"]),
        KPL_MAGIC + b"\x00" * 16,
        good,
    ]:
        put("kpl", data)
        put("operator", data + b"\n" + good)
    for p in sorted((ROOT / "scenarios").glob("*.toml")):
        put("scenario", p.read_bytes())
    for p in sorted((ROOT / "deploy").glob("*.toml")):
        text = p.read_text()
        put("service_config", text)
        put("service_config", text + "\n#env STREAM_SHARDS=8")
    put("catalog", catalog)
    put("catalog", (ROOT / "scenarios" / "sample" / "catalog.csv").read_bytes())
    for p in sorted((ROOT / "pipeline" / "tests" / "golden").glob("*/catalog.*")):
        put("catalog", p.read_bytes())
    put("lambda_event", lambda_event())
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name:16} {len(list(d.iterdir())):5} seeds")


if __name__ == "__main__":
    sys.exit(main())
