//! The terminal UI, rendered from a deterministic run into ratatui's test
//! backend: snapshot tests of the main screens, and a key-driven test.

use std::path::PathBuf;

use pipeline::{Guardrails, PipelineConfig};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sim::{Scenario, Simulator};
use tui::{App, Command, Rates, Snapshot, Sort, Tracker};
use workbench::{ClosedLoop, Policy, RunOptions};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// The celebrity sighting day, run to 16:00 (two hours into the spike).
fn spike_loop(kill_switch_at_15: bool) -> (ClosedLoop, Tracker) {
    let mut sc = Scenario::load(&repo("scenarios/celebrity-spike.toml")).unwrap();
    sc.start.0 += 2 * 86_400_000;
    sc.trend.truncate(1);
    sc.trend[0].at.0 -= 2 * 86_400_000;
    sc.duration.0 = 86_400_000;
    let until = sc.start.0 + 16 * 3_600_000;
    let kill_at = sc.start.0 + 15 * 3_600_000;
    let (sim, shop) = Simulator::new(sc, None).unwrap();
    let opts = RunOptions {
        // Rules, not the ONNX model: snapshots must not depend on the CPU's float kernels.
        policy: Policy::Rules,
        config: PipelineConfig::default(),
        guardrails: Guardrails::default(),
        record: false,
        watch: vec![],
        redeliver_feed: false,
    };
    let mut lp = ClosedLoop::new(sim, shop, &opts).unwrap();
    lp.collect_windows = true;
    let mut tracker = Tracker::new(&lp);
    while lp.sim().clock() < until && lp.step() {
        if kill_switch_at_15 && lp.sim().clock() >= kill_at && !lp.pricer().kill_switch() {
            lp.set_kill_switch(true);
        }
        tracker.absorb(lp.take_windows());
    }
    (lp, tracker)
}

fn snapshot(paused: bool, kill: bool) -> Snapshot {
    let (lp, mut tracker) = spike_loop(kill);
    let rates = Rates {
        events_per_sec: 45_000.0,
        model_latency_us: 120.0,
    };
    tracker.snapshot(&lp, rates, Some(600.0), paused)
}

fn render(app: &App, snap: &Snapshot, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| tui::ui::draw(f, app, snap)).unwrap();
    t.backend().to_string()
}

#[test]
fn main_screen_at_80x24_and_160x48() {
    let snap = snapshot(false, false);
    let app = App::new(Some(600.0));
    let small = render(&app, &snap, 80, 24);
    assert!(
        small.contains("sku-0040"),
        "the trending shoe is on screen:\n{small}"
    );
    insta::assert_snapshot!("main_80x24", small);
    insta::assert_snapshot!("main_160x48", render(&app, &snap, 160, 48));
}

#[test]
fn help_overlay_lists_every_key() {
    let snap = snapshot(false, false);
    let mut app = App::new(Some(600.0));
    app.on_key(KeyEvent::from(KeyCode::Char('?')), 0);
    let screen = render(&app, &snap, 100, 30);
    for (key, _) in tui::app::KEYS {
        assert!(
            screen.contains(key.split_whitespace().next().unwrap()),
            "{key}"
        );
    }
    insta::assert_snapshot!("help_100x30", screen);
}

#[test]
fn paused_and_kill_switch_states() {
    let paused = snapshot(true, false);
    let screen = render(&App::new(Some(600.0)), &paused, 120, 32);
    assert!(screen.contains("PAUSED"));
    insta::assert_snapshot!("paused_120x32", screen);
    let killed = snapshot(false, true);
    let screen = render(&App::new(Some(600.0)), &killed, 120, 32);
    assert!(screen.contains("KILL SWITCH ON"));
    assert!(
        screen.contains("kill_switch"),
        "decisions show the kill switch:\n{screen}"
    );
    insta::assert_snapshot!("kill_switch_120x32", screen);
}

