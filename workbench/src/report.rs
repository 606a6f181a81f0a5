//! Run outputs for people: a text summary, and the report directory.

use std::path::Path;

use crate::compare::Finished;
use crate::summary::Summary;

/// A run's summary as text.
pub fn describe(s: &Summary) -> String {
    let mut out = format!(
        "{} · policy {} ({}) · seed {}\n\
         events   emitted {} · received {} · accepted {} · dead-lettered {}\n",
        s.scenario,
        s.policy,
        s.model_version,
        s.seed,
        s.events_emitted,
        s.received,
        s.accepted,
        s.dead_lettered
    );
    let dead: Vec<String> = s
        .dead_letters
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    if !dead.is_empty() {
        out += &format!("         dead letters by reason: {}\n", dead.join(", "));
    }
    out += &format!(
        "windows  {} closed · {} feature records\n\
         pricer   {} decisions: {}\n\
         prices   {} changes · mean |change| {:.1} % · {:.2} changes per product-day · {} guardrail breaches\n\
         sales    {} orders · revenue {:.2} · profit {:.2} · margin {:.1} %\n\
         stock    {} shoppers missed out of stock · {} products sold out\n",
        s.windows_closed,
        s.feature_records,
        s.decisions.values().sum::<u64>(),
        s.decisions
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        s.price_changes,
        s.mean_abs_change * 100.0,
        s.changes_per_product_day,
        s.guardrail_breaches,
        s.orders,
        s.revenue,
        s.profit,
        s.margin * 100.0,
        s.missed_out_of_stock,
        s.products_sold_out,
    );
    if s.model_errors > 0 {
        out += &format!(
            "model    {} failed batches; last: {}\n",
            s.model_errors,
            s.last_model_error.as_deref().unwrap_or("")
        );
    }
    out
}

