//! The CloudFormation template in deploy/ declares what `aws init` creates
//! (same stream, tables, keys and streams, for the example configuration's
//! names) and wires the Lambda pricer the way its handler expects.
#![cfg(feature = "aws")]

use std::path::Path;

use serde_json::Value;
use service::aws::table_specs;

fn deploy(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file)
}

/// `{"Fn::Sub": "${Prefix}-x"}` with the default prefix.
fn name(v: &Value) -> String {
    v["Fn::Sub"]
        .as_str()
        .unwrap_or_default()
        .replace("${Prefix}", "pricestream")
}

#[test]
fn the_template_declares_the_tables_and_stream_aws_init_creates() {
    let config = service::Config::load(&deploy("pricestream.example.toml"), Vec::new()).unwrap();
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("pricestream.template.json")).unwrap(),
    )
    .unwrap();
    let resources = template["Resources"].as_object().unwrap();
    let of_type = |t: &str| {
        resources
            .values()
            .filter(|r| r["Type"] == t)
            .map(|r| &r["Properties"])
            .collect::<Vec<_>>()
    };
    let streams = of_type("AWS::Kinesis::Stream");
    assert_eq!(streams.len(), 1);
    assert_eq!(name(&streams[0]["Name"]), config.stream.name);

    let tables = of_type("AWS::DynamoDB::Table");
    let specs = table_specs(&config);
    assert_eq!(tables.len(), specs.len());
    for spec in specs {
        let table = tables
            .iter()
            .find(|t| name(&t["TableName"]) == spec.name)
            .unwrap_or_else(|| panic!("{} is not in the template", spec.name));
        let keys: Vec<(String, String, String)> = table["KeySchema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let attr = k["AttributeName"].as_str().unwrap();
                let ty = table["AttributeDefinitions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["AttributeName"] == attr)
                    .unwrap()["AttributeType"]
                    .as_str()
                    .unwrap();
                (
                    attr.into(),
                    ty.into(),
                    k["KeyType"].as_str().unwrap().into(),
                )
            })
            .collect();
        let mut expected = vec![(
            spec.hash.0.to_string(),
            spec.hash.1.as_str().to_string(),
            "HASH".to_string(),
        )];
        if let Some((attr, ty)) = &spec.range {
            expected.push((attr.to_string(), ty.as_str().to_string(), "RANGE".into()));
        }
        assert_eq!(keys, expected, "{}", spec.name);
        let view = table["StreamSpecification"]["StreamViewType"].as_str();
        assert_eq!(view, spec.stream.then_some("NEW_IMAGE"), "{}", spec.name);
    }

    // The Lambda pricer: per-record failures, in order per shard, failures kept.
    let mappings = of_type("AWS::Lambda::EventSourceMapping");
    assert_eq!(mappings.len(), 1);
    let m = mappings[0];
    assert_eq!(m["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert_eq!(m["ParallelizationFactor"], 1);
    assert_eq!(m["EventSourceArn"]["Fn::GetAtt"][0], "FeaturesTable");
    assert!(m["DestinationConfig"]["OnFailure"]["Destination"].is_object());
}