#[test]
fn keys_drive_the_app() {
    let snap = snapshot(false, false);
    let mut app = App::new(Some(600.0));
    let key = |c: char| KeyEvent::from(KeyCode::Char(c));
    let rows = app.rows(&snap).len();
    // Two hours in, the trend score (views/min against a 6 h baseline) puts
    // the celebrity shoe on the first screen; ordinary afternoon traffic on
    // the most popular shoes competes with it for the top rows.
    assert!(
        app.rows(&snap)[..5]
            .iter()
            .any(|r| r.product_id == "sku-0040"),
        "the trending shoe is on the first screen"
    );
    // Select.
    app.on_key(KeyEvent::from(KeyCode::Down), rows);
    app.on_key(key('j'), rows);
    app.on_key(key('k'), rows);
    assert_eq!(app.selected, 1);
    // Sort.
    app.on_key(key('s'), rows);
    assert_eq!(app.sort, Sort::Change);
    assert!(render(&app, &snap, 120, 32).contains("sort change"));
    // Filter.
    app.on_key(key('/'), rows);
    for c in "0040".chars() {
        app.on_key(key(c), rows);
    }
    app.on_key(KeyEvent::from(KeyCode::Enter), rows);
    assert_eq!(app.rows(&snap).len(), 1);
    let screen = render(&app, &snap, 120, 32);
    assert!(
        screen.contains("1 of 200") && screen.contains("filter \"0040\""),
        "{screen}"
    );
    // Pause, speed, kill switch.
    assert_eq!(app.on_key(key(' '), 1), Some(Command::Pause(true)));
    assert_eq!(app.on_key(key('+'), 1), Some(Command::Speed(Some(1800.0))));
    assert_eq!(app.on_key(key('-'), 1), Some(Command::Speed(Some(600.0))));
    assert_eq!(app.on_key(key('K'), 1), Some(Command::KillSwitch(true)));
    // Enter focuses the chart; q quits; Ctrl-C quits too.
    app.on_key(KeyEvent::from(KeyCode::Enter), 1);
    assert!(app.chart_focus);
    assert_eq!(app.on_key(key('q'), 1), Some(Command::Quit));
    let mut other = App::new(None);
    assert_eq!(
        other.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), 0),
        Some(Command::Quit)
    );
}

#[test]
fn a_live_service_shows_its_windows_prices_and_decisions() {
    let items: Vec<pipeline::CatalogItem> = ["sku-a", "sku-b", "sku-c"]
        .iter()
        .map(|id| pipeline::fixtures::item(id))
        .collect();
    let mut view = tui::LiveView::new("pricestream-clicks", "onnx:pricing.onnx@3ca3", &items[..2]);
    let t0: pipeline::Millis = 1_795_874_400_000;
    for (i, end) in [t0, t0 + 100_000, t0 + 200_000].into_iter().enumerate() {
        let records: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(j, item)| {
                let v = (1 + i * (3 - j)) as f32;
                pipeline::fixtures::record(&item.product_id, end, [v; pipeline::FEATURE_COUNT])
            })
            .collect();
        let decisions = vec![tui::DecisionLine {
            window_end: end,
            product_id: "sku-a".into(),
            rule: if i == 2 { "max_step" } else { "min_change" }.into(),
            applied: i == 2,
            from: 100.0,
            to: if i == 2 { 110.0 } else { 100.0 },
        }];
        view.window(&records, decisions);
    }
    let mut live = items.clone();
    live[0].current_price = Some(110.0);
    let stats = pipeline::Stats {
        received: 5_529,
        accepted: 5_297,
        windows_closed: 3,
        watermark: Some(t0 + 250_000),
        ..pipeline::Stats::default()
    };
    view.publish(&tui::Progress {
        now: t0 + 310_000,
        stats: &stats,
        items: &live,
        kill_switch: false,
        paused: false,
    });
    let snap = view.mailbox().lock().unwrap().take().expect("published");
    assert_eq!(
        snap.products.len(),
        3,
        "a product that appeared later gets a row"
    );
    assert_eq!(snap.price_changes, 1);
    let screen = render(&App::new(Some(1.0)), &snap, 120, 32);
    assert!(screen.contains("pricestream-clicks"), "{screen}");
    insta::assert_snapshot!("live_service_120x32", screen);
}
