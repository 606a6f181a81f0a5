//! Kinesis shard bookkeeping for the consumer, without I/O: which shards may
//! be read now (a child only after its parents are finished, as the KCL
//! does), and sequence-number order (decimal strings of any length, compared
//! as integers; meaningful within one shard only).

use std::cmp::Ordering;
use std::collections::HashSet;

/// What ListShards says about a shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    pub id: String,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
}

/// Shards to read now: not finished, and every parent that still exists in
/// the listing is finished (a parent past retention is gone, so it no longer
/// holds its children back). In listing order.
pub fn readable<'a>(shards: &'a [ShardInfo], finished: &HashSet<String>) -> Vec<&'a str> {
    let listed: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
    let done = |p: &Option<String>| {
        p.as_deref()
            .is_none_or(|p| !listed.contains(p) || finished.contains(p))
    };
    shards
        .iter()
        .filter(|s| !finished.contains(&s.id) && done(&s.parent) && done(&s.adjacent_parent))
        .map(|s| s.id.as_str())
        .collect()
}

/// Orders two sequence numbers (decimal strings) as integers.
pub fn compare_sequence(a: &str, b: &str) -> Ordering {
    let trim = |s: &str| s.trim_start_matches('0').to_string();
    let (a, b) = (trim(a), trim(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(&b))
}

/// Whether `s` is a sequence number (non-empty, decimal digits only).
pub fn is_sequence(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>, adjacent: Option<&str>) -> ShardInfo {
        ShardInfo {
            id: id.into(),
            parent: parent.map(Into::into),
            adjacent_parent: adjacent.map(Into::into),
        }
    }

    #[test]
    fn children_wait_for_their_parents() {
        // 0 split into 2 and 3; 1 and 2 merged into 4.
        let shards = [
            shard("s0", None, None),
            shard("s1", None, None),
            shard("s2", Some("s0"), None),
            shard("s3", Some("s0"), None),
            shard("s4", Some("s1"), Some("s2")),
        ];
        let mut done = HashSet::new();
        assert_eq!(readable(&shards, &done), vec!["s0", "s1"]);
        done.insert("s0".to_string());
        assert_eq!(readable(&shards, &done), vec!["s1", "s2", "s3"]);
        done.insert("s1".to_string());
        assert_eq!(
            readable(&shards, &done),
            vec!["s2", "s3"],
            "s4 also waits for its adjacent parent s2"
        );
        done.insert("s2".to_string());
        assert_eq!(readable(&shards, &done), vec!["s3", "s4"]);
    }

    #[test]
    fn a_parent_past_retention_does_not_block() {
        let shards = [shard("s5", Some("gone"), None)];
        assert_eq!(readable(&shards, &HashSet::new()), vec!["s5"]);
    }

    #[test]
    fn sequence_numbers_compare_as_integers() {
        assert_eq!(compare_sequence("9", "10"), Ordering::Less);
        assert_eq!(compare_sequence("0010", "10"), Ordering::Equal);
        let aws = "49590338271490256608559692538361571095921575989136588898";
        let next = "49590338271490256608559692538361571095921575989136588899";
        assert_eq!(compare_sequence(aws, next), Ordering::Less);
        assert_eq!(compare_sequence(next, "2"), Ordering::Greater);
        assert!(is_sequence(aws) && !is_sequence("") && !is_sequence("12a"));
    }
}
