//! AWS clients and `pricestream aws init`: the Kinesis stream and the
//! DynamoDB tables, created idempotently, and an optional catalog load.
//! Mainly for emulators and first trials; production uses `deploy/`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes,
    PutRequest, ScalarAttributeType, StreamSpecification, StreamViewType, WriteRequest,
};

use crate::config::Config;
use crate::error::{Error, Fault};
use crate::items::Codec;
use aws_sdk_dynamodb::config::http::HttpResponse;

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
    ) -> Result<Aws, Error> {
        let runtime = awsclient::runtime().map_err(Error::internal)?;
        let streams = aws_sdk_dynamodbstreams::Client::from_conf(
            aws_sdk_dynamodbstreams::Config::builder()
                .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
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
    /// `aws.endpoint_url` (or `AWS_ENDPOINT_URL`) for emulators. Built by
    /// the project's one client setup (`awsclient`), as SageMaker's is.
    pub fn connect(config: &Config) -> Result<Aws, Error> {
        let runtime = awsclient::runtime().map_err(Error::internal)?;
        let options = awsclient::ClientOptions {
            endpoint_url: config.aws.endpoint_url.clone(),
            ..awsclient::ClientOptions::default()
        };
        let sdk = awsclient::load(&runtime, &options).map_err(Error::user)?;
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
pub fn init(aws: &Aws, config: &Config, catalog: Option<&Path>) -> Result<InitReport, Error> {
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
        Err(e) => return Err(Error::aws(format!("creating Kinesis stream {stream}"), &e)),
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
        let items = pipeline::adapters::files::read_catalog_items(path).map_err(Error::user)?;
        put_items(
            aws,
            &config.tables.catalog,
            items.iter().map(Codec::to_item).collect(),
        )?;
        report.catalog_items = items.len();
    }
    Ok(report)
}

fn attr(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, Error> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(Error::internal)
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, Error> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(Error::internal)
}

/// `true` when created, `false` when it already existed.
fn create_table(aws: &Aws, spec: &TableSpec<'_>) -> Result<bool, Error> {
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
            .map_err(Error::internal)?;
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
        Err(e) => Err(Error::aws(format!("creating table {}", spec.name), &e)),
    }
}

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Every item of a table (Scan, following the pages).
pub fn scan_all(aws: &Aws, table: &str) -> Result<Vec<Item>, Error> {
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
            .map_err(|e| Error::aws(format!("reading {table}"), &e))?;
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return Ok(items),
        }
    }
}

/// A conditional write's result: `Ok(true)` written, `Ok(false)` when its
/// condition failed (not an error), `Err` for anything else.
pub fn conditional<O, E>(
    result: Result<O, aws_sdk_dynamodb::error::SdkError<E, HttpResponse>>,
    what: impl FnOnce() -> String,
) -> Result<bool, Error>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match result.map_err(|e| Error::aws(what(), &e)) {
        Ok(_) => Ok(true),
        Err(e) if e.fault() == Some(Fault::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Puts items with BatchWriteItem (see [`write_requests`]).
pub fn put_items(
    aws: &Aws,
    table: &str,
    items: Vec<HashMap<String, AttributeValue>>,
) -> Result<(), Error> {
    let requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|p| WriteRequest::builder().put_request(p).build())
                .map_err(Error::internal)
        })
        .collect::<Result<_, _>>()?;
    write_requests(aws, table, requests)
}

/// BatchWriteItem in chunks of 25 (the DynamoDB limit), retrying
/// UnprocessedItems with exponential backoff.
pub fn write_requests(aws: &Aws, table: &str, requests: Vec<WriteRequest>) -> Result<(), Error> {
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
                .map_err(|e| Error::aws(format!("writing to {table}"), &e))?;
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
pub fn batch_get(aws: &Aws, table: &str, keys: Vec<Item>) -> Result<Vec<Item>, Error> {
    let mut out = Vec::new();
    for chunk in keys.chunks(100) {
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(Error::internal)?,
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
                .map_err(|e| Error::aws(format!("reading {table}"), &e))?;
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
fn pause_for_unprocessed(attempt: &mut u32, what: impl Fn() -> String) -> Result<(), Error> {
    *attempt += 1;
    if *attempt > 8 {
        return Err(Error::external(
            true,
            format!("{} still unprocessed after {attempt} attempts", what()),
        ));
    }
    std::thread::sleep(Duration::from_millis(50 << (*attempt).min(6)));
    Ok(())
}
