//! The one-pass decoder for the usual shape and the general serde decoder
//! agree on every input: the same event, or the same reason and detail
//! (`decode` takes the fast path first, `decode_general` never does).

use pipeline::decode::Layout;
use pipeline::{decode, decode_general};
use proptest::prelude::*;

fn same(bytes: &[u8]) -> Result<(), TestCaseError> {
    let general = decode_general(bytes);
    prop_assert_eq!(
        &decode(bytes),
        &general,
        "{:?}",
        String::from_utf8_lossy(bytes)
    );
    // What the core reads of a record of the usual shape, built from its
    // layout without a `ClickEvent`, is what it reads of the general
    // path's event.
    if let Some(layout) = Layout::of(bytes) {
        prop_assert_eq!(
            layout.view(bytes),
            general.as_ref().ok().map(|e| e.view()),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    Ok(())
}

/// The record, a prefix of it, and the record with one byte changed.
fn cut_and_changed(
    bytes: &[u8],
    cut: prop::sample::Index,
    flip: prop::sample::Index,
    to: u8,
) -> [Vec<u8>; 3] {
    let mut changed = bytes.to_vec();
    changed[flip.index(bytes.len())] = to;
    [
        bytes.to_vec(),
        bytes[..cut.index(bytes.len() + 1)].to_vec(),
        changed,
    ]
}

fn same_when_cut_or_changed(
    bytes: &[u8],
    cut: prop::sample::Index,
    flip: prop::sample::Index,
    to: u8,
) -> Result<(), TestCaseError> {
    cut_and_changed(bytes, cut, flip, to)
        .iter()
        .try_for_each(|b| same(b))
}

/// JSON values a field may hold, usual and unusual.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9_@.-]{0,12}".prop_map(|s| format!("\"{s}\"")),
        1 => "[a-z\"\\\\/\u{e9}\u{1F45F}\t]{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        1 => Just("\"\\u0041b\"".to_string()),
        2 => (0u64..5_000_000_000_000).prop_map(|n| n.to_string()),
        2 => (-1e3f64..1e4).prop_map(|x| format!("{x}")),
        1 => prop_oneof![
            Just("1e400".to_string()), Just("-0".to_string()), Just("0.0".to_string()),
            Just("01".to_string()), Just("1.".to_string()), Just("1e".to_string()),
            Just("18446744073709551616".to_string()), Just("9.999999999e8".to_string()),
            Just("1E3".to_string()), Just("2.5e-1".to_string()),
        ],
        2 => time().prop_map(|t| format!("\"{t}\"")),
        1 => prop_oneof![Just("null"), Just("true"), Just("[]"), Just("{}"), Just("[1,{\"a\":2}]")].prop_map(str::to_string),
    ]
}

/// Times in and around the fast form.
fn time() -> impl Strategy<Value = String> {
    (
        1990i32..2110,
        0u32..14,
        0u32..32,
        0u32..25,
        0u32..61,
        0u32..61,
        prop_oneof![Just(String::new()), "\\.[0-9]{1,10}", Just(".".to_string())],
        prop_oneof![
            Just("Z"),
            Just("z"),
            Just("+01:00"),
            Just("-00:30"),
            Just("")
        ],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, zone)| {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}")
        })
}

const KEYS: [&str; 11] = [
    "event_id",
    "event_type",
    "event_time",
    "session_id",
    "product_id",
    "price",
    "referrer",
    "user_id",
    "campaign",
    "extra",
    "event_id",
];

/// Objects built from known (and a few unknown or repeated) keys.
fn object() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        3 => (0usize..9, value()),
        1 => (9usize..11, value()),
    ];
    (
        prop::collection::vec(field, 0..12),
        prop_oneof![Just(""), Just(" "), Just("\n\t ")],
    )
        .prop_map(|(fields, ws)| {
            let body: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{ws}\"{}\"{ws}:{ws}{v}", KEYS[k]))
                .collect();
            format!("{ws}{{{}{ws}}}{ws}", body.join(",")).into_bytes()
        })
}

