//! AWS clients and `pricestream aws init`: the Kinesis stream and the
//! DynamoDB tables, created idempotently, and an optional catalog load.
//! Mainly for emulators and first trials; production uses `deploy/`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes,
    PutRequest, ScalarAttributeType, StreamSpecification, StreamViewType, WriteRequest,
};
use aws_smithy_http_client::tls;

use crate::config::Config;
use crate::items::Codec;

/// Clients for the service's AWS resources, with a runtime to drive them.
pub struct Aws {
    pub kinesis: aws_sdk_kinesis::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// DynamoDB Streams (the features table's stream feeds the pricer).
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub runtime: tokio::runtime::Runtime,
}

impl Aws {
    /// From ready-made clients (e.g. mocked ones), with a runtime to drive them.
    pub fn from_clients(
        kinesis: aws_sdk_kinesis::Client,
        dynamodb: aws_sdk_dynamodb::Client,
    ) -> Result<Aws, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let streams = aws_sdk_dynamodbstreams::Client::from_conf(
            aws_sdk_dynamodbstreams::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .build(),
        );
        Ok(Aws {
            kinesis,
            dynamodb,
            streams,
            runtime,
        })
    }

    /// Replaces the DynamoDB Streams client (mocked ones in tests).
    pub fn with_streams(mut self, streams: aws_sdk_dynamodbstreams::Client) -> Aws {
        self.streams = streams;
        self
    }

    /// Credentials and region from the default chain; the config's
    /// `aws.endpoint_url` (or `AWS_ENDPOINT_URL`) for emulators.
    pub fn connect(config: &Config) -> Result<Aws, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .retry_config(RetryConfig::standard().with_max_attempts(4));
        if let Some(url) = &config.aws.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = runtime.block_on(loader.load());
        if sdk.region().is_none() {
            return Err("no AWS region: set AWS_REGION (or a profile region)".into());
        }
        Ok(Aws {
            kinesis: aws_sdk_kinesis::Client::new(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
            runtime,
        })
    }
}

/// What `init` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitReport {
    pub created: Vec<String>,
    pub existing: Vec<String>,
    pub catalog_items: usize,
}

/// A table's keys: (partition key, sort key), both with their types, and
/// whether it has a stream (NEW_IMAGE).
#[derive(Clone, Debug, PartialEq)]
pub struct TableSpec<'a> {
    pub name: &'a str,
    pub hash: (&'a str, ScalarAttributeType),
    pub range: Option<(&'a str, ScalarAttributeType)>,
    pub stream: bool,
}

/// The service's tables (`deploy/pricestream.template.json` declares the same).
pub fn table_specs(config: &Config) -> Vec<TableSpec<'_>> {
    use ScalarAttributeType::{N, S};
    let t = &config.tables;
    vec![
        TableSpec {
            name: &t.catalog,
            hash: ("product_id", S),
            range: None,
            stream: true,
        },
        TableSpec {
            name: &t.orders,
            hash: ("product_id", S),
            range: Some(("sk", S)),
            stream: false,
        },
        TableSpec {
            name: &t.features,
            hash: ("product_id", S),
            range: Some(("window_end", N)),
            stream: true,
        },
        TableSpec {
            name: &t.checkpoints,
            hash: ("shard_id", S),
            range: None,
            stream: false,
        },
        TableSpec {
            name: &t.audit,
            hash: ("product_id", S),
            range: Some(("window_end", N)),
            stream: false,
        },
        TableSpec {
            name: &t.dead_letters,
            hash: ("partition", S),
            range: Some(("position", S)),
            stream: false,
        },
    ]
}

/// Creates the stream and tables that do not exist yet, then loads `catalog`.
pub fn init(aws: &Aws, config: &Config, catalog: Option<&Path>) -> Result<InitReport, String> {
    let mut report = InitReport::default();
    let rt = &aws.runtime;
    let stream = &config.stream.name;
    let created = rt.block_on(
        aws.kinesis
            .create_stream()
            .stream_name(stream)
            .shard_count(config.stream.shards as i32)
            .send(),
    );
    match created {
        Ok(_) => report.created.push(format!("kinesis stream {stream}")),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            report.existing.push(format!("kinesis stream {stream}"))
        }
        Err(e) => {
            return Err(format!(
                "creating Kinesis stream {stream}: {}",
                aws_sdk_kinesis::error::DisplayErrorContext(&e)
            ));
        }
    }
    for spec in table_specs(config) {
        let name = format!("dynamodb table {}", spec.name);
        if create_table(aws, &spec)? {
            report.created.push(name);
        } else {
            report.existing.push(name);
        }
    }
    if let Some(path) = catalog {
        let items =
            pipeline::adapters::files::read_catalog_items(path).map_err(|e| e.to_string())?;
        put_items(
            aws,
            &config.tables.catalog,
            items.iter().map(Codec::to_item).collect(),
        )?;
        report.catalog_items = items.len();
    }
    Ok(report)
}

