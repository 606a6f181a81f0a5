//! Scenario files: bad keys and values are errors that name the file, the key
//! and what is allowed.

use std::path::Path;

use sim::{Scenario, Simulator};

const HEAD: &str = "name = \"t\"\nstart = \"2026-11-23T00:00:00Z\"\nduration = \"1d\"\n";

fn error(body: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, format!("{HEAD}{body}")).unwrap();
    match Scenario::load(&path).and_then(|sc| {
        Simulator::new(sc, None).map(|_| ()).map_err(|mut e| {
            e.file = path.clone();
            e
        })
    }) {
        Ok(()) => panic!("accepted: {body}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with(&path.display().to_string()),
                "names the file: {msg}"
            );
            msg
        }
    }
}

fn assert_mentions(body: &str, needles: &[&str]) {
    let msg = error(body);
    for n in needles {
        assert!(msg.contains(n), "{n:?} not in: {msg}");
    }
}

#[test]
fn unknown_keys_are_rejected_with_the_allowed_ones() {
    assert_mentions(
        "colour = \"red\"\n",
        &["unknown field `colour`", "duration", "line 4"],
    );
    assert_mentions(
        "[traffic]\nsessions_per_hour = 5\n",
        &["unknown field `sessions_per_hour`", "sessions_per_day"],
    );
    assert_mentions(
        "[[trend]]\nlabel = \"x\"\nat = \"1h\"\nproduct = \"sku-0001\"\nshock = 1\nbranching = 0.5\ndecay = \"1h\"\nsize = 3\n",
        &["unknown field `size`"],
    );
}

#[test]
fn bad_values_name_the_key() {
    assert_mentions(
        "[traffic]\nsessions_per_day = -5\n",
        &["`traffic.sessions_per_day`", "between 0"],
    );
    assert_mentions("[funnel]\nclick_rate = 1.5\n", &["`funnel.click_rate`"]);
    assert_mentions("partitions = 0\n", &["`partitions`", "1 to 1024"]);
    let trend = |extra: &str| {
        format!(
            "[[trend]]\nlabel = \"x\"\nat = \"1h\"\nproduct = \"sku-0001\"\nshock = 10\ndecay = \"1h\"\n{extra}"
        )
    };
    assert_mentions(
        &trend("branching = 1.2\n"),
        &["`trend[0].branching`", "0.99"],
    );
    assert_mentions(
        &trend("branching = 0.5\nkernel = \"gaussian\"\n"),
        &["unknown variant `gaussian`", "power_law"],
    );
    assert_mentions(
        "[[trend]]\nlabel = \"x\"\nat = \"2d\"\nproduct = \"sku-0001\"\nshock = 10\nbranching = 0.5\ndecay = \"1h\"\n",
        &["`trend[0].at`", "past the end"],
    );
    assert_mentions(
        "[[trend]]\nlabel = \"x\"\nat = \"1h\"\nproduct = \"sku-9999\"\nshock = 10\nbranching = 0.5\ndecay = \"1h\"\n",
        &[
            "`trend[0].product`",
            "unknown product \"sku-9999\"",
            "sku-0199",
        ],
    );
    assert_mentions(
        "[[sale]]\nlabel = \"x\"\nat = \"1h\"\nlength = \"1h\"\nbrand = \"Acme\"\ndiscount = 0.2\n",
        &["`sale[0].brand`", "unknown brand \"Acme\""],
    );
}

#[test]
fn durations_and_times_say_how_to_write_them() {
    let msg = error("[funnel]\nstep_mean = \"soon\"\n");
    assert!(
        msg.contains("\"soon\" is not a duration") && msg.contains("\"100s\""),
        "{msg}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        "name = \"t\"\nstart = \"Monday\"\nduration = \"1d\"\n",
    )
    .unwrap();
    let msg = Scenario::load(&path).unwrap_err().to_string();
    assert!(msg.contains("RFC 3339"), "{msg}");
}

#[test]
fn a_missing_file_is_named() {
    let msg = Scenario::load(Path::new("no/such.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("no/such.toml") && msg.contains("cannot read"),
        "{msg}"
    );
}

#[test]
fn type_errors_name_the_key_and_line() {
    assert_mentions(
        "[traffic]\nsessions_per_day = \"lots\"\n",
        &["`traffic.sessions_per_day`", "invalid type", "line 5"],
    );
    assert_mentions(
        "[[faults.bots]]\nat = \"1h\"\nlength = \"1h\"\nsessions = \"four\"\nviews_per_session = 3\n",
        &["`faults.bots[0].sessions`", "line 7"],
    );
}

#[test]
fn counts_that_allocate_are_capped() {
    let bots = |sessions: u64| {
        format!(
            "[[faults.bots]]\nat = \"1h\"\nlength = \"1h\"\nsessions = {sessions}\nviews_per_session = 3\n"
        )
    };
    // 4e9 does not fit u32 (a type error); 4e6 fits but would draw 4e6 times up front.
    assert_mentions(&bots(4_000_000_000), &["`faults.bots[0].sessions`"]);
    assert_mentions(&bots(4_000_000), &["`faults.bots[0].sessions`", "1000000"]);
    let many =
        "[[sale]]\nlabel = \"x\"\nat = \"1h\"\nlength = \"1h\"\ndiscount = 0.2\n".repeat(1001);
    assert_mentions(&many, &["`sale`", "at most 1000"]);
}

#[test]
fn a_duration_override_is_held_to_the_file_rules() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/steady.toml");
    let Err(e) = sim::output::prepare(&path, None, Some(400 * pipeline::time::DAY)) else {
        panic!("400 days accepted")
    };
    let msg = e.to_string();
    assert!(
        msg.contains("`duration`") && msg.contains("366 days"),
        "{msg}"
    );
}

/// The estimate printed before a large run is the simulator's own arithmetic:
/// within 3 % of the events it then makes, bots included.
#[test]
fn the_estimate_matches_what_the_simulator_makes() {
    for name in ["steady", "bad-input"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.toml"));
        let (sim, shop) = sim::output::prepare(&path, None, None).unwrap();
        let estimate = sim.scenario().estimate();
        let dir = tempfile::tempdir().unwrap();
        let summary = sim::output::write_run(sim, shop, dir.path()).unwrap();
        let made = summary.stats.events_total() as f64;
        assert!(
            (estimate.events / made - 1.0).abs() < 0.03,
            "{name}: estimated {} events, made {made}",
            estimate.events
        );
    }
}
