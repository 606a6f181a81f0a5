//! The service configuration: the documented example loads, environment
//! variables override it, and mistakes name the file or variable and the key.

use std::path::PathBuf;

use service::Config;
use service::config::{Backend, StartPosition};

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
    assert_eq!(c.model.backend, Backend::Onnx);
    assert_eq!(c.tables.features, "pricestream-features");
    assert_eq!(c.pipeline_config().window, 100_000);
    assert_eq!(c.guardrails().cooldown, 300_000);
}

#[test]
fn environment_variables_override_the_file() {
    let env = [
        ("PRICESTREAM_STREAM_NAME", "clicks-prod"),
        ("PRICESTREAM_STREAM_SHARDS", "8"),
        ("PRICESTREAM_AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ("PRICESTREAM_MODEL_BACKEND", "sagemaker"),
        ("PRICESTREAM_MODEL_ENDPOINT", "pricing-prod"),
        ("PRICESTREAM_PIPELINE_WINDOW", "60s"),
        ("UNRELATED", "ignored"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let c = Config::load(&example(), env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.stream.name, "clicks-prod");
    assert_eq!(c.stream.shards, 8);
    assert_eq!(c.aws.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
    assert_eq!(c.model.backend, Backend::Sagemaker);
    assert_eq!(c.pipeline_config().window, 60_000);
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
        msg.contains("`model.endpoint`") && msg.contains("required"),
        "{msg}"
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
