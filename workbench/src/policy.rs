//! Pricing policies the workbench can run, and how they are named on the
//! command line.

use model::ModelSpec;

/// Who sets the price.
#[derive(Clone, Debug, PartialEq)]
pub enum Policy {
    /// Never changes a price: the list price (the control).
    Static,
    /// Every price held at this fraction of its base price (`static@0.9`).
    StaticAt(f32),
    /// Each product at its profit-optimal static price for the regular
    /// shoppers' elasticity: max(floor, c·ε/(1+ε)) (`static-opt`).
    StaticOpt,
    /// static-opt plus a transparent trend rule (`trend-rule`).
    TrendRule,
    /// The transparent rule baseline (`rules`).
    Rules,
    /// The stock-aware plan from the feature records (`plan`), its demand
    /// curves calibrated from the scenario.
    Plan,
    /// A model as configuration names it (`model`: an ONNX file by default).
    Model(ModelSpec),
    /// The clairvoyant, stock-aware oracle through the usual guardrails (`oracle`).
    Oracle,
    /// The oracle learning of each trend only when it starts
    /// (`oracle-reactive`): what a policy that sees trends but cannot foresee
    /// them could earn at best.
    OracleReactive,
    /// The oracle without the step and cooldown guardrails (`oracle-free`):
    /// what those guardrails cost it.
    OracleFree,
    /// A policy with some products held at fixed ratios of their base
    /// price, e.g. `static-opt[sku-0040=1.5]`.
    Pinned(Box<Policy>, Vec<(String, f32)>),
}

/// The uniform static prices `statics` expands to (fractions of list).
pub const STATIC_SWEEP: [f32; 8] = [0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5];

impl Policy {
    pub fn name(&self) -> String {
        match self {
            Policy::StaticAt(r) => format!("static@{r}"),
            Policy::Pinned(base, pins) => {
                let pins: Vec<String> = pins.iter().map(|(p, r)| format!("{p}={r}")).collect();
                format!("{}[{}]", base.name(), pins.join(";"))
            }
            other => other.kind().to_string(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Policy::Static | Policy::StaticAt(_) => "static",
            Policy::StaticOpt => "static-opt",
            Policy::TrendRule => "trend-rule",
            Policy::Rules => "rules",
            Policy::Plan => "plan",
            Policy::Model(_) => "model",
            Policy::Oracle => "oracle",
            Policy::OracleReactive => "oracle-reactive",
            Policy::OracleFree => "oracle-free",
            Policy::Pinned(base, _) => base.kind(),
        }
    }

    /// A fixed price per product for the whole run (a candidate for "best static").
    pub fn is_static(&self) -> bool {
        matches!(
            self,
            Policy::Static | Policy::StaticAt(_) | Policy::StaticOpt
        )
    }

    /// Parses one policy name: `static`, `static@R`, `static-opt`,
    /// `trend-rule`, `rules`, `model` (the given model), `oracle`,
    /// `oracle-free`, optionally followed by pins `[PRODUCT=RATIO;…]`.
    pub fn parse(name: &str, model: &ModelSpec) -> Result<Policy, String> {
        let name = name.trim();
        if let Some((base, pins)) = name.split_once('[') {
            let pins = pins
                .strip_suffix(']')
                .ok_or_else(|| format!("{name:?}: pins end with `]`"))?;
            let pins = pins
                .split(';')
                .map(|pin| match pin.split_once('=') {
                    Some((p, r)) => match r.trim().parse::<f32>() {
                        Ok(r) if r > 0.0 && r < 20.0 && !p.trim().is_empty() => {
                            Ok((p.trim().to_string(), r))
                        }
                        _ => Err(format!("{pin:?}: write PRODUCT=RATIO, e.g. sku-0040=1.5")),
                    },
                    None => Err(format!("{pin:?}: write PRODUCT=RATIO, e.g. sku-0040=1.5")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Policy::Pinned(Box::new(Policy::parse(base, model)?), pins));
        }
        match name {
            "static" => Ok(Policy::Static),
            "static-opt" => Ok(Policy::StaticOpt),
            "trend-rule" => Ok(Policy::TrendRule),
            "rules" => Ok(Policy::Rules),
            "plan" => Ok(Policy::Plan),
            "model" => Ok(Policy::Model(model.clone())),
            "oracle" => Ok(Policy::Oracle),
            "oracle-reactive" => Ok(Policy::OracleReactive),
            "oracle-free" => Ok(Policy::OracleFree),
            other => match other.strip_prefix("static@").map(str::parse::<f32>) {
                Some(Ok(r)) if r > 0.0 && r < 20.0 => Ok(Policy::StaticAt(r)),
                _ => Err(format!(
                    "unknown policy {other:?}: use model, plan, rules, static, static@RATIO (e.g. static@0.9), \
                     statics (static@0.8 … static@1.5), static-opt, trend-rule, oracle, oracle-reactive or oracle-free, \
                     optionally with pinned products like static-opt[sku-0040=1.5]"
                )),
            },
        }
    }

    /// Parses a comma-separated list; `statics` expands to the uniform sweep.
    pub fn parse_list(list: &str, model: &ModelSpec) -> Result<Vec<Policy>, String> {
        let mut out = Vec::new();
        for name in list.split(',') {
            if name.trim() == "statics" {
                out.extend(STATIC_SWEEP.iter().map(|&r| Policy::StaticAt(r)));
            } else {
                out.push(Policy::parse(name, model)?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Policy, String> {
        Policy::parse(s, &ModelSpec::onnx("m.onnx"))
    }

    #[test]
    fn names_round_trip() {
        for name in [
            "static",
            "static@0.9",
            "static-opt",
            "trend-rule",
            "rules",
            "plan",
            "model",
            "oracle",
            "oracle-reactive",
            "oracle-free",
            "static-opt[sku-0040=1.5]",
            "static@0.8[sku-0040=1.2;sku-0001=0.9]",
        ] {
            assert_eq!(parse(name).unwrap().name(), name);
        }
    }

    #[test]
    fn bad_names_say_what_is_allowed() {
        assert!(parse("statik").unwrap_err().contains("static-opt"));
        assert!(
            parse("static-opt[sku-0040]")
                .unwrap_err()
                .contains("PRODUCT=RATIO")
        );
        assert!(parse("static-opt[sku-0040=1.5").unwrap_err().contains("]"));
    }

    #[test]
    fn statics_expands_to_the_sweep() {
        let list = Policy::parse_list("statics,oracle", &ModelSpec::Rules).unwrap();
        assert_eq!(list.len(), STATIC_SWEEP.len() + 1);
        assert!(list[..8].iter().all(Policy::is_static));
    }
}
