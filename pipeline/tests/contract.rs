//! The click-event contract: docs/events.md, the JSON Schema and the decoder agree.

use std::path::PathBuf;

use pipeline::{FEATURE_NAMES, Reason, decode};

fn repo_file(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Fenced blocks of docs/events.md tagged `json accept` or `json reject=REASON`.
fn doc_examples() -> Vec<(Option<Reason>, String)> {
    let doc = repo_file("docs/events.md");
    let mut examples = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let expect = match line.trim().strip_prefix("```json ") {
            Some("accept") => None,
            Some(tag) => match tag.strip_prefix("reject=").and_then(Reason::parse) {
                Some(r) => Some(r),
                None => panic!("unknown example tag {tag:?}"),
            },
            None => continue,
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        examples.push((expect, body.join("\n")));
    }
    examples
}

#[test]
fn every_example_in_the_docs_decodes_as_documented() {
    let examples = doc_examples();
    assert!(examples.len() >= 8, "found {} examples", examples.len());
    for (expect, json) in examples {
        let got = decode(json.as_bytes()).err().map(|r| r.reason);
        assert_eq!(got, expect, "{json}");
    }
}

#[test]
fn schema_and_decoder_agree() {
    let schema: serde_json::Value =
        serde_json::from_str(&repo_file("docs/click-event.schema.json")).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let cases = repo_file("pipeline/tests/data/contract-cases.ndjson");
    let mut checked = 0;
    let (mut accepted, mut rejected) = (0, 0);
    let docs = doc_examples().into_iter().map(|(_, j)| j);
    for json in cases.lines().map(str::to_string).chain(docs) {
        let decoded = decode(json.as_bytes());
        let Ok(instance) = serde_json::from_str::<serde_json::Value>(&json) else {
            assert_eq!(decoded.unwrap_err().reason, Reason::MalformedJson, "{json}");
            continue;
        };
        assert_eq!(
            validator.is_valid(&instance),
            decoded.is_ok(),
            "schema and decoder disagree on {json}: decoder says {decoded:?}"
        );
        if decoded.is_ok() {
            accepted += 1
        } else {
            rejected += 1
        }
        checked += 1;
    }
    assert!(
        checked >= 35 && accepted >= 10 && rejected >= 20,
        "{checked} {accepted} {rejected}"
    );
}

#[test]
fn the_features_doc_lists_the_features_in_order() {
    let doc = repo_file("docs/features.md");
    let documented: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" | ").nth(1))
        .filter_map(|name| name.trim().strip_prefix('`')?.strip_suffix('`'))
        .collect();
    assert_eq!(documented, FEATURE_NAMES);
}
