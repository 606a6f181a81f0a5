//! The in-process pricer: the features table's stream → `pricing::Stage`.

use crate::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use pipeline::FeatureRecord;
use tracing::warn;

use crate::aws::Aws;
use crate::config::Config;
use crate::items::Codec;
use crate::metrics::Metrics;
use crate::pricing::{Model, Outcome as Priced, Stage};
use crate::streams::TableStream;

/// Starts the in-process pricer: it reads the features table's stream and prices
/// each batch (see `pricing`), checkpointing its stream position.
pub(super) fn spawn_pricer(
    config: Config,
    model: Model,
    stop: Arc<AtomicBool>,
    kill_switch: Arc<AtomicBool>,
    metrics: Metrics,
) -> Result<JoinHandle<Result<(), Error>>, Error> {
    let aws = Aws::connect(&config)?;
    Ok(std::thread::spawn(move || {
        let mut stage = Stage::new(&config, model, metrics.clone());
        let t = &config.tables;
        let mut stream = TableStream::new(&t.features, &t.checkpoints);
        stream.refresh(&aws)?;
        let pause = Duration::from_millis(config.pricer.poll_interval.0 as u64);
        while !stop.load(Ordering::SeqCst) {
            let polled = match stream.poll(&aws) {
                Ok(p) => p,
                Err(e) if !e.retryable() => return Err(e.context("pricer")),
                Err(e) => {
                    metrics.aws_error("DynamoDB Streams GetRecords");
                    warn!("pricer: {e}; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
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
                    price_until_done(&aws, &mut stage, chunk, &stop)?;
                }
                stream.checkpoint(&aws, &shard.shard_id, &last.sequence)?;
            }
            if !busy {
                std::thread::sleep(pause);
            }
        }
        Ok(())
    }))
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
