//! What moto cannot emulate for SageMaker (throttling, 5xx, model errors,
//! malformed bodies), with `aws-smithy-mocks` against the official client.
#![cfg(feature = "sagemaker")]

use std::time::Duration;

use aws_sdk_sagemakerruntime::Client;
use aws_sdk_sagemakerruntime::config::retry::RetryConfig;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::{
    InvokeEndpointError, InvokeEndpointOutput,
};
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::error::ValidationError;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use model::{ContentType, SageMakerConfig, SageMakerModel};
use pipeline::{FeatureRecord, PriceModel};

fn records(n: usize) -> Vec<FeatureRecord> {
    testkit::fixtures::records(n, 100_000)
}

fn model(client: Client, f: impl FnOnce(&mut SageMakerConfig)) -> SageMakerModel {
    let mut config = SageMakerConfig::new("pricing-prod");
    f(&mut config);
    SageMakerModel::with_client(client, config, SageMakerModel::new_runtime().unwrap()).unwrap()
}

fn retrying(
    c: aws_sdk_sagemakerruntime::config::Builder,
) -> aws_sdk_sagemakerruntime::config::Builder {
    c.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

fn ok_body(body: &'static str) -> impl Fn() -> InvokeEndpointOutput + Send + Sync + 'static {
    move || {
        InvokeEndpointOutput::builder()
            .body(Blob::new(body))
            .build()
    }
}

const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

#[test]
fn throttling_is_retried_with_backoff_then_succeeds() {
    let rule = mock!(Client::invoke_endpoint)
        .sequence()
        .http_status(429, Some(THROTTLED.into()))
        .times(2)
        .output(ok_body("1.05\n0.95\n"))
        .build();
    let client = mock_client!(
        aws_sdk_sagemakerruntime,
        RuleMode::Sequential,
        [&rule],
        retrying
    );
    let mut m = model(client, |_| {});
    assert_eq!(m.predict(&records(2)).unwrap(), vec![1.05, 0.95]);
    assert_eq!(rule.num_calls(), 3);
}

#[test]
fn persistent_server_errors_give_up_after_the_attempts_and_say_so() {
    let rule = mock!(Client::invoke_endpoint)
        .sequence()
        .http_status(
            503,
            Some(r#"{"__type":"ServiceUnavailable","Message":"down"}"#.into()),
        )
        .repeatedly()
        .build();
    let client = mock_client!(
        aws_sdk_sagemakerruntime,
        RuleMode::Sequential,
        [&rule],
        retrying
    );
    let err = model(client, |_| {}).predict(&records(1)).unwrap_err();
    assert!(err.retryable, "{err:?}");
    assert!(
        err.message.contains("pricing-prod") && err.message.contains("after retries"),
        "{}",
        err.message
    );
    assert_eq!(rule.num_calls(), 3);
}

#[test]
fn validation_errors_are_not_retried() {
    let rule = mock!(Client::invoke_endpoint).then_error(|| {
        InvokeEndpointError::ValidationError(
            ValidationError::builder().message("bad input").build(),
        )
    });
    let client = mock_client!(
        aws_sdk_sagemakerruntime,
        RuleMode::Sequential,
        [&rule],
        retrying
    );
    let err = model(client, |_| {}).predict(&records(1)).unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("bad input"), "{}", err.message);
    assert_eq!(rule.num_calls(), 1);
}

#[test]
fn a_malformed_response_is_an_error_not_a_guess() {
    let short = mock!(Client::invoke_endpoint).then_output(ok_body("1.05\n"));
    let client = mock_client!(aws_sdk_sagemakerruntime, RuleMode::Sequential, [&short]);
    let err = model(client, |_| {}).predict(&records(2)).unwrap_err();
    assert!(
        err.message.contains("malformed response")
            && err.message.contains("1 values for 2 records"),
        "{}",
        err.message
    );
    let html = mock!(Client::invoke_endpoint).then_output(ok_body("<html>oops</html>"));
    let client = mock_client!(aws_sdk_sagemakerruntime, RuleMode::Sequential, [&html]);
    assert!(
        model(client, |_| {})
            .predict(&records(1))
            .unwrap_err()
            .message
            .contains("not a number")
    );
}

#[test]
fn batches_are_split_to_fit_the_payload_limit() {
    // Answers one prediction per row of each JSON request, and checks its size.
    let rule = mock!(Client::invoke_endpoint)
        .match_requests(|r| r.content_type() == Some("application/json"))
        .then_compute_output(|r| {
            let body: serde_json::Value =
                serde_json::from_slice(r.body().unwrap().as_ref()).unwrap();
            assert!(r.body().unwrap().as_ref().len() <= 500);
            let n = body["instances"].as_array().unwrap().len();
            InvokeEndpointOutput::builder()
                .body(Blob::new(format!("[{}]", vec!["1.0"; n].join(","))))
                .build()
        });
    let client = mock_client!(aws_sdk_sagemakerruntime, RuleMode::MatchAny, [&rule]);
    // A JSON row is 57 bytes here ("[0,0,…]") up to 85 ("[14,14,…]"): 500 bytes hold 5–8.
    let mut m = model(client, |c| {
        c.content_type = ContentType::Json;
        c.max_payload = 500;
    });
    assert_eq!(m.predict(&records(15)).unwrap().len(), 15);
    assert!(
        (2..=4).contains(&rule.num_calls()),
        "{} calls",
        rule.num_calls()
    );
}

#[test]
fn the_feature_contract_is_checked_from_configuration() {
    let rule = mock!(Client::invoke_endpoint).then_output(ok_body("1"));
    let client = mock_client!(aws_sdk_sagemakerruntime, RuleMode::Sequential, [&rule]);
    let mut config = SageMakerConfig::new("pricing-prod");
    config.features.swap(0, 1);
    let err = SageMakerModel::with_client(client, config, SageMakerModel::new_runtime().unwrap())
        .err()
        .expect("refused");
    assert!(
        err.contains("pricing-prod") && err.contains("feature #0 differs"),
        "{err}"
    );
}
