//! Scenario files (TOML): the story a simulation tells. Field reference in
//! docs/scenarios.md. Parsing rejects unknown keys and bad values with an
//! error that names the file, the key and what is allowed.

use std::fmt;
use std::path::{Path, PathBuf};

use pipeline::Millis;
use pipeline::time::{DAY, parse_rfc3339};
use serde::{Deserialize, Deserializer};

mod estimate;
mod validate;

pub use estimate::Estimate;

/// A duration written like `100s`, `15m`, `1d 14h` (humantime syntax).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Millis);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let parsed = humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "{s:?} is not a duration ({e}); write e.g. \"100s\", \"15m\", \"1d 14h\""
            ))
        })?;
        Millis::try_from(parsed.as_millis())
            .map(Dur)
            .map_err(|_| serde::de::Error::custom("duration too long"))
    }
}

fn duration_or_never<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Dur>, D::Error> {
    let s = String::deserialize(d)?;
    if s == "never" {
        return Ok(None);
    }
    Dur::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(&s)).map(Some)
}

/// An RFC 3339 timestamp string, e.g. `"2026-11-23T00:00:00Z"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time(pub Millis);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_rfc3339(&s).map(Time).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{s:?} is not an RFC 3339 timestamp; write e.g. \"2026-11-23T00:00:00Z\" (quoted)"
            ))
        })
    }
}

