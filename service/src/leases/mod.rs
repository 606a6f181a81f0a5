//! Shard leases and checkpoints in DynamoDB (the KCL's design): one item per
//! shard with its owner, a counter the owner bumps to show it is alive, and
//! the checkpoint. Every change is conditional on the owner and counter the
//! writer last saw, so two workers can never both own a shard, and a worker
//! that lost its lease cannot move the checkpoint.

use crate::error::Error;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::Millis;

use tracing::info;

use crate::aws::{Aws, conditional, scan_all};
use crate::config::Config;
use crate::items::Codec;

/// One shard's lease.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lease {
    pub shard_id: String,
    pub owner: Option<String>,
    pub counter: u64,
    /// Where to resume: after this sequence number (the start of the oldest
    /// window still open when it was written, so a restart loses nothing).
    pub checkpoint: Option<String>,
    /// The last window whose features were written (so a replay can skip them).
    pub last_window: Millis,
    /// The shard ended and was fully processed.
    pub finished: bool,
    /// The first record still feeding an open window when the checkpoint was
    /// written: a restart reads from here (at it), not after `checkpoint`.
    pub replay_at: Option<String>,
    /// The core's state for this shard (`pipeline::PartitionState`, JSON).
    pub state: Option<String>,
}

/// Where a shard's processing stands, as a checkpoint writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// The last sequence number processed.
    pub processed: String,
    pub replay_at: Option<String>,
    pub last_window: Millis,
    pub finished: bool,
    pub state: Option<String>,
}

/// Whether a conditional lease write went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Someone else changed the lease since it was read: re-read and decide again.
    Lost,
}

fn outcome<O, E>(r: Result<O, SdkError<E, HttpResponse>>, what: &str) -> Result<Outcome, Error>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    conditional(r, || what.to_string()).map(|done| if done { Outcome::Done } else { Outcome::Lost })
}

/// All leases (paginated Scan).
pub fn load(aws: &Aws, table: &str) -> Result<Vec<Lease>, Error> {
    let mut out: Vec<Lease> = scan_all(aws, table)?
        .iter()
        .map(Lease::from_item)
        .collect::<Result<_, _>>()?;
    out.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
    Ok(out)
}

/// Takes `seen` for `owner`: succeeds only if the lease still has the
/// counter (and owner) the caller read — an unowned lease, or one whose owner
/// stopped renewing it. A lease that did not exist is created.
pub fn take(aws: &Aws, table: &str, seen: &Lease, owner: &str) -> Result<Outcome, Error> {
    let next = Lease {
        owner: Some(owner.to_string()),
        counter: seen.counter + 1,
        ..seen.clone()
    };
    let req = aws
        .dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(next.to_item()))
        .condition_expression("attribute_not_exists(shard_id) OR #c = :c")
        .expression_attribute_names("#c", "counter")
        .expression_attribute_values(":c", AttributeValue::N(seen.counter.to_string()));
    outcome(
        aws.runtime.block_on(req.send()),
        &format!("taking the lease of {}", seen.shard_id),
    )
}

/// An update of `lease` that applies only while `owner` holds it at the
/// counter last seen (the fence every owner-side write goes through).
fn owned_update(
    aws: &Aws,
    table: &str,
    lease: &Lease,
    owner: &str,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    aws.dynamodb
        .update_item()
        .table_name(table)
        .key("shard_id", AttributeValue::S(lease.shard_id.clone()))
        .condition_expression("#o = :me AND #c = :c")
        .expression_attribute_names("#c", "counter")
        .expression_attribute_names("#o", "owner")
        .expression_attribute_values(":me", AttributeValue::S(owner.to_string()))
        .expression_attribute_values(":c", AttributeValue::N(lease.counter.to_string()))
}

