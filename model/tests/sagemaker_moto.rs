//! The SageMaker backend end to end over HTTP, against moto's server on
//! loopback (canned endpoint answers), reached through the configured
//! `endpoint_url`.
#![cfg(feature = "sagemaker")]

use model::{ContentType, SageMakerConfig, SageMakerModel};
use pipeline::{FeatureRecord, PriceModel};

fn records(n: usize) -> Vec<FeatureRecord> {
    testkit::fixtures::records(n, 100_000)
}

#[test]
fn invoke_endpoint_through_moto_in_csv_and_json() {
    let moto = testkit::moto::Moto::start();
    let url = moto.url.clone();
    // SAFETY: the only test in this binary; set before any SDK code reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    moto.reset();
    let results = r#"{"results":[
        {"Body":"1.05\n0.95\n1.2\n","ContentType":"text/csv","InvokedProductionVariant":"AllTraffic"},
        {"Body":"{\"predictions\":[0.9,1.1]}","ContentType":"application/json","InvokedProductionVariant":"AllTraffic"}]}"#;
    let answer = moto.http(
        "POST",
        "/moto-api/static/sagemaker/endpoint-results",
        results,
    );
    assert!(answer.starts_with("HTTP/1.1 20"), "{answer}");

    // The endpoint comes from the configuration (`aws.endpoint_url`), not the
    // environment: the override reaches SageMaker as it reaches the service.
    let mut config = SageMakerConfig::new("pricing-prod");
    config.endpoint_url = Some(url);
    config.max_attempts = 1;
    let mut csv = SageMakerModel::connect(config.clone()).unwrap();
    assert_eq!(csv.version(), "sagemaker:pricing-prod");
    assert_eq!(csv.predict(&records(3)).unwrap(), vec![1.05, 0.95, 1.2]);

    config.content_type = ContentType::Json;
    let mut json = SageMakerModel::connect(config).unwrap();
    assert_eq!(json.predict(&records(2)).unwrap(), vec![0.9, 1.1]);
}
