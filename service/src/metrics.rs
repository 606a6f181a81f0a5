//! Prometheus metrics of `serve` and the pricer, served as text on `/metrics`.

use crate::error::Error;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

fn label(key: &str, value: &str) -> Labels {
    vec![(key.to_string(), value.to_string())]
}

/// Every metric; clones share the same values.
#[derive(Clone)]
pub struct Metrics {
    pub events_in: Counter,
    dead_letters: Family<Labels, Counter>,
    pub windows_closed: Counter,
    pub feature_records: Counter,
    pub watermark_lag_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    millis_behind_latest: Family<Labels, Gauge>,
    pub model_latency_seconds: Histogram,
    decisions: Family<Labels, Counter>,
    pub price_changes: Counter,
    aws_errors: Family<Labels, Counter>,
    pub settle_timeouts: Counter,
    pub checkpoints: Counter,
    pub leases_held: Gauge,
    pub records_waiting: Gauge,
    pub pricer_active: Gauge,
    pub unreadable_features: Counter,
    registry: Arc<Mutex<Registry>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let m = Metrics {
            events_in: Counter::default(),
            dead_letters: Family::default(),
            windows_closed: Counter::default(),
            feature_records: Counter::default(),
            watermark_lag_seconds: Gauge::default(),
            millis_behind_latest: Family::default(),
            model_latency_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 18)),
            decisions: Family::default(),
            price_changes: Counter::default(),
            aws_errors: Family::default(),
            settle_timeouts: Counter::default(),
            checkpoints: Counter::default(),
            leases_held: Gauge::default(),
            records_waiting: Gauge::default(),
            pricer_active: Gauge::default(),
            unreadable_features: Counter::default(),
            registry: Arc::new(Mutex::new(Registry::with_prefix("pricestream"))),
        };
        if let Ok(mut r) = m.registry.lock() {
            r.register(
                "events_in",
                "Kinesis records received (KPL sub-records counted one by one)",
                m.events_in.clone(),
            );
            r.register(
                "dead_letters",
                "Records dead-lettered, by reason",
                m.dead_letters.clone(),
            );
            r.register("windows_closed", "Windows closed", m.windows_closed.clone());
            r.register(
                "feature_records",
                "Feature records written",
                m.feature_records.clone(),
            );
            r.register(
                "watermark_lag_seconds",
                "Wall clock minus the event-time watermark",
                m.watermark_lag_seconds.clone(),
            );
            r.register(
                "millis_behind_latest",
                "Kinesis MillisBehindLatest, by shard",
                m.millis_behind_latest.clone(),
            );
            r.register(
                "model_latency_seconds",
                "Model call latency per batch",
                m.model_latency_seconds.clone(),
            );
            r.register(
                "decisions",
                "Pricer decisions, by rule",
                m.decisions.clone(),
            );
            r.register(
                "price_changes",
                "Price changes applied to the catalog",
                m.price_changes.clone(),
            );
            r.register(
                "aws_errors",
                "AWS call failures, by kind",
                m.aws_errors.clone(),
            );
            r.register(
                "settle_timeouts",
                "Windows closed before the previous window's decisions arrived",
                m.settle_timeouts.clone(),
            );
            r.register(
                "checkpoints",
                "Shard checkpoints written",
                m.checkpoints.clone(),
            );
            r.register(
                "leases_held",
                "Shard leases this worker holds",
                m.leases_held.clone(),
            );
            r.register(
                "records_waiting",
                "Records read ahead of the other shards in event time, waiting for them (at most one batch per shard)",
                m.records_waiting.clone(),
            );
            r.register(
                "pricer_active",
                "1 while this replica's in-process pricer holds the pricer lease (one replica prices at a time)",
                m.pricer_active.clone(),
            );
            r.register(
                "unreadable_features",
                "Items on the features stream the pricer could not read (logged with the reason)",
                m.unreadable_features.clone(),
            );
        }
        m
    }

    pub fn dead_letter(&self, reason: &str) {
        self.dead_letters
            .get_or_create(&label("reason", reason))
            .inc();
    }

    pub fn behind(&self, shard: &str, millis: i64) {
        self.millis_behind_latest
            .get_or_create(&label("shard", shard))
            .set(millis);
    }

    pub fn decision(&self, rule: &str) {
        self.decisions.get_or_create(&label("rule", rule)).inc();
    }

    /// Counts a failed AWS call; `kind` names the API (e.g. `GetRecords`).
    pub fn aws_error(&self, kind: &str) {
        self.aws_errors.get_or_create(&label("kind", kind)).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(r) = self.registry.lock() {
            // Writing to a String cannot fail.
            let _ = encode(&mut out, &r);
        }
        out
    }
}

/// The `/metrics` endpoint on its own thread.
pub struct Endpoint {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    pub address: String,
}

impl Endpoint {
    /// Listens on `address` (`host:port`; port 0 picks one).
    pub fn start(address: &str, metrics: Metrics) -> Result<Endpoint, Error> {
        let server = tiny_http::Server::http(address)
            .map(Arc::new)
            .map_err(|e| Error::user(format!("cannot listen for /metrics on {address}: {e}")))?;
        let bound = server
            .server_addr()
            .to_ip()
            .map_or_else(|| address.to_string(), |a| a.to_string());
        // Logged as well as printed: with --tui the log is where it can be read.
        tracing::info!(address = %bound, "metrics on http://{bound}/metrics");
        let s = server.clone();
        let thread = std::thread::spawn(move || {
            for request in s.incoming_requests() {
                let response = if request.url() == "/metrics" {
                    let header = tiny_http::Header::from_bytes(
                        "Content-Type",
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )
                    .ok();
                    let mut r = tiny_http::Response::from_string(metrics.render());
                    if let Some(h) = header {
                        r.add_header(h);
                    }
                    r
                } else {
                    tiny_http::Response::from_string("see /metrics\n").with_status_code(404)
                };
                let _ = request.respond(response);
            }
        });
        Ok(Endpoint {
            server,
            thread: Some(thread),
            address: bound,
        })
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