/// The whole scenario. Times of scenario events are offsets from `start`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    /// When the simulation starts (a Monday 00:00 UTC reads best).
    pub start: Time,
    pub duration: Dur,
    /// Number of stream partitions (shards); partition key = product_id.
    #[serde(default = "defaults::partitions")]
    pub partitions: u32,
    /// Records of a partition are delivered up to this much after their event time.
    #[serde(default = "defaults::out_of_orderness")]
    pub out_of_orderness: Dur,
    /// Window of the oracle's per-(product, window) optimal prices.
    #[serde(default = "defaults::oracle_window")]
    pub oracle_window: Dur,
    #[serde(default)]
    pub catalog: CatalogSpec,
    #[serde(default)]
    pub traffic: TrafficSpec,
    #[serde(default)]
    pub funnel: FunnelSpec,
    #[serde(default)]
    pub demand: DemandSpec,
    #[serde(default)]
    pub trend: Vec<TrendSpec>,
    #[serde(default)]
    pub sale: Vec<SaleSpec>,
    #[serde(default)]
    pub faults: FaultSpec,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogSpec {
    /// Load the catalog from this file (.csv/.json/.ndjson, relative to the scenario) instead of generating one.
    pub file: Option<PathBuf>,
    pub products: usize,
    pub brands: Vec<String>,
    pub categories: Vec<String>,
    /// Popularity of the product of rank r (0-based, `sku-0000` first) ∝ 1/(r+1)^s.
    pub zipf_exponent: f64,
    /// Base prices are drawn log-uniformly from this range.
    pub price_range: [f64; 2],
    /// Unit cost as a fraction of base price, drawn uniformly from this range.
    pub cost_ratio: [f64; 2],
    pub map_ratio: f64,
    pub min_ratio: f64,
    pub max_ratio: f64,
    /// Starting stock covers this many days of expected sales...
    pub cover_days: f64,
    /// ...within these bounds.
    pub inventory_range: [i64; 2],
    /// Refill every product to its starting stock this often, or `"never"`.
    #[serde(deserialize_with = "duration_or_never")]
    pub restock_every: Option<Dur>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrafficSpec {
    /// Mean baseline sessions per day (before daily and weekly shape).
    pub sessions_per_day: f64,
    /// 24 hourly multipliers (UTC hours 0–23); normalized to mean 1.
    pub daily_shape: Vec<f64>,
    /// Saturday and Sunday traffic relative to weekdays.
    pub weekend_factor: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FunnelSpec {
    /// view → click (product details).
    pub click_rate: f64,
    /// click → add_to_cart.
    pub cart_rate: f64,
    /// add_to_cart → purchase at the base price and no reference-price effect.
    pub purchase_rate: f64,
    /// A cart that is not bought is emptied (remove_from_cart) with this probability.
    pub remove_rate: f64,
    /// After each product, the session views another with this probability.
    pub browse_rate: f64,
    /// At most this many products per session.
    pub max_products: u32,
    /// Mean pause between a session's events (exponential).
    pub step_mean: Dur,
    /// Share of sessions with a logged-in user.
    pub logged_in: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandModel {
    /// P(buy) = purchase_rate · (price / base)^elasticity, capped.
    Elasticity,
    /// Logit choice against an outside option, with the same rate and elasticity at the base price.
    Logit,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemandSpec {
    pub model: DemandModel,
    /// Price elasticity of regular shoppers (the meta-analysis mean is −2.62).
    pub elasticity: f64,
    /// Cap on the purchase probability however low the price.
    pub max_purchase_prob: f64,
    /// Shoppers compare with the recent price: its EWMA with this half-life.
    pub reference_halflife: Dur,
    /// Extra elasticity against the reference price when above it (losses);
    /// gains (below it) count half. 0 turns the effect off.
    pub reference_sensitivity: f64,
    /// What regular shoppers compare the price with (default: the shop's recent price).
    pub reference: Reference,
}

pub use pipeline::demand::Reference;

/// A lognormal willingness to pay, in multiples of the list price.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wtp {
    /// Median willingness to pay (× list).
    pub median: f64,
    /// Standard deviation of its logarithm.
    pub sigma: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// Offspring delays ~ Exp(mean = decay).
    Exponential,
    /// Offspring delays ~ Lomax(scale = decay, shape = tail): a heavy tail.
    PowerLaw,
}

/// A trend burst: "a celebrity wears SKU X (or brand Y) at `at`".
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendSpec {
    pub label: String,
    /// Offset from the start.
    pub at: Dur,
    /// The product, or…
    pub product: Option<String>,
    /// …every product of a brand (sessions pick among them by popularity).
    pub brand: Option<String>,
    /// Expected number of immigrant sessions of the exogenous shock.
    pub shock: f64,
    /// Immigrants arrive Exp(mean = shock_spread) after `at`.
    #[serde(default = "defaults::shock_spread")]
    pub shock_spread: Dur,
    /// Expected sessions each session triggers (< 1).
    pub branching: f64,
    #[serde(default = "defaults::kernel")]
    pub kernel: Kernel,
    /// Kernel time scale.
    pub decay: Dur,
    /// Power-law tail exponent (> 1).
    #[serde(default = "defaults::tail")]
    pub tail: f64,
    /// Share of offspring delayed by the slow kernel instead (a long tail of
    /// interest: day +2 and +3 keep part of the excess).
    #[serde(default)]
    pub slow_share: f64,
    /// Mean delay of the slow kernel (exponential).
    #[serde(default = "defaults::slow_decay")]
    pub slow_decay: Dur,
    /// Price elasticity of the shoppers the trend brings (fans care less
    /// about price); used when `wtp` is not given.
    #[serde(default = "defaults::trend_elasticity")]
    pub elasticity: f64,
    /// Fans' willingness to pay (× list), replacing `elasticity`.
    #[serde(default)]
    pub wtp: Option<Wtp>,
    /// What fans compare the price with: `"list"` (default: they never saw
    /// the shop's earlier prices), `"shop"`, or a multiple of list.
    #[serde(default = "defaults::trend_reference")]
    pub reference: Reference,
    /// Loss aversion against that reference (0: none, the default).
    #[serde(default)]
    pub reference_sensitivity: f64,
    /// Starting (and restock) stock of each target product: boutiques get
    /// about a size run of a hyped shoe. Default: sized like any product.
    #[serde(default)]
    pub stock: Option<i64>,
}

/// A sale: the shop lowers prices of some products for a while.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleSpec {
    pub label: String,
    pub at: Dur,
    pub length: Dur,
    pub product: Option<String>,
    pub brand: Option<String>,
    /// Every product when neither product nor brand is given.
    /// Fraction off the base price, 0 < discount < 1.
    pub discount: f64,
}

/// Faults injected into the stream; rates are per emitted event.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSpec {
    pub malformed_json: f64,
    pub missing_field: f64,
    pub bad_value: f64,
    pub oversize: f64,
    pub unknown_product: f64,
    /// Re-sent copies of an event (same event_id), shortly after.
    pub duplicate: f64,
    /// Extra events whose time is `late_by` in the past.
    pub late: f64,
    pub late_by: Dur,
    /// Extra events from a wrong clock, `future_by` ahead (same session).
    pub future: f64,
    pub future_by: Dur,
    pub bots: Vec<BotSpec>,
}

/// A bot burst: many views, no purchases.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotSpec {
    pub at: Dur,
    pub length: Dur,
    pub sessions: u32,
    pub views_per_session: u32,
}

