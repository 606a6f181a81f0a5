"""The DuckDB side of benches/peers/run: DATA OUT.

Reads every events-*.ndjson in DATA, drops repeated event ids, and counts
each product's events by type and its distinct sessions per 100 s window
(what `pricestream replay` computes besides its other features), one thread.
"""

import sys

import duckdb

data, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads = 1")
# The schema is given, not sampled: the same work for every run.
con.execute(
    f"""
COPY (
  WITH events AS (
    SELECT * FROM read_json('{data}/events-*.ndjson', format = 'newline_delimited',
      columns = {{event_id: 'VARCHAR', event_type: 'VARCHAR', event_time: 'TIMESTAMP',
                 session_id: 'VARCHAR', product_id: 'VARCHAR', price: 'DOUBLE',
                 referrer: 'VARCHAR', user_id: 'VARCHAR', campaign: 'VARCHAR'}})
  ),
  unique_events AS (SELECT DISTINCT ON (event_id) * FROM events)
  SELECT product_id, (epoch_ms(event_time) // 100000) * 100000 AS window_start,
    count(*) FILTER (event_type = 'view') AS views,
    count(*) FILTER (event_type = 'click') AS clicks,
    count(*) FILTER (event_type = 'add_to_cart') AS add_to_carts,
    count(*) FILTER (event_type = 'remove_from_cart') AS remove_from_carts,
    count(*) FILTER (event_type = 'purchase') AS purchases,
    count(DISTINCT session_id) AS unique_sessions
  FROM unique_events GROUP BY ALL
) TO '{out}' (HEADER)
"""
)
