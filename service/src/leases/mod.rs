//! Shard leases and checkpoints in DynamoDB (the KCL's design): one item per
//! shard with its owner, a counter the owner bumps to show it is alive, and
//! the checkpoint. Every change is conditional on the owner and counter the
//! writer last saw, so two workers can never both own a shard, and a worker
//! that lost its lease cannot move the checkpoint.

use crate::error::Error;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::Millis;

use crate::aws::{Aws, conditional, scan_all};
use crate::items::Codec;

pub mod membership;
pub use membership::{Change, Membership, ShardSpec};

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
    /// A worker below its fair share asked the owner for this shard: the
    /// owner checkpoints and hands it over (see [`membership`]).
    pub handover_to: Option<String>,
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
        handover_to: None,
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
        .update_expression("REMOVE #o, handover_to SET #c = #c + :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()));
    outcome(
        aws.runtime.block_on(req.send()),
        &format!("releasing the lease of {}", lease.shard_id),
    )
}

/// Asks `seen`'s owner to hand the shard over to `thief` (a worker below
/// its fair share). Leaves the counter alone, so the owner keeps renewing
/// until it has checkpointed; fails if the lease moved or has a request.
pub fn request_handover(
    aws: &Aws,
    table: &str,
    seen: &Lease,
    thief: &str,
) -> Result<Outcome, Error> {
    let Some(owner) = seen.owner.as_deref() else {
        return Ok(Outcome::Lost);
    };
    let req = owned_update(aws, table, seen, owner)
        .condition_expression("#o = :me AND #c = :c AND attribute_not_exists(handover_to)")
        .update_expression("SET handover_to = :t")
        .expression_attribute_values(":t", AttributeValue::S(thief.to_string()));
    outcome(
        aws.runtime.block_on(req.send()),
        &format!("asking for the lease of {}", seen.shard_id),
    )
}

/// Hands a lease this worker holds to the worker that asked for it (after
/// the last checkpoint): it becomes the owner at once, with a new counter.
pub fn hand_over(
    aws: &Aws,
    table: &str,
    lease: &Lease,
    owner: &str,
    to: &str,
) -> Result<Outcome, Error> {
    let req = owned_update(aws, table, lease, owner)
        .update_expression("SET #o = :to, #c = #c + :one REMOVE handover_to")
        .expression_attribute_values(":to", AttributeValue::S(to.to_string()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()));
    outcome(
        aws.runtime.block_on(req.send()),
        &format!("handing {} over to {to}", lease.shard_id),
    )
}

/// The lease operations a worker uses, so that the protocol
/// ([`membership`]) can be checked with simulated workers and time as well
/// as run against DynamoDB ([`Dynamo`]).
pub trait LeaseTable {
    fn load(&mut self) -> Result<Vec<Lease>, Error>;
    fn take(&mut self, seen: &Lease, me: &str) -> Result<Outcome, Error>;
    fn renew(&mut self, lease: &mut Lease, me: &str) -> Result<Outcome, Error>;
    fn request_handover(&mut self, seen: &Lease, me: &str) -> Result<Outcome, Error>;
    fn hand_over(&mut self, lease: &Lease, me: &str, to: &str) -> Result<Outcome, Error>;
    fn checkpoint(&mut self, lease: &mut Lease, me: &str, at: &Position) -> Result<Outcome, Error>;
    fn release(&mut self, lease: &Lease, me: &str) -> Result<Outcome, Error>;
}

/// The checkpoints table in DynamoDB.
pub struct Dynamo<'a> {
    pub aws: &'a Aws,
    pub table: &'a str,
}

impl LeaseTable for Dynamo<'_> {
    fn load(&mut self) -> Result<Vec<Lease>, Error> {
        load(self.aws, self.table)
    }
    fn take(&mut self, seen: &Lease, me: &str) -> Result<Outcome, Error> {
        take(self.aws, self.table, seen, me)
    }
    fn renew(&mut self, lease: &mut Lease, me: &str) -> Result<Outcome, Error> {
        renew(self.aws, self.table, lease, me)
    }
    fn request_handover(&mut self, seen: &Lease, me: &str) -> Result<Outcome, Error> {
        request_handover(self.aws, self.table, seen, me)
    }
    fn hand_over(&mut self, lease: &Lease, me: &str, to: &str) -> Result<Outcome, Error> {
        hand_over(self.aws, self.table, lease, me, to)
    }
    fn checkpoint(&mut self, lease: &mut Lease, me: &str, at: &Position) -> Result<Outcome, Error> {
        checkpoint(self.aws, self.table, lease, me, at)
    }
    fn release(&mut self, lease: &Lease, me: &str) -> Result<Outcome, Error> {
        release(self.aws, self.table, lease, me)
    }
}
