//! `pricestream produce`: the simulator as a load generator into a real
//! Kinesis stream (partition key = product id), its orders into the orders
//! table. PutRecords batches stay within 500 records and 5 MB; after a
//! partial failure only the failed records are sent again, with backoff.

use crate::error::Error;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use pipeline::Millis;
use sim::Simulator;
use sim::shop::Shop;

use crate::aws::{Aws, put_items};
use crate::config::Config;
use crate::items::Codec;

/// PutRecords limits.
pub const MAX_RECORDS: usize = 500;
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
const MAX_ATTEMPTS: u32 = 8;

/// How fast to send.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Simulated time per wall time (60 = an hour a minute).
    Speed(f64),
    /// Records per wall second.
    Rate(f64),
    /// As fast as the stream takes them.
    Max,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProduceReport {
    pub records: u64,
    pub put_calls: u64,
    /// Records sent again after a partial failure.
    pub retried: u64,
    pub orders: u64,
}

/// The partition key of a record: its product id, or (for a record too
/// damaged to name one) the simulator's partition.
fn partition_key(bytes: &[u8], partition: u32) -> String {
    match pipeline::decode(bytes) {
        Ok(ev) => ev.product_id.into_owned(),
        Err(_) => format!("partition-{partition}"),
    }
}

/// Runs the scenario to its end, sending every record.
pub fn produce(
    aws: &Aws,
    config: &Config,
    mut sim: Simulator,
    mut shop: Shop,
    pace: Pace,
) -> Result<ProduceReport, Error> {
    let mut report = ProduceReport::default();
    let started = Instant::now();
    let sim_start = sim.clock();
    let mut sent_orders = 0usize;
    while !sim.is_done() {
        let mut batch: Vec<(String, Vec<u8>)> = Vec::new();
        let until = sim.clock() + 1_000;
        sim.run_until(until, &mut shop, &mut |p: u32, _: Millis, b: &[u8]| {
            batch.push((partition_key(b, p), b.to_vec()))
        });
        if sim.is_done() {
            sim.finish(&mut shop, &mut |p: u32, _: Millis, b: &[u8]| {
                batch.push((partition_key(b, p), b.to_vec()))
            });
        }
        put_records(aws, &config.stream.name, batch, &mut report)?;
        let orders = &shop.orders()[sent_orders..];
        if !orders.is_empty() {
            put_items(
                aws,
                &config.tables.orders,
                orders.iter().map(Codec::to_item).collect(),
            )?;
            report.orders += orders.len() as u64;
            sent_orders = shop.orders().len();
        }
        let due = match pace {
            Pace::Speed(s) => Some(Duration::from_secs_f64(
                (sim.clock() - sim_start) as f64 / 1000.0 / s,
            )),
            Pace::Rate(r) => Some(Duration::from_secs_f64(report.records as f64 / r)),
            Pace::Max => None,
        };
        if let Some(due) = due
            && let Some(wait) = due.checked_sub(started.elapsed())
        {
            std::thread::sleep(wait);
        }
    }
    Ok(report)
}

/// Splits records into PutRecords calls and sends them, retrying failures.
pub fn put_records(
    aws: &Aws,
    stream: &str,
    records: Vec<(String, Vec<u8>)>,
    report: &mut ProduceReport,
) -> Result<(), Error> {
    let mut chunk: Vec<(String, Vec<u8>)> = Vec::new();
    let mut bytes = 0;
    for (key, data) in records {
        let size = key.len() + data.len();
        if !chunk.is_empty() && (chunk.len() == MAX_RECORDS || bytes + size > MAX_BYTES) {
            send(aws, stream, std::mem::take(&mut chunk), report)?;
            bytes = 0;
        }
        bytes += size;
        chunk.push((key, data));
    }
    if !chunk.is_empty() {
        send(aws, stream, chunk, report)?;
    }
    Ok(())
}

fn send(
    aws: &Aws,
    stream: &str,
    mut pending: Vec<(String, Vec<u8>)>,
    report: &mut ProduceReport,
) -> Result<(), Error> {
    let total = pending.len() as u64;
    for attempt in 0..MAX_ATTEMPTS {
        let entries = pending
            .iter()
            .map(|(k, d)| {
                PutRecordsRequestEntry::builder()
                    .partition_key(k)
                    .data(Blob::new(d.clone()))
                    .build()
                    .map_err(Error::internal)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = aws
            .runtime
            .block_on(
                aws.kinesis
                    .put_records()
                    .stream_name(stream)
                    .set_records(Some(entries))
                    .send(),
            )
            .map_err(|e| Error::aws(format!("PutRecords to {stream}"), &e))?;
        report.put_calls += 1;
        // Keep exactly the entries whose result carries an error code.
        let failed: Vec<(String, Vec<u8>)> = pending
            .into_iter()
            .zip(out.records())
            .filter(|(_, r)| r.error_code().is_some())
            .map(|(p, _)| p)
            .collect();
        if failed.is_empty() {
            report.records += total;
            return Ok(());
        }
        report.retried += failed.len() as u64;
        pending = failed;
        std::thread::sleep(Duration::from_millis(25 << attempt.min(6)));
    }
    Err(Error::external(
        true,
        format!(
            "PutRecords to {stream}: {} records still failing after {MAX_ATTEMPTS} attempts",
            pending.len()
        ),
    ))
}