/// Writes `summary.json`, `prices.csv`, `audit.ndjson`, `dead_letters.ndjson`
/// and `report.html` into `dir`. Records (audit, prices, dead letters,
/// series) come from the runs of the first seed; `audit.ndjson` and
/// `dead_letters.ndjson` are the first policy's.
pub fn write(dir: &Path, scenario: &Path, finished: &[Finished]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let rows = crate::compare::table(finished);
    let summaries: Vec<&Summary> = finished.iter().map(|f| &f.result.summary).collect();
    let json = serde_json::json!({ "scenario": scenario.display().to_string(), "comparison": rows, "runs": summaries });
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
    )?;
    let recorded: Vec<&Finished> = finished
        .iter()
        .filter(|f| !f.result.audit.is_empty() || !f.result.revenue.is_empty())
        .collect();
    let mut prices = csv::Writer::from_path(dir.join("prices.csv"))?;
    prices.write_record([
        "policy",
        "seed",
        "time",
        "product_id",
        "old_price",
        "new_price",
        "rule",
    ])?;
    for f in &recorded {
        for c in &f.result.changes {
            prices.write_record([
                f.policy.name(),
                f.seed.to_string(),
                pipeline::time::format_rfc3339(c.time),
                c.product_id.clone(),
                format!("{:.2}", c.old_price),
                format!("{:.2}", c.new_price),
                c.rule.as_str().to_string(),
            ])?;
        }
    }
    prices.flush()?;
    let first = recorded.first();
    let mut audit = std::io::BufWriter::new(std::fs::File::create(dir.join("audit.ndjson"))?);
    let mut dead = std::io::BufWriter::new(std::fs::File::create(dir.join("dead_letters.ndjson"))?);
    if let Some(f) = first {
        for a in &f.result.audit {
            pipeline::adapters::files::write_ndjson(&mut audit, a)?;
        }
        for d in &f.result.dead_letters {
            pipeline::adapters::files::write_ndjson(&mut dead, d)?;
        }
    }
    audit.flush()?;
    dead.flush()?;
    let sc = sim::Scenario::load(scenario).map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::write(dir.join("report.html"), html(&sc, &rows, &recorded))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(sc: &sim::Scenario, rows: &[crate::compare::PolicyRow], recorded: &[&Finished]) -> String {
    use crate::charts::{Line, Marker, PALETTE, line_chart};
    let start = sc.start.0;
    let hours = |t: pipeline::Millis| (t - start) as f64 / 3_600_000.0;
    let markers: Vec<Marker> = sc
        .trend
        .iter()
        .map(|t| Marker {
            x: hours(start + t.at.0),
            label: &t.label,
        })
        .chain(sc.sale.iter().map(|s| Marker {
            x: hours(start + s.at.0),
            label: &s.label,
        }))
        .collect();
    let mut body = String::new();
    let pct = |s: &Option<crate::compare::Spread>| {
        s.as_ref().map_or("—".into(), |s| {
            format!("{:+.1} % ± {:.1}", s.mean * 100.0, s.sd * 100.0)
        })
    };
    body += "<h2>Policies compared</h2><table><tr><th>policy</th><th>seeds</th><th>revenue</th><th>profit</th><th>margin</th><th>orders</th><th>revenue vs static</th><th>profit vs static</th><th>regret vs oracle</th><th>price changes</th><th>guardrail breaches</th></tr>";
    for r in rows {
        body += &format!(
            "<tr><td>{}</td><td>{}</td><td>{:.0} ± {:.0}</td><td>{:.0} ± {:.0}</td><td>{:.1} %</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td></tr>",
            esc(&r.policy),
            r.seeds,
            r.revenue.mean,
            r.revenue.sd,
            r.profit.mean,
            r.profit.sd,
            r.margin.mean * 100.0,
            r.orders.mean,
            pct(&r.revenue_uplift_vs_static),
            pct(&r.profit_uplift_vs_static),
            pct(&r.revenue_regret_vs_oracle),
            r.price_changes.mean,
            r.guardrail_breaches
        );
    }
    body += "</table>";
    let watched: Vec<&String> = recorded
        .first()
        .map(|f| f.result.series.keys().collect())
        .unwrap_or_default();
    for product in watched {
        body += &format!("<h2>{}</h2>", esc(product));
        let price_lines: Vec<Line> = recorded
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let s = f.result.series.get(product)?;
                Some(Line {
                    label: f.policy.name(),
                    color: PALETTE[i % PALETTE.len()],
                    points: s
                        .window_end
                        .iter()
                        .zip(&s.price)
                        .map(|(t, p)| (hours(*t), *p))
                        .collect(),
                    steps: true,
                })
            })
            .collect();
        body += &line_chart(
            &format!("{product}: price by policy"),
            "price",
            &price_lines,
            &markers,
            (1000, 320),
        );
        if let Some(s) = recorded.first().and_then(|f| f.result.series.get(product)) {
            let demand = [Line {
                label: "views per minute".into(),
                color: RGBColor(31, 119, 180),
                points: s
                    .window_end
                    .iter()
                    .zip(&s.views_per_minute)
                    .map(|(t, v)| (hours(*t), f64::from(*v)))
                    .collect(),
                steps: false,
            }];
            body += &line_chart(
                &format!("{product}: demand ({})", recorded[0].policy.name()),
                "views / min",
                &demand,
                &markers,
                (1000, 280),
            );
        }
    }
    let revenue: Vec<Line> = recorded
        .iter()
        .enumerate()
        .map(|(i, f)| Line {
            label: f.policy.name(),
            color: PALETTE[i % PALETTE.len()],
            points: f
                .result
                .revenue
                .iter()
                .map(|(t, r)| (hours(*t), *r))
                .collect(),
            steps: false,
        })
        .collect();
    body += "<h2>Cumulative revenue</h2>";
    body += &line_chart(
        "cumulative revenue by policy (first seed)",
        "revenue",
        &revenue,
        &markers,
        (1000, 360),
    );
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>pricestream · {name}</title><style>\
         body{{font-family:sans-serif;max-width:1040px;margin:24px auto;color:#222}}\
         table{{border-collapse:collapse;font-size:14px}}td,th{{border:1px solid #ddd;padding:4px 8px;text-align:right}}\
         th{{background:#f4f4f4}}td:first-child{{text-align:left}}svg{{display:block;margin:8px 0}}\
         </style></head><body><h1>{name}</h1><p>{desc}</p>{body}\
         <p style=\"color:#777;font-size:12px\">pricestream workbench report · data in summary.json, prices.csv, audit.ndjson, dead_letters.ndjson</p></body></html>\n",
        name = esc(&sc.name),
        desc = esc(&sc.description),
    )
}

use plotters::style::RGBColor;
