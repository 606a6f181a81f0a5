//! Kinesis Producer Library (KPL) aggregated records.
//!
//! Layout: the 4 magic bytes `F3 89 9A C2`, a protobuf `AggregatedRecord`,
//! then the MD5 digest of the protobuf bytes. A record without the magic is
//! a plain record; one with the magic whose digest or protobuf is wrong is a
//! bad aggregate (dead-lettered as `bad_aggregate`, bytes kept). Sub-records
//! are addressed as `SEQUENCE:INDEX`, as the KCL does.

use md5::{Digest, Md5};
use prost::Message;

/// The KPL's magic prefix.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

#[derive(Clone, PartialEq, Message)]
pub struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    pub partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    pub records: Vec<Record>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Record {
    #[prost(uint64, required, tag = "1")]
    pub partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    pub explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", required, tag = "3")]
    pub data: Vec<u8>,
    #[prost(message, repeated, tag = "4")]
    pub tags: Vec<Tag>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Tag {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// One user record inside an aggregate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubRecord {
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
}

/// What a Kinesis record holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unpacked<'a> {
    /// Not aggregated: the record itself.
    Plain(&'a [u8]),
    /// The user records of a KPL aggregate, in order.
    Aggregate(Vec<SubRecord>),
}

/// Unpacks a Kinesis record; `Err` names what is wrong with a bad aggregate.
pub fn unpack(bytes: &[u8]) -> Result<Unpacked<'_>, String> {
    let Some(rest) = bytes.strip_prefix(&MAGIC) else {
        return Ok(Unpacked::Plain(bytes));
    };
    if rest.len() < DIGEST_LEN {
        return Err(format!(
            "KPL aggregate of {} bytes is too short for its digest",
            bytes.len()
        ));
    }
    let (message, digest) = rest.split_at(rest.len() - DIGEST_LEN);
    if Md5::digest(message).as_slice() != digest {
        return Err("KPL aggregate digest mismatch (corrupted or truncated)".into());
    }
    let agg =
        AggregatedRecord::decode(message).map_err(|e| format!("KPL aggregate protobuf: {e}"))?;
    // An aggregate with no user records would otherwise vanish uncounted.
    if agg.records.is_empty() {
        return Err("KPL aggregate holds no user records".into());
    }
    agg.records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let key = |table: &[String], ix: u64, what: &str| {
                table.get(ix as usize).cloned().ok_or_else(|| {
                    format!(
                        "KPL sub-record {i}: {what} index {ix} is outside its table of {}",
                        table.len()
                    )
                })
            };
            Ok(SubRecord {
                partition_key: key(
                    &agg.partition_key_table,
                    r.partition_key_index,
                    "partition key",
                )?,
                explicit_hash_key: match r.explicit_hash_key_index {
                    Some(ix) => Some(key(&agg.explicit_hash_key_table, ix, "explicit hash key")?),
                    None => None,
                },
                data: r.data,
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Unpacked::Aggregate)
}

/// Packs user records into one KPL aggregate (what the KPL sends).
pub fn pack(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut keys: Vec<String> = Vec::new();
    let records = records
        .iter()
        .map(|(key, data)| {
            let ix = keys.iter().position(|k| k == key).unwrap_or_else(|| {
                keys.push(key.to_string());
                keys.len() - 1
            });
            Record {
                partition_key_index: ix as u64,
                explicit_hash_key_index: None,
                data: data.to_vec(),
                tags: Vec::new(),
            }
        })
        .collect();
    let message = AggregatedRecord {
        partition_key_table: keys,
        explicit_hash_key_table: Vec::new(),
        records,
    }
    .encode_to_vec();
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&message);
    out.extend_from_slice(&Md5::digest(&message));
    out
}

/// The position of sub-record `index` of the record at `sequence`.
pub fn sub_position(sequence: &str, index: usize) -> String {
    format!("{sequence}:{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_records_pass_through() {
        let r = br#"{"event_id":"e1"}"#;
        assert_eq!(unpack(r), Ok(Unpacked::Plain(&r[..])));
        assert_eq!(unpack(&[]), Ok(Unpacked::Plain(&[][..])));
    }

    #[test]
    fn aggregates_round_trip_in_order() {
        let packed = pack(&[("sku-1", b"one"), ("sku-2", b"two"), ("sku-1", b"three")]);
        assert!(packed.starts_with(&MAGIC));
        let Ok(Unpacked::Aggregate(subs)) = unpack(&packed) else {
            panic!("an aggregate")
        };
        let got: Vec<(&str, &[u8])> = subs
            .iter()
            .map(|s| (s.partition_key.as_str(), s.data.as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("sku-1", &b"one"[..]),
                ("sku-2", b"two"),
                ("sku-1", b"three")
            ]
        );
    }

    /// Built by hand to the published format, not by `pack`: field numbers,
    /// wire types and the MD5 trailer as the KPL documents them.
    #[test]
    fn a_hand_built_aggregate_decodes() {
        let mut msg = Vec::new();
        msg.extend([0x0A, 0x02, b'p', b'k']); // partition_key_table[0] = "pk"
        msg.extend([0x12, 0x01, b'h']); // explicit_hash_key_table[0] = "h"
        // records[0] = { partition_key_index: 0, explicit_hash_key_index: 0, data: "hi" }
        msg.extend([0x1A, 0x08, 0x08, 0x00, 0x10, 0x00, 0x1A, 0x02, b'h', b'i']);
        let mut rec = MAGIC.to_vec();
        rec.extend(&msg);
        rec.extend(Md5::digest(&msg));
        let expected = SubRecord {
            partition_key: "pk".into(),
            explicit_hash_key: Some("h".into()),
            data: b"hi".to_vec(),
        };
        assert_eq!(unpack(&rec), Ok(Unpacked::Aggregate(vec![expected])));
    }

    #[test]
    fn corrupted_aggregates_are_refused_with_a_reason() {
        let mut packed = pack(&[("k", b"data")]);
        let mid = packed.len() / 2;
        packed[mid] ^= 0xFF;
        assert!(unpack(&packed).unwrap_err().contains("digest mismatch"));
        let short = &pack(&[("k", b"data")])[..10];
        assert!(unpack(short).is_err());
        // A valid digest over a protobuf that points outside its key table.
        let msg = [0x1A, 0x06, 0x08, 0x05, 0x1A, 0x02, b'h', b'i'];
        let mut rec = MAGIC.to_vec();
        rec.extend(msg);
        rec.extend(Md5::digest(msg));
        assert!(unpack(&rec).unwrap_err().contains("partition key index 5"));
        // Garbage protobuf with a valid digest.
        let msg = [0xFF, 0xFF, 0xFF];
        let mut rec = MAGIC.to_vec();
        rec.extend(msg);
        rec.extend(Md5::digest(msg));
        assert!(unpack(&rec).unwrap_err().contains("protobuf"));
    }

    #[test]
    fn aggregates_without_user_records_are_refused() {
        let seal = |msg: &[u8]| {
            let mut rec = MAGIC.to_vec();
            rec.extend(msg);
            rec.extend(Md5::digest(msg));
            rec
        };
        // An empty body, and one holding only key tables.
        for msg in [&[][..], &[0x0A, 0x02, b'p', b'k', 0x12, 0x01, b'h']] {
            let err = unpack(&seal(msg)).unwrap_err();
            assert!(err.contains("no user records"), "{err}");
        }
        assert!(unpack(&pack(&[])).is_err());
    }

    #[test]
    fn sub_record_positions_follow_the_kcl() {
        assert_eq!(sub_position("4959", 3), "4959:3");
    }
}