/// A valid event in the usual shape, with its fields in any order.
fn usual() -> impl Strategy<Value = Vec<u8>> {
    (
        "[a-z0-9-]{1,12}",
        prop::sample::select(vec![
            "view",
            "click",
            "add_to_cart",
            "remove_from_cart",
            "purchase",
            "buy",
        ]),
        prop_oneof![
            time().prop_map(|t| format!("\"{t}\"")),
            (946_684_800_000i64..4_102_444_800_000).prop_map(|t| t.to_string())
        ],
        "[a-z0-9]{0,8}",
        (0.01f64..500.0).prop_map(|p| format!("{p}")),
        prop::option::of("[a-z0-9]{0,6}"),
        Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    )
        .prop_map(|(id, ty, t, session, price, user, seed)| {
            let mut fields = vec![
                format!("\"event_id\":\"{id}\""),
                format!("\"event_type\":\"{ty}\""),
                format!("\"event_time\":{t}"),
                format!("\"session_id\":\"{session}\""),
                "\"product_id\":\"sku-0001\"".to_string(),
                format!("\"price\":{price}"),
                "\"referrer\":\"search\"".to_string(),
            ];
            if let Some(u) = user {
                fields.push(format!("\"user_id\":\"{u}\""));
            }
            let n = fields.len();
            fields.swap(seed as usize % n, (seed >> 8) as usize % n);
            format!("{{{}}}", fields.join(",")).into_bytes()
        })
}

/// A valid event as the simulator and most producers write it: the known
/// keys in their usual order, no whitespace (the decoder's first guess).
fn compact() -> impl Strategy<Value = Vec<u8>> {
    (
        usual(),
        prop::option::of("[a-z0-9]{0,6}"),
        prop::option::of("[a-z0-9-]{0,8}"),
    )
        .prop_map(|(usual, user, campaign)| {
            let event: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&usual).unwrap();
            let mut out = String::from("{");
            for key in [
                "event_id",
                "event_type",
                "event_time",
                "session_id",
                "product_id",
            ] {
                out += &format!("\"{key}\":{},", event[key]);
            }
            if let Some(u) = user {
                out += &format!("\"user_id\":\"{u}\",");
            }
            out += &format!(
                "\"price\":{},\"referrer\":{}",
                event["price"], event["referrer"]
            );
            if let Some(c) = campaign {
                out += &format!(",\"campaign\":\"{c}\"");
            }
            out.push('}');
            out.into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn compact_events_and_their_mutations(
        bytes in compact(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        to in any::<u8>(),
    ) {
        same_when_cut_or_changed(&bytes, cut, flip, to)?;
    }

    /// Read where it lies in a buffer, before the newline that ends it and
    /// whatever follows: a record is read as on its own line, or left to
    /// the line reader; what follows its newline changes nothing.
    #[test]
    fn records_read_in_a_buffer_as_on_their_own_line(
        (bytes, cut, flip, to) in (compact(), any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>()),
        after in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        for record in &cut_and_changed(&bytes, cut, flip, to) {
            let mut rest = record.to_vec();
            rest.push(b'\n');
            let alone = Layout::of_prefix(&rest);
            rest.extend_from_slice(&after);
            let found = Layout::of_prefix(&rest);
            prop_assert_eq!(found, alone);
            if let Some((len, layout)) = found {
                prop_assert!(!rest[..len].contains(&b'\n'));
                prop_assert_eq!(Some(layout), Layout::of(&rest[..len]));
                if !record.contains(&b'\n') {
                    prop_assert_eq!(len, record.len());
                }
            }
        }
        // The usual record is found so.
        let mut rest = bytes.clone();
        rest.push(b'\n');
        if let Some(layout) = Layout::of(&bytes) {
            prop_assert_eq!(Layout::of_prefix(&rest).map(|(len, _)| len), Some(bytes.len()));
            prop_assert_eq!(Layout::of_prefix(&rest).map(|(_, l)| l), Some(layout));
        }
    }

    #[test]
    fn any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        same(&bytes)?;
    }

    #[test]
    fn any_object(bytes in object()) {
        same(&bytes)?;
    }

    #[test]
    fn usual_events_and_their_mutations(
        bytes in usual(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        to in any::<u8>(),
    ) {
        same_when_cut_or_changed(&bytes, cut, flip, to)?;
    }
}

#[test]
fn the_usual_shape_takes_the_fast_path_and_decodes_alike() {
    let line = br#"{"event_id":"e1","event_type":"view","event_time":"2026-11-28T14:00:00.250Z","session_id":"s1","product_id":"sku-0001","price":129.99,"referrer":"search","campaign":"bf"}"#;
    let e = decode(line).unwrap();
    assert_eq!(e.event_time, 1_795_874_400_250);
    assert_eq!(Ok(e), decode_general(line));
}
