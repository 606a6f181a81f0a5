//! Reading the features table's DynamoDB stream (the pricer's input): its
//! shards parents first, from a checkpoint in the checkpoints table or the
//! trim horizon; new images converted to the DynamoDB client's item type.

use crate::error::Error;
use std::collections::{BTreeMap, HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue as Ddb;
use aws_sdk_dynamodbstreams::types::{AttributeValue as Ds, ShardIteratorType};

use crate::aws::{Aws, Item, batch_get, put_items};
use crate::shards::{ShardInfo, readable};

/// A stream attribute value as the DynamoDB client's type.
pub fn convert(v: &Ds) -> Ddb {
    match v {
        Ds::S(s) => Ddb::S(s.clone()),
        Ds::N(n) => Ddb::N(n.clone()),
        Ds::B(b) => Ddb::B(aws_sdk_dynamodb::primitives::Blob::new(b.as_ref())),
        Ds::Bool(b) => Ddb::Bool(*b),
        Ds::Null(b) => Ddb::Null(*b),
        Ds::L(l) => Ddb::L(l.iter().map(convert).collect()),
        Ds::M(m) => Ddb::M(m.iter().map(|(k, v)| (k.clone(), convert(v))).collect()),
        Ds::Ss(s) => Ddb::Ss(s.clone()),
        Ds::Ns(n) => Ddb::Ns(n.clone()),
        Ds::Bs(b) => Ddb::Bs(
            b.iter()
                .map(|b| aws_sdk_dynamodb::primitives::Blob::new(b.as_ref()))
                .collect(),
        ),
        _ => Ddb::Null(true),
    }
}

/// One change on the stream with its new image (inserts and modifications).
#[derive(Clone, Debug)]
pub struct Change {
    pub sequence: String,
    pub new_image: Item,
}

/// What one poll of a shard gave.
pub struct ShardChanges {
    pub shard_id: String,
    pub changes: Vec<Change>,
}

fn checkpoint_key(shard: &str) -> String {
    format!("features-stream/{shard}")
}

/// A reader of one table's stream.
pub struct TableStream {
    table: String,
    checkpoints: String,
    arn: Option<String>,
    shards: Vec<ShardInfo>,
    iterators: BTreeMap<String, Option<String>>,
    finished: HashSet<String>,
}

impl TableStream {
    /// The stream of `table`; positions are kept in the `checkpoints` table.
    pub fn new(table: &str, checkpoints: &str) -> TableStream {
        TableStream {
            table: table.to_string(),
            checkpoints: checkpoints.to_string(),
            arn: None,
            shards: Vec::new(),
            iterators: BTreeMap::new(),
            finished: HashSet::new(),
        }
    }

    fn arn(&mut self, aws: &Aws) -> Result<String, Error> {
        if let Some(a) = &self.arn {
            return Ok(a.clone());
        }
        let out = aws
            .runtime
            .block_on(aws.dynamodb.describe_table().table_name(&self.table).send())
            .map_err(|e| Error::aws(format!("DescribeTable {}", self.table), &e))?;
        let arn = out
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| {
                Error::user(format!(
                    "table {} has no stream; enable one (NEW_IMAGE), e.g. with `pricestream aws init`",
                    self.table
                ))
            })?
            .to_string();
        self.arn = Some(arn.clone());
        Ok(arn)
    }

    /// Lists the shards and opens iterators for those readable now.
    pub fn refresh(&mut self, aws: &Aws) -> Result<(), Error> {
        let arn = self.arn(aws)?;
        let mut shards = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let out = aws
                .runtime
                .block_on(
                    aws.streams
                        .describe_stream()
                        .stream_arn(&arn)
                        .set_exclusive_start_shard_id(start.take())
                        .send(),
                )
                .map_err(|e| Error::aws("DescribeStream", &e))?;
            let Some(d) = out.stream_description() else {
                break;
            };
            shards.extend(d.shards().iter().map(|s| ShardInfo {
                id: s.shard_id().unwrap_or_default().to_string(),
                parent: s.parent_shard_id().map(str::to_string),
                adjacent_parent: None,
            }));
            match d.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_string()),
                None => break,
            }
        }
        self.shards = shards;
        let open: Vec<String> = readable(&self.shards, &self.finished)
            .into_iter()
            .filter(|id| !self.iterators.contains_key(*id))
            .map(str::to_string)
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let saved = self.load_positions(aws, &open)?;
        for id in open {
            let req = aws
                .streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(&id);
            let req = match saved.get(&id) {
                Some(seq) => req
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq),
                None => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let out = aws
                .runtime
                .block_on(req.send())
                .map_err(|e| Error::aws(format!("GetShardIterator {id}"), &e))?;
            self.iterators
                .insert(id, out.shard_iterator().map(str::to_string));
        }
        Ok(())
    }

    fn load_positions(
        &self,
        aws: &Aws,
        shards: &[String],
    ) -> Result<HashMap<String, String>, Error> {
        let keys = shards
            .iter()
            .map(|s| HashMap::from([("shard_id".to_string(), Ddb::S(checkpoint_key(s)))]))
            .collect();
        let mut out = HashMap::new();
        for item in batch_get(aws, &self.checkpoints, keys)? {
            let (Some(Ddb::S(key)), Some(Ddb::S(seq))) =
                (item.get("shard_id"), item.get("checkpoint"))
            else {
                continue;
            };
            if let Some(shard) = key.strip_prefix("features-stream/") {
                out.insert(shard.to_string(), seq.clone());
            }
        }
        Ok(out)
    }

    /// Records that `shard` was processed up to `sequence`.
    pub fn checkpoint(&self, aws: &Aws, shard: &str, sequence: &str) -> Result<(), Error> {
        put_items(
            aws,
            &self.checkpoints,
            vec![HashMap::from([
                ("shard_id".to_string(), Ddb::S(checkpoint_key(shard))),
                ("checkpoint".to_string(), Ddb::S(sequence.to_string())),
            ])],
        )
    }

    /// One GetRecords per open shard. Removals carry no new image and are skipped.
    pub fn poll(&mut self, aws: &Aws) -> Result<Vec<ShardChanges>, Error> {
        let mut out = Vec::new();
        let mut ended = false;
        let ids: Vec<String> = self.iterators.keys().cloned().collect();
        for id in ids {
            let Some(Some(iterator)) = self.iterators.get(&id).cloned() else {
                self.iterators.remove(&id);
                self.finished.insert(id);
                ended = true;
                continue;
            };
            let page = match aws
                .runtime
                .block_on(aws.streams.get_records().shard_iterator(iterator).send())
            {
                Ok(page) => page,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_expired_iterator_exception()) =>
                {
                    // Reopen from the saved position on the next refresh.
                    self.iterators.remove(&id);
                    continue;
                }
                Err(e) => return Err(Error::aws(format!("GetRecords {id}"), &e)),
            };
            let changes = page
                .records()
                .iter()
                .filter_map(|r| {
                    let d = r.dynamodb()?;
                    Some(Change {
                        sequence: d.sequence_number()?.to_string(),
                        new_image: d
                            .new_image()?
                            .iter()
                            .map(|(k, v)| (k.clone(), convert(v)))
                            .collect(),
                    })
                })
                .collect();
            self.iterators
                .insert(id.clone(), page.next_shard_iterator().map(str::to_string));
            out.push(ShardChanges {
                shard_id: id,
                changes,
            });
        }
        if ended || self.iterators.is_empty() {
            self.refresh(aws)?;
        }
        Ok(out)
    }
}
