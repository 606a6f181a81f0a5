//! Reading a Kinesis stream: every shard from its start position (or a
//! checkpoint), children only after their parents end, GetRecords paced per
//! shard, expired iterators renewed after the last sequence read, and
//! MillisBehindLatest kept per shard.

use crate::error::Error;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;

use crate::aws::Aws;
use crate::config::StartPosition;
use crate::shards::{ShardInfo, readable};

/// One record read from a shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardRecord {
    pub sequence: String,
    pub partition_key: String,
    pub data: Vec<u8>,
}

/// What one poll of one shard gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub shard_id: String,
    pub records: Vec<ShardRecord>,
    pub millis_behind_latest: Option<i64>,
    /// The shard is closed and fully read (its children may start).
    pub shard_ended: bool,
}

/// Where a shard without a checkpoint starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    TrimHorizon,
    Latest,
    AtTimestamp(i64),
}

impl Start {
    pub fn from_config(position: StartPosition, timestamp: Option<&str>) -> Start {
        match position {
            StartPosition::TrimHorizon => Start::TrimHorizon,
            StartPosition::Latest => Start::Latest,
            StartPosition::AtTimestamp => Start::AtTimestamp(
                timestamp
                    .and_then(pipeline::time::parse_rfc3339)
                    .unwrap_or(0),
            ),
        }
    }
}

/// Where a shard resumes: at a record (the oldest one an open window still
/// needs) or after one (the last processed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resume {
    At(String),
    After(String),
}

/// The resume position of each shard that has one.
pub type Positions = BTreeMap<String, Resume>;

struct Reader {
    iterator: Option<String>,
    /// Where a renewed iterator starts: after the last record read, else the resume point.
    position: Option<Resume>,
    next_poll: Instant,
}

pub struct Consumer {
    stream: String,
    start: Start,
    max_records: i32,
    interval: Duration,
    shards: Vec<ShardInfo>,
    readers: BTreeMap<String, Reader>,
    finished: HashSet<String>,
    /// Latest MillisBehindLatest by shard.
    pub behind: BTreeMap<String, i64>,
    /// Iterators renewed after expiring.
    pub renewed: u64,
    /// Only these shards are read (the leases this worker holds); all when `None`.
    only: Option<HashSet<String>>,
}

impl Consumer {
    /// A consumer of `stream`; shards without a checkpoint start at `start`.
    pub fn new(stream: &str, start: Start, max_records: u32, interval: Duration) -> Consumer {
        Consumer {
            stream: stream.to_string(),
            start,
            max_records: max_records.min(10_000) as i32,
            interval,
            shards: Vec::new(),
            readers: BTreeMap::new(),
            finished: HashSet::new(),
            behind: BTreeMap::new(),
            renewed: 0,
            only: None,
        }
    }

    /// Reads only `shards` from now on (readers of others are dropped).
    pub fn restrict(&mut self, shards: HashSet<String>) {
        self.readers.retain(|id, _| shards.contains(id));
        self.only = Some(shards);
    }

    /// Every shard listed at the last refresh, with its parents.
    pub fn shards(&self) -> &[ShardInfo] {
        &self.shards
    }

