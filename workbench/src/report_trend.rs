//! The report's trend sections: for each trend, how its products sold under
//! each policy (over all seeds), and the price, stock and demand around the
//! sighting on a zoomed time axis — of the product, with the guardrail
//! decisions that held its price, or of a brand's products together.

use std::collections::BTreeMap;

use pipeline::Millis;
use plotters::style::RGBColor;

use crate::charts::{Frame, Line, Marker, PALETTE, framed_chart};
use crate::compare::{Finished, Spread};
use crate::report::esc;

/// Hours shown before and after a sighting.
const BEFORE_H: f64 = 2.0;
const AFTER_H: f64 = 30.0;

/// One section per trend of the scenario.
pub fn sections(sc: &sim::Scenario, finished: &[Finished], recorded: &[&Finished]) -> String {
    let mut body = String::new();
    let mut policies: Vec<String> = Vec::new();
    for f in finished {
        if !policies.contains(&f.policy.name()) {
            policies.push(f.policy.name());
        }
    }
    for (i, trend) in sc.trend.iter().enumerate() {
        let at = sc.start.0 + trend.at.0;
        body += &format!(
            "<h2>Trend: {}</h2><p>from {}; {}</p>",
            esc(&trend.label),
            pipeline::time::format_rfc3339(at),
            match (&trend.product, &trend.brand) {
                (Some(p), _) => format!("one product, {}", esc(p)),
                (_, Some(b)) => format!("every product of brand {}", esc(b)),
                _ => "every product".to_string(),
            }
        );
        body += &outcome_table(i, finished, &policies);
        if let Some(product) = &trend.product {
            let series = |f: &Finished| f.result.series.get(product).cloned();
            body += &product_charts(sc, product, &series, at, &trend.label, recorded);
            body += &guardrail_table(product, recorded);
        } else {
            // A brand: its products together (views and stock summed, mean price).
            let series = |f: &Finished| {
                let targets = f.result.summary.trending.get(i)?;
                let parts: Vec<&crate::run::Series> = targets
                    .products
                    .iter()
                    .filter_map(|p| f.result.series.get(&p.product_id))
                    .collect();
                (!parts.is_empty()).then(|| crate::run::Series::aggregate(&parts))
            };
            let n = finished
                .first()
                .and_then(|f| f.result.summary.trending.get(i))
                .map_or(0, |t| t.products.len());
            let title = format!("{} ({n} products)", trend.brand.as_deref().unwrap_or("all"));
            body += &product_charts(sc, &title, &series, at, &trend.label, recorded);
        }
    }
    body
}

/// Units, profit, missed shoppers and sell-out time of the trend's products, per policy over seeds.
fn outcome_table(trend: usize, finished: &[Finished], policies: &[String]) -> String {
    let mut out = String::from(
        "<table><tr><th>policy</th><th>seeds</th><th>units</th><th>revenue</th><th>profit</th>\
         <th>shoppers who found no stock</th><th>products sold out</th><th>sold out after (h)</th></tr>",
    );
    for name in policies {
        let runs: Vec<&crate::summary::TrendOutcome> = finished
            .iter()
            .filter(|f| &f.policy.name() == name)
            .filter_map(|f| f.result.summary.trending.get(trend))
            .collect();
        let of = |get: &dyn Fn(&crate::summary::TrendOutcome) -> f64| {
            Spread::of(&runs.iter().map(|t| get(t)).collect::<Vec<_>>())
        };
        let sold_out: Vec<f64> = runs
            .iter()
            .flat_map(|t| t.products.iter().filter_map(|p| p.sold_out_after_hours))
            .collect();
        let cell = |s: Spread, d: usize| format!("{:.*} ± {:.*}", d, s.mean, d, s.sd);
        out += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            runs.len(),
            cell(of(&|t| t.units as f64), 1),
            cell(of(&|t| t.revenue), 0),
            cell(of(&|t| t.profit), 0),
            cell(of(&|t| t.missed as f64), 1),
            cell(of(&|t| t.sold_out as f64), 1),
            if sold_out.is_empty() {
                "never".to_string()
            } else {
                format!(
                    "{} of {} runs, mean {:.1}",
                    sold_out.len(),
                    runs.len(),
                    Spread::of(&sold_out).mean
                )
            },
        );
    }
    out + "</table>"
}

