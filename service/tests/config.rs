//! The service configuration: the documented example loads, environment
//! variables override it, and mistakes name the file or variable and the key.

use std::path::PathBuf;

use model::ModelSpec;
use service::Config;
use service::config::StartPosition;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/pricestream.example.toml")
}

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

#[test]
fn the_documented_example_loads() {
    let c = Config::load(&example(), no_env()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.stream.name, "pricestream-clicks");
    assert_eq!(c.stream.start_position, StartPosition::TrimHorizon);
    assert_eq!(c.stream.poll_interval.0, 250);
    assert!(matches!(c.model, ModelSpec::Onnx { threads: 1, .. }));
    assert_eq!(c.tables.features, "pricestream-features");
    // The core's and the pricer's own types, defaults from their `Default`.
    assert_eq!(c.pipeline.window, 100_000);
    assert_eq!(
        c.pipeline.max_future_skew,
        Some(300_000),
        "the example sets 5m"
    );
    assert_eq!(c.guardrails.cooldown, 300_000);
    assert_eq!(c.guardrails, pipeline::Guardrails::default());
    assert_eq!(c.refresh(), (60_000, 30_000));
}

#[test]
fn environment_variables_override_the_file() {
    let env = [
        ("PRICESTREAM_STREAM_NAME", "clicks-prod"),
        ("PRICESTREAM_STREAM_SHARDS", "8"),
        ("PRICESTREAM_AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ("PRICESTREAM_MODEL_THREADS", "4"),
        ("PRICESTREAM_CACHES_CATALOG_REFRESH", "1s"),
        ("PRICESTREAM_PIPELINE_WINDOW", "60s"),
        ("UNRELATED", "ignored"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let c = Config::load(&example(), env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.stream.name, "clicks-prod");
    assert_eq!(c.stream.shards, 8);
    assert_eq!(c.aws.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
    assert!(matches!(c.model, ModelSpec::Onnx { threads: 4, .. }));
    assert_eq!(c.pipeline.window, 60_000);
    assert_eq!(c.refresh().0, 1_000);
}

fn error(edit: impl Fn(String) -> String, env: &[(&str, &str)]) -> String {
    let text = edit(std::fs::read_to_string(example()).unwrap());
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::parse(&text, "svc.toml", env)
        .expect_err("refused")
        .to_string()
}

#[test]
fn mistakes_name_the_file_or_variable_and_the_key() {
    let msg = error(
        |t| t.replace("shards = 4", "shards = 4\nshard_count = 2"),
        &[],
    );
    assert!(
        msg.starts_with("svc.toml:")
            && msg.contains("unknown field `shard_count`")
            && msg.contains("shards"),
        "{msg}"
    );
    let msg = error(
        |t| t.replace("poll_interval = \"250ms\"", "poll_interval = \"50ms\""),
        &[],
    );
    assert!(
        msg.contains("`stream.poll_interval`") && msg.contains("5 GetRecords"),
        "{msg}"
    );
    let msg = error(
        |t| t.replace("poll_interval = \"250ms\"", "poll_interval = \"soon\""),
        &[],
    );
    assert!(msg.contains("\"soon\" is not a duration"), "{msg}");
    let msg = error(|t| t.replace("window = \"100s\"", "window = \"2h\""), &[]);
    assert!(msg.contains("`pipeline.window`"), "{msg}");
    let msg = error(|t| t.replace("max_step = 0.10", "max_step = 3.0"), &[]);
    assert!(msg.contains("`guardrails.max_step`"), "{msg}");
    let msg = error(|t| t, &[("PRICESTREAM_MODEL_BACKEND", "sagemaker")]);
    assert!(
        msg.contains("`model`") && msg.contains("unknown field `path`"),
        "a key of another backend is refused: {msg}"
    );
    let msg = error(
        |t| t.replace("path = \"model/pricing.onnx\"", "endpoint = \"p\""),
        &[],
    );
    assert!(
        msg.contains("`model`") && msg.contains("path"),
        "the onnx backend needs its file: {msg}"
    );
    let msg = error(
        |t| t,
        &[("PRICESTREAM_PIPELINE_DEDUP_CAPACITY", "\"many\"")],
    );
    assert!(
        msg.contains("`pipeline.dedup_capacity`") && msg.contains("invalid type"),
        "type errors name the key: {msg}"
    );
    // Inside the tagged model section serde names the section only.
    let msg = error(|t| t, &[("PRICESTREAM_MODEL_THREADS", "\"four\"")]);
    assert!(msg.contains("`model`") && msg.contains("\"four\""), "{msg}");
    let msg = error(
        |t| t.replace("window = \"100s\"", "lateness = \"0s\"\nwindow = \"100s\""),
        &[],
    );
    assert!(
        msg.contains("`pipeline.lateness`")
            && msg.contains("unknown field `lateness`")
            && msg.contains("allowed_lateness"),
        "one name per key: {msg}"
    );
    let msg = error(|t| t, &[("PRICESTREAM_STREEM_NAME", "x")]);
    assert!(
        msg.starts_with("PRICESTREAM_STREEM_NAME:") && msg.contains("unknown section"),
        "{msg}"
    );
    let msg = error(
        |t| {
            t.replace(
                "start_position = \"trim_horizon\"",
                "start_position = \"at_timestamp\"",
            )
        },
        &[],
    );
    assert!(msg.contains("`stream.start_timestamp`"), "{msg}");
    let msg = error(
        |t| t.replace("address = \"127.0.0.1:9898\"", "address = \"localhost\""),
        &[],
    );
    assert!(msg.contains("`metrics.address`"), "{msg}");
}

#[test]
fn type_errors_in_the_file_name_the_key_and_its_line() {
    let text = std::fs::read_to_string(example()).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("shards = 4"))
        .unwrap()
        + 1;
    let msg = error(|t| t.replace("shards = 4", "shards = \"four\""), &[]);
    assert!(
        msg.contains("`stream.shards`")
            && msg.contains("invalid type")
            && msg.contains(&format!("(line {line})")),
        "{msg}"
    );
}

#[test]
fn endpoint_urls_are_checked_at_load() {
    for bad in ["not a url", "ftp://127.0.0.1:5000", "http://"] {
        let msg = error(
            |t| t,
            &[("PRICESTREAM_AWS_ENDPOINT_URL", &format!("\"{bad}\""))],
        );
        assert!(
            msg.contains("`aws.endpoint_url`") && msg.len() < 300,
            "{bad}: {msg}"
        );
    }
    let env = [(
        "PRICESTREAM_AWS_ENDPOINT_URL".to_string(),
        "\"http://127.0.0.1:5000\"".to_string(),
    )];
    let text = std::fs::read_to_string(example()).unwrap();
    assert!(Config::parse(&text, "svc.toml", env).is_ok());
}