mod defaults {
    use super::*;
    use pipeline::time::{MINUTE, SECOND};
    pub fn seed() -> u64 {
        1
    }
    pub fn partitions() -> u32 {
        4
    }
    pub fn out_of_orderness() -> Dur {
        Dur(2 * SECOND)
    }
    pub fn oracle_window() -> Dur {
        Dur(100 * SECOND)
    }
    pub fn shock_spread() -> Dur {
        Dur(30 * MINUTE)
    }
    pub fn kernel() -> Kernel {
        Kernel::Exponential
    }
    pub fn tail() -> f64 {
        1.5
    }
    pub fn trend_elasticity() -> f64 {
        -1.2
    }
    pub fn trend_reference() -> Reference {
        Reference::List
    }
    pub fn slow_decay() -> Dur {
        Dur(DAY)
    }
}

/// Web traffic by hour of day (UTC), calibrated to public page-view data:
/// about 0.23× the hourly mean at 03:00 and about 1.4× from 10:00 to 19:00
/// (the values sum to 24, so they are the multipliers themselves).
pub const DEFAULT_DAILY_SHAPE: [f64; 24] = [
    0.60, 0.42, 0.26, 0.23, 0.25, 0.36, 0.58, 0.82, 1.08, 1.30, 1.38, 1.40, 1.40, 1.40, 1.39, 1.40,
    1.40, 1.39, 1.40, 1.38, 1.30, 1.15, 0.98, 0.73,
];

impl Default for CatalogSpec {
    fn default() -> Self {
        CatalogSpec {
            file: None,
            products: 200,
            brands: [
                "Aerial", "Kestrel", "Northway", "Solstice", "Tern", "Vanta", "Wren", "Zephyr",
            ]
            .map(String::from)
            .to_vec(),
            categories: ["running", "basketball", "lifestyle", "skate", "trail"]
                .map(String::from)
                .to_vec(),
            zipf_exponent: 1.1,
            price_range: [60.0, 240.0],
            cost_ratio: [0.40, 0.55],
            map_ratio: 0.8,
            min_ratio: 0.7,
            max_ratio: 1.6,
            cover_days: 14.0,
            inventory_range: [10, 2_000],
            restock_every: Some(Dur(7 * DAY)),
        }
    }
}

impl Default for TrafficSpec {
    fn default() -> Self {
        TrafficSpec {
            sessions_per_day: 20_000.0,
            daily_shape: DEFAULT_DAILY_SHAPE.to_vec(),
            weekend_factor: 0.8,
        }
    }
}

impl Default for FunnelSpec {
    fn default() -> Self {
        FunnelSpec {
            click_rate: 0.20,
            cart_rate: 0.13,
            purchase_rate: 0.32,
            remove_rate: 0.30,
            browse_rate: 0.35,
            max_products: 6,
            step_mean: Dur(30_000),
            logged_in: 0.3,
        }
    }
}

impl Default for DemandSpec {
    fn default() -> Self {
        DemandSpec {
            model: DemandModel::Elasticity,
            elasticity: -2.62,
            max_purchase_prob: 0.95,
            reference_halflife: Dur(DAY),
            reference_sensitivity: 1.0,
            reference: Reference::Shop,
        }
    }
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            malformed_json: 0.0,
            missing_field: 0.0,
            bad_value: 0.0,
            oversize: 0.0,
            unknown_product: 0.0,
            duplicate: 0.0,
            late: 0.0,
            late_by: Dur(15 * 60_000),
            future: 0.0,
            future_by: Dur(365 * 24 * 3_600_000),
            bots: Vec::new(),
        }
    }
}

/// A scenario that cannot be used: the file, the key (dotted path) and why.
#[derive(Debug, thiserror::Error)]
pub struct ScenarioError {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: `{}`: {}",
                self.file.display(),
                self.key,
                self.message
            )
        }
    }
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: path.to_path_buf(),
            key: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        let mut s = Scenario::parse(&text).map_err(|(key, message)| ScenarioError {
            file: path.to_path_buf(),
            key,
            message,
        })?;
        if let Some(file) = &mut s.catalog.file
            && file.is_relative()
        {
            *file = path.parent().unwrap_or(Path::new(".")).join(&*file);
        }
        Ok(s)
    }

    /// Parses and validates scenario text; errors are (key, message).
    pub fn parse(text: &str) -> Result<Scenario, (String, String)> {
        let located = |e: &toml::de::Error| {
            let line = e
                .span()
                .map(|sp| text[..sp.start.min(text.len())].matches('\n').count() + 1);
            let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            format!("{}{at}", e.message())
        };
        let doc = toml::Deserializer::parse(text).map_err(|e| (String::new(), located(&e)))?;
        // The path names the key of a type error (`invalid type: string "four"`).
        let s: Scenario = serde_path_to_error::deserialize(doc).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            (key, located(e.inner()))
        })?;
        s.validate()?;
        Ok(s)
    }
}