/// Renews a lease this worker holds (bumps the counter); `Lost` means it was taken.
pub fn renew(aws: &Aws, table: &str, lease: &mut Lease, owner: &str) -> Result<Outcome, Error> {
    let req = owned_update(aws, table, lease, owner)
        .update_expression("SET #c = #c + :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()));
    let r = outcome(
        aws.runtime.block_on(req.send()),
        &format!("renewing the lease of {}", lease.shard_id),
    )?;
    if r == Outcome::Done {
        lease.counter += 1;
    }
    Ok(r)
}

/// Moves the checkpoint, only while this worker still owns the lease.
pub fn checkpoint(
    aws: &Aws,
    table: &str,
    lease: &mut Lease,
    owner: &str,
    at: &Position,
) -> Result<Outcome, Error> {
    let mut set = vec!["checkpoint = :s", "last_window = :w", "finished = :f"];
    let mut req = owned_update(aws, table, lease, owner)
        .expression_attribute_values(":s", AttributeValue::S(at.processed.clone()))
        .expression_attribute_values(":w", AttributeValue::N(at.last_window.to_string()))
        .expression_attribute_values(":f", AttributeValue::Bool(at.finished));
    if let Some(r) = &at.replay_at {
        set.push("replay_at = :r");
        req = req.expression_attribute_values(":r", AttributeValue::S(r.clone()));
    }
    if let Some(st) = &at.state {
        set.push("#st = :st");
        req = req
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":st", AttributeValue::S(st.clone()));
    }
    let mut update = format!("SET {}", set.join(", "));
    if at.replay_at.is_none() {
        update.push_str(" REMOVE replay_at");
    }
    let r = outcome(
        aws.runtime.block_on(req.update_expression(update).send()),
        &format!("checkpointing {}", lease.shard_id),
    )?;
    if r == Outcome::Done {
        lease.checkpoint = Some(at.processed.clone());
        lease.replay_at = at.replay_at.clone();
        lease.last_window = at.last_window;
        lease.finished = at.finished;
        lease.state = at.state.clone();
    }
    Ok(r)
}

/// Gives a lease up (on shutdown) so another worker can take it at once.
pub fn release(aws: &Aws, table: &str, lease: &Lease, owner: &str) -> Result<Outcome, Error> {
    let req = owned_update(aws, table, lease, owner)
        .update_expression("REMOVE #o SET #c = #c + :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()));
    outcome(
        aws.runtime.block_on(req.send()),
        &format!("releasing the lease of {}", lease.shard_id),
    )
}

/// Takes the lease of every shard: unowned ones at once, ones whose owner
/// stopped renewing after `lease_duration` without a change.
pub fn acquire(
    aws: &Aws,
    config: &Config,
    worker: &str,
    shards: &[String],
    stop: &AtomicBool,
) -> Result<Vec<Lease>, Error> {
    let table = &config.tables.checkpoints;
    let patience = Duration::from_millis(config.stream.lease_duration.0 as u64);
    let mut first_seen: HashMap<String, (u64, Instant)> = HashMap::new();
    let mut held: BTreeMap<String, Lease> = BTreeMap::new();
    while held.len() < shards.len() && !stop.load(Ordering::SeqCst) {
        let existing: HashMap<String, Lease> = load(aws, table)?
            .into_iter()
            .map(|l| (l.shard_id.clone(), l))
            .collect();
        let wanted: Vec<&String> = shards.iter().filter(|id| !held.contains_key(*id)).collect();
        for id in wanted {
            let seen = existing.get(id).cloned().unwrap_or_else(|| Lease {
                shard_id: id.clone(),
                ..Lease::default()
            });
            let free = match &seen.owner {
                None => true,
                Some(o) if o == worker => true,
                Some(_) => {
                    let (counter, since) = first_seen
                        .entry(id.clone())
                        .or_insert((seen.counter, Instant::now()));
                    if *counter != seen.counter {
                        *counter = seen.counter;
                        *since = Instant::now();
                    }
                    since.elapsed() >= patience
                }
            };
            if free && take(aws, table, &seen, worker)? == Outcome::Done {
                let mut lease = seen;
                lease.owner = Some(worker.to_string());
                lease.counter += 1;
                held.insert(id.clone(), lease);
            }
        }
        if held.len() < shards.len() {
            info!(
                waiting = shards.len() - held.len(),
                "waiting for leases held by other workers"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    Ok(held.into_values().collect())
}
