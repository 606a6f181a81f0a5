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

#[test]
fn the_ecs_service_runs_serve_replicas_with_the_serve_policy_and_scales_on_lag() {
    let template: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("pricestream.template.json")).unwrap(),
    )
    .unwrap();
    let r = &template["Resources"];
    let container = &r["ServeTask"]["Properties"]["ContainerDefinitions"][0];
    // The task role is the least-privilege serve policy, nothing more.
    let task_role = r["ServeTask"]["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    let policies = &r[task_role]["Properties"]["ManagedPolicyArns"];
    assert_eq!(policies, &serde_json::json!([{"Ref": "ServePolicy"}]));
    assert!(r[task_role]["Properties"]["Policies"].is_null());

    // The environment the template sets is a valid configuration override
    // naming the template's stream and tables; the Lambda prices.
    let env: Vec<(String, String)> = container["Environment"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["Name"].as_str().unwrap().starts_with("PRICESTREAM_"))
        .map(|e| {
            let v = &e["Value"];
            let value = v.as_str().map_or_else(|| name(v), str::to_string);
            (e["Name"].as_str().unwrap().to_string(), value)
        })
        .collect();
    let config = service::Config::load(&deploy("pricestream.example.toml"), env).unwrap();
    assert_eq!(config.pricer.mode, service::config::PricerMode::External);
    assert_eq!(config.metrics.address, "0.0.0.0:9898");
    let resources = template["Resources"].as_object().unwrap();
    let named = |n: &str| {
        resources.values().any(|r| {
            name(&r["Properties"]["TableName"]) == n || name(&r["Properties"]["Name"]) == n
        })
    };
    assert!(named(&config.stream.name), "{}", config.stream.name);
    for t in table_specs(&config) {
        assert!(named(t.name), "{} is not a table of the template", t.name);
    }

    // Health from /metrics on the port the metrics listen on; a clean stop
    // (SIGTERM: checkpoint, release the leases) gets time.
    let health = container["HealthCheck"]["Command"].to_string();
    assert!(health.contains("/dev/tcp/127.0.0.1/9898") && health.contains("GET /metrics"));
    assert!(container["StopTimeout"].as_u64().unwrap() >= 30);

    // Scaled between 1 and one replica per shard on the stream's iterator age.
    let target = &r["ServeScaling"]["Properties"];
    assert_eq!(
        target["MaxCapacity"],
        serde_json::json!({"Ref": "ShardCount"})
    );
    assert_eq!(target["MinCapacity"], 1);
    let metric = &r["ServeScalingPolicy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        ["CustomizedMetricSpecification"];
    assert_eq!(metric["MetricName"], "GetRecords.IteratorAgeMilliseconds");
    assert_eq!(
        metric["Dimensions"][0]["Value"],
        serde_json::json!({"Ref": "ClickStream"})
    );
}
