//! What the `plan` policy knows offline, calibrated for a workbench run: the
//! purchase curves of the scenario's shoppers (a shop estimates these from
//! its own history; `static-opt` takes its elasticity the same way), the
//! catalog's price bounds, the run's guardrails and its end (the season
//! the stock is for). Nothing about traffic, trends' timing or stock: those
//! it reads from the feature records.

use model::{FanParams, PlanParams};
use pipeline::Guardrails;
use pipeline::time::HOUR;
use sim::Scenario;
use sim::scenario::DemandModel;

pub fn plan_params(sc: &Scenario, guardrails: &Guardrails) -> PlanParams {
    let d = &sc.demand;
    // The first trend's fans stand for every trend's (one fan segment).
    let fans = sc
        .trend
        .first()
        .map(|t| FanParams {
            wtp_median: t.wtp.map(|w| w.median),
            wtp_sigma: t.wtp.map_or(FanParams::default().wtp_sigma, |w| w.sigma),
            elasticity: t.elasticity,
            reference: t.reference,
            reference_sensitivity: t.reference_sensitivity,
        })
        .unwrap_or_default();
    PlanParams {
        purchase_rate: sc.funnel.purchase_rate,
        max_purchase_prob: d.max_purchase_prob,
        elasticity: d.elasticity,
        logit: d.model == DemandModel::Logit,
        reference: d.reference,
        reference_sensitivity: d.reference_sensitivity,
        reference_halflife_hours: d.reference_halflife.0 as f64 / HOUR as f64,
        fans,
        min_margin: guardrails.min_margin,
        floor_ratio: sc.catalog.map_ratio.max(sc.catalog.min_ratio),
        max_ratio: guardrails.max_ratio.min(sc.catalog.max_ratio),
        season_end: Some(sc.start.0 + sc.duration.0),
        ..PlanParams::default()
    }
}
