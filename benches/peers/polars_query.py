"""The Polars side of benches/peers/run: DATA OUT (same query as DuckDB's)."""

import os
import sys

os.environ["POLARS_MAX_THREADS"] = "1"  # read when polars is imported

import polars as pl  # noqa: E402

data, out = sys.argv[1], sys.argv[2]
schema = {
    "event_id": pl.String,
    "event_type": pl.String,
    "event_time": pl.String,
    "session_id": pl.String,
    "product_id": pl.String,
    "price": pl.Float64,
    "referrer": pl.String,
    "user_id": pl.String,
    "campaign": pl.String,
}
kind = pl.col("event_type")
window = pl.col("event_time").str.to_datetime(time_unit="ms", time_zone="UTC").dt.epoch("ms")
(
    pl.scan_ndjson(f"{data}/events-*.ndjson", schema=schema)
    .unique(subset="event_id", keep="any")
    .with_columns(window_start=(window // 100_000) * 100_000)
    .group_by("product_id", "window_start")
    .agg(
        views=(kind == "view").sum(),
        clicks=(kind == "click").sum(),
        add_to_carts=(kind == "add_to_cart").sum(),
        remove_from_carts=(kind == "remove_from_cart").sum(),
        purchases=(kind == "purchase").sum(),
        unique_sessions=pl.col("session_id").n_unique(),
    )
    .collect()
    .write_csv(out)
)
