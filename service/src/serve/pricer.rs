//! The in-process pricer: the features table's stream → `pricing::Stage`.
//! In a fleet one replica prices at a time: the pricer holds a lease of its
//! own (`pricer:FEATURES_TABLE` in the checkpoints table, the shards'
//! protocol with one item), so N replicas do not make N model calls per
//! record; another replica's pricer takes over when its holder dies.

use crate::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pipeline::FeatureRecord;
use tracing::warn;

use crate::aws::Aws;
use crate::config::Config;
use crate::items::Codec;
use crate::leases::{Dynamo, Membership, ShardSpec};
use crate::metrics::Metrics;
use crate::pricing::{Model, Outcome as Priced, Stage};
use crate::streams::TableStream;

use super::now_ms;

/// Starts the in-process pricer: it reads the features table's stream and prices
/// each batch (see `pricing`), checkpointing its stream position.
pub(super) fn spawn_pricer(
    config: Config,
    worker: &str,
    model: Model,
    stop: Arc<AtomicBool>,
    kill_switch: Arc<AtomicBool>,
    metrics: Metrics,
) -> Result<JoinHandle<Result<(), Error>>, Error> {
    let aws = Aws::connect(&config)?;
    let worker = worker.to_string();
    Ok(std::thread::spawn(move || {
        let mut stage = Stage::new(&config, model, metrics.clone());
        let t = &config.tables;
        let mut stream = TableStream::new(&t.features, &t.checkpoints);
        let pause = Duration::from_millis(config.pricer.poll_interval.0 as u64);
        let lease_duration = config.stream.lease_duration.0;
        let mut lease = Membership::new(&worker, lease_duration);
        let lease_item = [ShardSpec {
            id: format!("pricer:{}", t.features),
            parents: Vec::new(),
        }];
        let mut table = Dynamo {
            aws: &aws,
            table: &t.checkpoints,
        };
        let mut checked: Option<Instant> = None;
        let result = (|| {
            while !stop.load(Ordering::SeqCst) {
                if checked.is_none_or(|c| c.elapsed().as_millis() as i64 >= lease_duration / 3) {
                    let was = lease.held().count() > 0;
                    lease.tick(&mut table, now_ms(), &lease_item)?;
                    checked = Some(Instant::now());
                    let holds = lease.held().count() > 0;
                    metrics.pricer_active.set(i64::from(holds));
                    if holds && !was {
                        // Read the stream from the last checkpoint of whoever priced before.
                        stream = TableStream::new(&t.features, &t.checkpoints);
                        stream.refresh(&aws)?;
                    }
                }
                if lease.held().count() == 0 {
                    std::thread::sleep(pause.max(Duration::from_millis(200)));
                    continue;
                }
                price_stream(
                    &aws,
                    &config,
                    &mut stage,
                    &mut stream,
                    &stop,
                    &kill_switch,
                    &metrics,
                    pause,
                )?;
            }
            Ok(())
        })();
        lease.release_all(&mut table);
        result
    }))
}

/// One poll of the features stream, priced and checkpointed.
#[allow(clippy::too_many_arguments)]
fn price_stream(
    aws: &Aws,
    config: &Config,
    stage: &mut Stage,
    stream: &mut TableStream,
    stop: &AtomicBool,
    kill_switch: &AtomicBool,
    metrics: &Metrics,
    pause: Duration,
) -> Result<(), Error> {
    let polled = match stream.poll(aws) {
        Ok(p) => p,
        Err(e) if !e.retryable() => return Err(e.context("pricer")),
        Err(e) => {
            metrics.aws_error("DynamoDB Streams GetRecords");
            warn!("pricer: {e}; retrying");
            std::thread::sleep(Duration::from_secs(1));
            return Ok(());
        }
    };
    let mut busy = false;
    for shard in polled {
        let Some(last) = shard.changes.last() else {
            continue;
        };
        busy = true;
        let records: Vec<FeatureRecord> = shard
            .changes
            .iter()
            .filter_map(|c| match FeatureRecord::from_item(&c.new_image) {
                Ok(r) => Some(r),
                Err(e) => {
                    metrics.unreadable_features.inc();
                    warn!(sequence = %c.sequence, "pricer: not a feature record: {e}");
                    None
                }
            })
            .collect();
        for chunk in records.chunks(config.pricer.batch_size) {
            stage
                .pricer
                .set_kill_switch(kill_switch.load(Ordering::SeqCst));
            price_until_done(aws, stage, chunk, stop)?;
        }
        stream.checkpoint(aws, &shard.shard_id, &last.sequence)?;
    }
    if !busy {
        std::thread::sleep(pause);
    }
    Ok(())
}

/// Prices a batch, retrying with backoff until every record is written
/// (writes are idempotent) or the service stops.
fn price_until_done(
    aws: &Aws,
    stage: &mut Stage,
    records: &[FeatureRecord],
    stop: &AtomicBool,
) -> Result<(), Error> {
    let mut backoff = Duration::from_millis(100);
    loop {
        let failure = match stage.price(aws, records) {
            Ok(outcomes) => outcomes.into_iter().find_map(|o| match o {
                Priced::Failed(e) => Some(e),
                Priced::Skipped(why) => {
                    warn!("pricer: {why}");
                    None
                }
                Priced::Decided(_) => None,
            }),
            Err(e) if !e.retryable() => {
                return Err(
                    e.context("not retried (a restart with a fixed model or config is needed)")
                );
            }
            Err(e) => Some(e),
        };
        let Some(e) = failure else {
            return Ok(());
        };
        if stop.load(Ordering::SeqCst) {
            return Err(e.context("stopped while retrying"));
        }
        warn!("pricer: {e}; retrying in {backoff:?}");
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}