    /// Lists the shards (paginated) and opens readers for those readable now,
    /// from their position in `checkpoints` or else the start position.
    pub fn refresh(&mut self, aws: &Aws, checkpoints: &Positions) -> Result<(), Error> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = aws.kinesis.list_shards();
            req = match &token {
                Some(t) => req.next_token(t),
                None => req.stream_name(&self.stream),
            };
            let out = aws
                .runtime
                .block_on(req.send())
                .map_err(|e| Error::aws("ListShards", &e))?;
            shards.extend(out.shards().iter().map(|s| ShardInfo {
                id: s.shard_id().to_string(),
                parent: s.parent_shard_id().map(str::to_string),
                adjacent_parent: s.adjacent_parent_shard_id().map(str::to_string),
            }));
            match out.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        self.shards = shards;
        let open: Vec<String> = readable(&self.shards, &self.finished)
            .into_iter()
            .filter(|id| !self.readers.contains_key(*id))
            .filter(|id| self.only.as_ref().is_none_or(|o| o.contains(*id)))
            .map(str::to_string)
            .collect();
        for id in open {
            let resume = checkpoints.get(&id).cloned();
            let iterator = self.iterator(aws, &id, resume.as_ref())?;
            self.readers.insert(
                id,
                Reader {
                    iterator: Some(iterator),
                    position: resume,
                    next_poll: Instant::now(),
                },
            );
        }
        Ok(())
    }

    fn iterator(&self, aws: &Aws, shard: &str, resume: Option<&Resume>) -> Result<String, Error> {
        let req = aws
            .kinesis
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(shard);
        let req = match (resume, &self.start) {
            (Some(Resume::At(seq)), _) => req
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(seq),
            (Some(Resume::After(seq)), _) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
            (None, Start::TrimHorizon) => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
            (None, Start::Latest) => req.shard_iterator_type(ShardIteratorType::Latest),
            (None, Start::AtTimestamp(ms)) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(DateTime::from_millis(*ms)),
        };
        let out = aws
            .runtime
            .block_on(req.send())
            .map_err(|e| Error::aws(format!("GetShardIterator {shard}"), &e))?;
        out.shard_iterator().map(str::to_string).ok_or_else(|| {
            Error::internal(format!("GetShardIterator {shard}: no iterator returned"))
        })
    }

    /// Shards being read now.
    pub fn active(&self) -> Vec<String> {
        self.readers.keys().cloned().collect()
    }

    /// Whether every listed shard has ended (a closed stream, or after resharding).
    pub fn all_ended(&self) -> bool {
        !self.shards.is_empty() && self.shards.iter().all(|s| self.finished.contains(&s.id))
    }

    /// Polls every shard whose pace allows it (at most one GetRecords per
    /// `interval` per shard). Ended shards make room for their children.
    pub fn poll(&mut self, aws: &Aws, checkpoints: &Positions) -> Result<Vec<Batch>, Error> {
        self.poll_where(aws, checkpoints, |_| true)
    }

    /// Like [`Consumer::poll`], for the shards `allow` accepts now (a host
    /// holds back shards that run ahead of the others in event time).
    pub fn poll_where(
        &mut self,
        aws: &Aws,
        checkpoints: &Positions,
        allow: impl Fn(&str) -> bool,
    ) -> Result<Vec<Batch>, Error> {
        let now = Instant::now();
        let due: Vec<String> = self
            .readers
            .iter()
            .filter(|(id, r)| r.next_poll <= now && allow(id))
            .map(|(id, _)| id.clone())
            .collect();
        let mut batches = Vec::new();
        let mut ended = false;
        for id in due {
            let batch = self.poll_shard(aws, &id)?;
            ended |= batch.shard_ended;
            batches.push(batch);
        }
        if ended {
            self.refresh(aws, checkpoints)?;
        }
        Ok(batches)
    }

    fn poll_shard(&mut self, aws: &Aws, id: &str) -> Result<Batch, Error> {
        let Some(iterator) = self.readers.get(id).and_then(|r| r.iterator.clone()) else {
            return Ok(Batch {
                shard_id: id.to_string(),
                records: Vec::new(),
                millis_behind_latest: None,
                shard_ended: true,
            });
        };
        let call = aws
            .kinesis
            .get_records()
            .shard_iterator(&iterator)
            .limit(self.max_records)
            .send();
        let out = match aws.runtime.block_on(call) {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_expired_iterator_exception()) =>
            {
                // Renew after the last sequence read (or from the start) and try once more.
                let from = self.readers.get(id).and_then(|r| r.position.clone());
                let fresh = self.iterator(aws, id, from.as_ref())?;
                self.renewed += 1;
                let call = aws
                    .kinesis
                    .get_records()
                    .shard_iterator(&fresh)
                    .limit(self.max_records)
                    .send();
                aws.runtime
                    .block_on(call)
                    .map_err(|e| Error::aws(format!("GetRecords {id}"), &e))?
            }
            Err(e) => return Err(Error::aws(format!("GetRecords {id}"), &e)),
        };
        let records: Vec<ShardRecord> = out
            .records()
            .iter()
            .map(|r| ShardRecord {
                sequence: r.sequence_number().to_string(),
                partition_key: r.partition_key().unwrap_or_default().to_string(),
                data: r.data().as_ref().to_vec(),
            })
            .collect();
        let shard_ended = out.next_shard_iterator().is_none();
        if let Some(ms) = out.millis_behind_latest() {
            self.behind.insert(id.to_string(), ms);
        }
        let interval = self.interval;
        if let Some(r) = self.readers.get_mut(id) {
            if let Some(last) = records.last() {
                r.position = Some(Resume::After(last.sequence.clone()));
            }
            r.iterator = out.next_shard_iterator().map(str::to_string);
            r.next_poll = Instant::now() + interval;
        }
        if shard_ended {
            self.readers.remove(id);
            self.finished.insert(id.to_string());
        }
        Ok(Batch {
            shard_id: id.to_string(),
            records,
            millis_behind_latest: out.millis_behind_latest(),
            shard_ended,
        })
    }
}