fn attr(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(|e| e.to_string())
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, String> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| e.to_string())
}

/// `true` when created, `false` when it already existed.
fn create_table(aws: &Aws, spec: &TableSpec<'_>) -> Result<bool, String> {
    let mut req = aws
        .dynamodb
        .create_table()
        .table_name(spec.name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(spec.hash.0, spec.hash.1.clone())?)
        .key_schema(key(spec.hash.0, KeyType::Hash)?);
    if let Some((name, kind)) = &spec.range {
        req = req
            .attribute_definitions(attr(name, kind.clone())?)
            .key_schema(key(name, KeyType::Range)?);
    }
    if spec.stream {
        let stream = StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::NewImage)
            .build()
            .map_err(|e| e.to_string())?;
        req = req.stream_specification(stream);
    }
    match aws.runtime.block_on(req.send()) {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(format!(
            "creating table {}: {}",
            spec.name,
            aws_sdk_dynamodb::error::DisplayErrorContext(&e)
        )),
    }
}

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Every item of a table (Scan, following the pages).
pub fn scan_all(aws: &Aws, table: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = aws
            .runtime
            .block_on(
                aws.dynamodb
                    .scan()
                    .table_name(table)
                    .set_exclusive_start_key(start.take())
                    .send(),
            )
            .map_err(|e| {
                format!(
                    "reading {table}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            })?;
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(items),
        }
    }
}

/// A conditional write's result: `Ok(true)` written, `Ok(false)` when its
/// condition failed (not an error), `Err` for anything else.
pub fn conditional<O, E, R>(
    result: Result<O, aws_sdk_dynamodb::error::SdkError<E, R>>,
    what: impl FnOnce() -> String,
) -> Result<bool, String>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(|s| s.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(format!(
            "{}: {}",
            what(),
            aws_sdk_dynamodb::error::DisplayErrorContext(&e)
        )),
    }
}

/// Puts items with BatchWriteItem (see [`write_requests`]).
pub fn put_items(
    aws: &Aws,
    table: &str,
    items: Vec<HashMap<String, AttributeValue>>,
) -> Result<(), String> {
    let requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|p| WriteRequest::builder().put_request(p).build())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    write_requests(aws, table, requests)
}

/// BatchWriteItem in chunks of 25 (the DynamoDB limit), retrying
/// UnprocessedItems with exponential backoff.
pub fn write_requests(aws: &Aws, table: &str, requests: Vec<WriteRequest>) -> Result<(), String> {
    for chunk in requests.chunks(25) {
        let mut pending = HashMap::from([(table.to_string(), chunk.to_vec())]);
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let out = aws
                .runtime
                .block_on(
                    aws.dynamodb
                        .batch_write_item()
                        .set_request_items(Some(pending))
                        .send(),
                )
                .map_err(|e| {
                    format!(
                        "writing to {table}: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                    )
                })?;
            pending = out
                .unprocessed_items
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .collect();
            if !pending.is_empty() {
                pause_for_unprocessed(&mut attempt, || format!("writing to {table}: items"))?;
            }
        }
    }
    Ok(())
}

/// Reads items by key with BatchGetItem (≤ 100 keys per call, strongly
/// consistent), retrying UnprocessedKeys with backoff. Missing keys are absent.
pub fn batch_get(aws: &Aws, table: &str, keys: Vec<Item>) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for chunk in keys.chunks(100) {
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(|e| e.to_string())?,
        );
        let mut attempt = 0u32;
        while let Some(keys) = pending.take() {
            let page = aws
                .runtime
                .block_on(
                    aws.dynamodb
                        .batch_get_item()
                        .request_items(table, keys)
                        .send(),
                )
                .map_err(|e| {
                    format!(
                        "reading {table}: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                    )
                })?;
            if let Some(items) = page.responses.and_then(|mut r| r.remove(table)) {
                out.extend(items);
            }
            pending = page
                .unprocessed_keys
                .and_then(|mut u| u.remove(table))
                .filter(|k| !k.keys().is_empty());
            if pending.is_some() {
                pause_for_unprocessed(&mut attempt, || format!("reading {table}: keys"))?;
            }
        }
    }
    Ok(out)
}

/// Exponential backoff before resending what DynamoDB left unprocessed
/// (throttling); gives up after 8 attempts.
fn pause_for_unprocessed(attempt: &mut u32, what: impl Fn() -> String) -> Result<(), String> {
    *attempt += 1;
    if *attempt > 8 {
        return Err(format!(
            "{} still unprocessed after {attempt} attempts",
            what()
        ));
    }
    std::thread::sleep(Duration::from_millis(50 << (*attempt).min(6)));
    Ok(())
}