/// Price, stock and demand of one product around its sighting (first seed).
fn product_charts(
    sc: &sim::Scenario,
    product: &str,
    series: &dyn Fn(&Finished) -> Option<crate::run::Series>,
    at: Millis,
    label: &str,
    recorded: &[&Finished],
) -> String {
    let since = |t: Millis| (t - at) as f64 / 3_600_000.0;
    let end_h = since(sc.start.0 + sc.duration.0);
    let frame = |y_from_zero| Frame {
        x_label: "hours since the sighting",
        x_range: Some((-BEFORE_H, AFTER_H.min(end_h))),
        y_from_zero,
        size: (1000, 300),
        clock_from: None,
    };
    let markers = [Marker { x: 0.0, label }];
    let lines = |get: &dyn Fn(&crate::run::Series) -> Vec<f64>, steps: bool| -> Vec<Line> {
        recorded
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let s = series(f)?;
                Some(Line {
                    label: f.policy.name(),
                    color: PALETTE[i % PALETTE.len()],
                    points: s
                        .window_end
                        .iter()
                        .map(|t| since(*t))
                        .zip(get(&s))
                        .collect(),
                    steps,
                })
            })
            .collect()
    };
    let seed = recorded.first().map_or(0, |f| f.seed);
    let mut out =
        format!("<p>Seed {seed}. Each policy's price and stock at every window's close.</p>");
    out += &framed_chart(
        &format!("{product}: price by policy"),
        "price",
        &lines(&|s| s.price.clone(), true),
        &markers,
        frame(false),
    );
    out += &framed_chart(
        &format!("{product}: stock left by policy"),
        "units in stock",
        &lines(
            &|s| s.inventory.iter().map(|&v| f64::from(v)).collect(),
            true,
        ),
        &markers,
        frame(true),
    );
    if let Some(s) = recorded.first().and_then(|f| series(f)) {
        let views = [Line {
            label: "views per minute".into(),
            color: RGBColor(31, 119, 180),
            points: s
                .window_end
                .iter()
                .map(|t| since(*t))
                .zip(s.views_per_minute.iter().map(|&v| f64::from(v)))
                .collect(),
            steps: false,
        }];
        out += &framed_chart(
            &format!("{product}: demand (the same shoppers under every policy)"),
            "views / min",
            &views,
            &markers,
            frame(true),
        );
    }
    out
}

/// Which guardrail decided this product's prices, per policy (first seed).
fn guardrail_table(product: &str, recorded: &[&Finished]) -> String {
    let counts: Vec<(String, BTreeMap<&'static str, u64>)> = recorded
        .iter()
        .map(|f| {
            let mut c = BTreeMap::new();
            for a in f.result.audit.iter().filter(|a| a.product_id == product) {
                *c.entry(a.rule.as_str()).or_default() += 1;
            }
            (f.policy.name(), c)
        })
        .collect();
    let rules: Vec<&'static str> = pipeline::Rule::ALL
        .iter()
        .map(|r| r.as_str())
        .filter(|r| counts.iter().any(|(_, c)| c.contains_key(r)))
        .collect();
    if rules.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<p>Decisions on {} by the rule that decided them (first seed; <code>model</code> = the policy's own price).</p><table><tr><th>policy</th>",
        esc(product)
    );
    for r in &rules {
        out += &format!("<th>{r}</th>");
    }
    out += "</tr>";
    for (name, c) in &counts {
        out += &format!("<tr><td>{}</td>", esc(name));
        for r in &rules {
            out += &format!("<td>{}</td>", c.get(r).copied().unwrap_or(0));
        }
        out += "</tr>";
    }
    out + "</table>"
}
