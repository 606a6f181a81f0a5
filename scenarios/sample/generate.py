#!/usr/bin/env python3
"""Writes the small replay sample in this folder (deterministic, seed 7).

30 minutes of a 12-product shop from 2026-11-28T14:00:00Z on two partitions
(files), with a trend on `sku-runner-07` from 14:12 and a handful of bad records
so every common dead-letter reason shows up. The simulator (`pricestream sim`)
will supersede this; it is kept so the sample can be regenerated.
"""
import csv, json, random, zlib
from pathlib import Path

HERE = Path(__file__).parent
T0 = 1_795_874_400_000  # 2026-11-28T14:00:00Z
rng = random.Random(7)

BRANDS = [("Aerial", "Air"), ("Kestrel", "Runner"), ("Northway", "Court")]
products = []
for i in range(12):
    brand, line = BRANDS[i % 3]
    pid = f"sku-{line.lower()}-{i:02d}"
    base = round(rng.uniform(80, 220), 2)
    products.append(dict(product_id=pid, brand=brand, model=f"{line} {i}", category="sneakers",
                         base_price=base, current_price=base, cost=round(base * 0.45, 2),
                         min_price=round(base * 0.7, 2), max_price=round(base * 1.6, 2),
                         map_price=round(base * 0.8, 2), inventory=rng.randint(40, 400),
                         price_version=0, last_window=0))
with open(HERE / "catalog.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(products[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(products)

weights = [1.0 / (i + 1) for i in range(12)]
TREND = products[7]["product_id"]  # sku-runner-07
REFS = ["search", "direct", "instagram", "email", "tiktok"]
parts = {0: [], 1: []}
orders = []
n = 0

def iso(ms):
    s, ms = divmod(ms, 1000)
    import datetime
    return datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"

def emit(ev):
    part = zlib.crc32(ev["product_id"].encode()) % 2
    parts[part].append(json.dumps(ev, separators=(",", ":")))

t = T0
while t < T0 + 30 * 60_000:
    t += int(rng.expovariate(1 / 900))
    trend_on = t >= T0 + 12 * 60_000
    if trend_on and rng.random() < 0.35:
        p = next(x for x in products if x["product_id"] == TREND)
        ref = "instagram"
    else:
        p = rng.choices(products, weights)[0]
        ref = rng.choice(REFS)
    session = f"s{rng.randrange(10**6):06d}"
    steps = ["view"]
    if rng.random() < 0.3:
        steps.append("click")
        if rng.random() < 0.25:
            steps.append("add_to_cart")
            if rng.random() < 0.4:
                steps.append("purchase")
            elif rng.random() < 0.3:
                steps.append("remove_from_cart")
    for k, step in enumerate(steps):
        n += 1
        et = t + k * 1500 - rng.randint(0, 2000)  # small out-of-order jitter
        ev = dict(event_id=f"e{n:06d}", event_type=step,
                  event_time=iso(et) if n % 4 else et,  # both time encodings
                  session_id=session, product_id=p["product_id"],
                  price=p["current_price"], referrer=ref)
        if n % 5 == 0:
            ev["user_id"] = f"u{rng.randrange(5000)}"
        if ref == "email":
            ev["campaign"] = "winter-launch"
        emit(ev)
        if step == "purchase":
            orders.append(dict(order_id=f"o{n:06d}", product_id=p["product_id"], quantity=1,
                               unit_price=p["current_price"], order_time=iso(et)))

# Faults: one of each common kind, in the middle of partition 0.
good = json.loads(parts[0][200])
bad = [
    '{"event_id":"x1","event_type":"view"',                        # malformed_json
    json.dumps({k: v for k, v in good.items() if k != "session_id"}),  # missing_field
    json.dumps({**good, "event_id": "x3", "price": -5}),             # bad_value
    json.dumps({**good, "event_id": "x4", "event_type": "like"}),    # bad_value
    json.dumps({**good, "event_id": "x5", "event_time": "1999-12-31T23:59:59Z"}),  # out of range
    json.dumps({**good, "event_id": "x6", "product_id": "sku-unknown-99"}),         # unknown_product
    parts[0][190],                                                  # duplicate
    json.dumps({**good, "event_id": "x8", "event_time": iso(T0 + 5_000)}),          # late
]
parts[0][201:201] = bad
for k, lines in parts.items():
    (HERE / f"events-{k}.ndjson").write_text("\n".join(lines) + "\n")
with open(HERE / "orders.ndjson", "w") as f:
    for o in orders:
        f.write(json.dumps(o, separators=(",", ":")) + "\n")
print(f"{sum(map(len, parts.values()))} events, {len(orders)} orders")
