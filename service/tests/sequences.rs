//! Sequence-number order agrees with integer order (property test).

use proptest::prelude::*;
use service::shards::compare_sequence;

proptest! {
    #[test]
    fn matches_integer_order(a in any::<u128>(), b in any::<u128>(), pad_a in 0usize..3, pad_b in 0usize..3) {
        let (sa, sb) = (format!("{}{a}", "0".repeat(pad_a)), format!("{}{b}", "0".repeat(pad_b)));
        prop_assert_eq!(compare_sequence(&sa, &sb), a.cmp(&b));
    }
}
