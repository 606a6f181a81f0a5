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
         sales    {} orders · revenue {:.2} · profit {:.2} (expected {:.2}) · margin {:.1} %\n\
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
        s.expected_profit,
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
        .filter(|f| !f.result.audit.is_empty() || !f.result.profit.is_empty())
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
    std::fs::write(
        dir.join("report.html"),
        html(&sc, finished, &rows, &recorded),
    )
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(
    sc: &sim::Scenario,
    finished: &[Finished],
    rows: &[crate::compare::PolicyRow],
    recorded: &[&Finished],
) -> String {
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
    let mut body = header(finished);
    let pct = crate::compare::pct;
    let share = |s: &Option<crate::compare::Spread>| {
        s.as_ref().map_or("—".into(), |s| {
            format!("{:.0} % ± {:.0}", s.mean * 100.0, s.sd * 100.0)
        })
    };
    body += "<h2>Policies compared</h2><table><tr><th>policy</th><th>seeds</th><th>profit</th><th>vs list</th><th>vs static-opt</th><th>vs static-opt, expected profit</th><th>regret vs oracle</th><th>headroom captured</th><th>trending profit</th><th>trending headroom captured</th><th>trending missed</th><th>revenue</th><th>margin</th><th>price changes</th><th>guardrail breaches</th></tr>";
    for r in rows {
        body += &format!(
            "<tr><td>{}</td><td>{}</td><td>{:.0} ± {:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0} ± {:.0}</td><td>{}</td><td>{:.0}</td><td>{:.0} ± {:.0}</td><td>{:.1} %</td><td>{:.0}</td><td>{}</td></tr>",
            esc(&r.policy),
            r.seeds,
            r.profit.mean,
            r.profit.sd,
            pct(&r.profit_vs_list),
            pct(&r.profit_vs_static_opt),
            pct(&r.expected_vs_static_opt),
            pct(&r.profit_regret_vs_oracle),
            share(&r.headroom_captured),
            r.trending_profit.mean,
            r.trending_profit.sd,
            share(&r.trending_headroom_captured),
            r.trending_missed.mean,
            r.revenue.mean,
            r.revenue.sd,
            r.margin.mean * 100.0,
            r.price_changes.mean,
            r.guardrail_breaches
        );
    }
    body += "</table>";
    body += &best_and_headroom(finished);
    body += &crate::report_trend::sections(sc, finished, recorded);
    body += &crate::report_tables::guardrails(finished);
    body += &crate::report_tables::products(recorded);
    let profit: Vec<Line> = recorded
        .iter()
        .enumerate()
        .map(|(i, f)| Line {
            label: f.policy.name(),
            color: PALETTE[i % PALETTE.len()],
            points: f
                .result
                .profit
                .iter()
                .map(|(t, r)| (hours(*t), *r))
                .collect(),
            steps: false,
        })
        .collect();
    body += "<h2>Cumulative profit</h2>";
    body += &line_chart(
        "cumulative profit by policy (first seed)",
        "profit",
        &profit,
        &markers,
        start,
        (1000, 360),
    );
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>pricestream · {name}</title><style>\
         body{{font-family:sans-serif;max-width:1040px;margin:24px auto;color:#222}}\
         table{{border-collapse:collapse;font-size:14px}}td,th{{border:1px solid #ddd;padding:4px 8px;text-align:right}}\
         th{{background:#f4f4f4}}td:first-child{{text-align:left}}svg{{display:block;margin:8px 0}}.meta{{color:#555}}\
         </style></head><body><h1>{name}</h1><p>{desc}</p>{body}\
         <p style=\"color:#777;font-size:12px\">pricestream workbench report · data in summary.json (every run), prices.csv (first seed, every policy), audit.ndjson and dead_letters.ndjson (first seed, first policy)</p></body></html>\n",
        name = esc(&sc.name),
        desc = esc(&sc.description),
    )
}

/// Who ran what: scenario, seeds, policies with their model versions, and when.
fn header(finished: &[Finished]) -> String {
    let mut seeds: Vec<u64> = finished.iter().map(|f| f.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let mut versions: Vec<String> = Vec::new();
    for f in finished {
        let v = format!("{} ({})", f.policy.name(), f.result.summary.model_version);
        if !versions.contains(&v) {
            versions.push(v);
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as pipeline::Millis);
    format!(
        "<p class=\"meta\">seeds {} · policies {} · generated {}</p>\
         <p>Profit (revenue − cost of goods) is the objective. Paired figures compare runs of the same seed: \
         every policy meets the same shoppers with the same dice (common random numbers), so a difference is the policy's. \
         Expected profit integrates each purchase decision's dice out (on the same shoppers): the same expectation, far less noise. \
         The headroom is what the clairvoyant, stock-aware oracle earns over <code>static-opt</code> \
         (each product at its profit-optimal static price); \"captured\" is (policy − static-opt) / (oracle − static-opt), per seed.</p>",
        esc(&seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")),
        esc(&versions.join(", ")),
        pipeline::time::format_rfc3339(now)
    )
}

/// The best fixed price per seed and the oracle's headroom.
fn best_and_headroom(finished: &[Finished]) -> String {
    let best = crate::compare::best_statics(finished);
    let room = crate::compare::headroom(finished);
    let mut out = String::new();
    if !best.is_empty() {
        out += "<p>Best fixed-price policy per seed: ";
        out += &best
            .iter()
            .map(|b| format!("seed {} {} ({:.0})", b.seed, esc(&b.policy), b.profit))
            .collect::<Vec<_>>()
            .join(", ");
        out += "</p>";
    }
    if !room.is_empty() {
        out += "<p>Oracle headroom over static-opt, per seed: ";
        out += &room
            .iter()
            .map(|h| {
                format!(
                    "seed {} {:+.0} ({:+.2} %; trending {:+.0})",
                    h.seed,
                    h.shop,
                    h.shop_fraction * 100.0,
                    h.trending
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        out += "</p>";
    }
    out
}
