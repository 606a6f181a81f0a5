//! Dead letters in DynamoDB: written by the service, listed and re-fed to
//! the stream after a fix (`pricestream dlq list|replay`). Items keep the
//! original bytes, the reason, the shard and the sequence number.

use crate::error::Error;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use pipeline::{DeadLetter, Reason};

use crate::aws::{Aws, put_items, scan_all, write_requests};
use crate::items::Codec;
use crate::produce::{ProduceReport, put_records};

/// The most record bytes a dead-letter item holds: DynamoDB refuses items
/// over 400 KB, and a record that cannot be stored would stop its shard.
pub const MAX_ITEM_BYTES: usize = 256 * 1024;

/// Stores dead letters (BatchWriteItem; a replay writes the same items);
/// records over [`MAX_ITEM_BYTES`] keep their start, length and digest.
pub fn put(aws: &Aws, table: &str, letters: &[DeadLetter]) -> Result<(), Error> {
    let items = letters
        .iter()
        .map(|d| d.clone().bounded(MAX_ITEM_BYTES).to_item())
        .collect();
    put_items(aws, table, items)
}

/// Every dead letter (paginated Scan), optionally only one reason.
pub fn list(aws: &Aws, table: &str, reason: Option<Reason>) -> Result<Vec<DeadLetter>, Error> {
    let mut out = Vec::new();
    for item in scan_all(aws, table)? {
        let d = DeadLetter::from_item(&item)?;
        if reason.is_none_or(|r| r == d.reason) {
            out.push(d);
        }
    }
    out.sort_by(|a, b| (&a.partition, &a.position).cmp(&(&b.partition, &b.position)));
    Ok(out)
}

/// Re-feeds dead letters to the stream (their original bytes; partition key =
/// their product id when they name one), then deletes them from the table.
pub fn replay(
    aws: &Aws,
    table: &str,
    stream: &str,
    letters: &[DeadLetter],
) -> Result<ProduceReport, Error> {
    if let Some(d) = letters.iter().find(|d| d.truncated.is_some()) {
        return Err(Error::user(format!(
            "the dead letter at {} {} keeps only the start of its record ({} bytes of {}), \
             so it cannot be re-fed; leave out its reason ({}) or delete it",
            d.partition,
            d.position,
            d.bytes.len(),
            d.truncated.map_or(0, |t| t.len),
            d.reason
        )));
    }
    let records = letters
        .iter()
        .map(|d| {
            let key = pipeline::decode(&d.bytes)
                .map(|e| e.product_id.into_owned())
                .unwrap_or_else(|_| format!("dlq-{}", d.partition));
            (key, d.bytes.clone())
        })
        .collect();
    let mut report = ProduceReport::default();
    put_records(aws, stream, records, &mut report)?;
    let deletes: Vec<WriteRequest> = letters
        .iter()
        .map(|d| {
            DeleteRequest::builder()
                .key("partition", AttributeValue::S(d.partition.to_string()))
                .key("position", AttributeValue::S(d.position.clone()))
                .build()
                .map(|r| WriteRequest::builder().delete_request(r).build())
                .map_err(Error::internal)
        })
        .collect::<Result<_, _>>()?;
    write_requests(aws, table, deletes)?;
    Ok(report)
}
