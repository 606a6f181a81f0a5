//! The terminal UI, rendered into ratatui's test backend from a scripted,
//! deterministic shop driven through the same [`tui::Simulation`] interface
//! as the workbench's loop: snapshot tests of the main screens, and a
//! key-driven test. (The real loop under the UI is tested through the
//! binary in tmux, tests/tui_tmux.rs.)

use pipeline::{CatalogItem, FEATURE_COUNT, FEATURE_NAMES, FeatureRecord, Millis};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui::{App, Command, DecisionLine, Rates, Simulation, Snapshot, Sort, Tracker};

const MIN: Millis = 60_000;
const HOUR: Millis = 60 * MIN;
/// 2026-11-28T00:00:00Z.
const DAY0: Millis = 1_795_824_000_000;
const WINDOW: Millis = 100_000;
const TRENDING: usize = 40;

/// 200 shoes with a daily rhythm; at 14:00 a celebrity is seen in sku-0040,
/// whose views jump twelvefold and decay, and a rule raises its price 10 %
/// per 5 minutes up to 1.5 × list (held while the kill switch is on).
struct ScriptedShop {
    items: Vec<CatalogItem>,
    clock: Millis,
    kill_switch: bool,
    windows: Vec<FeatureRecord>,
    recent: Vec<DecisionLine>,
    events: u64,
    windows_closed: u64,
    price_changes: u64,
}

fn feature(name: &str) -> usize {
    FEATURE_NAMES.iter().position(|n| *n == name).unwrap()
}

impl ScriptedShop {
    fn new(start: Millis) -> ScriptedShop {
        let items = (0..200)
            .map(|i| CatalogItem {
                base_price: 80.0 + (i % 9) as f64 * 10.0,
                inventory: 10 + (i % 50) as i64,
                ..testkit::fixtures::item(&format!("sku-{i:04}"))
            })
            .collect();
        ScriptedShop {
            items,
            clock: start,
            kill_switch: false,
            windows: Vec::new(),
            recent: Vec::new(),
            events: 0,
            windows_closed: 0,
            price_changes: 0,
        }
    }

    fn views_per_minute(&self, i: usize, end: Millis) -> f32 {
        let hour = ((end - DAY0) % (24 * HOUR)) as f32 / HOUR as f32;
        let rhythm = 1.0 + 0.6 * ((hour - 15.0) / 24.0 * std::f32::consts::TAU).cos();
        let base = 0.2 + (i % 13) as f32 * 0.15;
        let since = end - (DAY0 + 14 * HOUR);
        let spike = if i == TRENDING && since >= 0 {
            11.0 * 0.5f32.powf(since as f32 / (3 * HOUR) as f32)
        } else {
            0.0
        };
        base * rhythm * (1.0 + spike)
    }
}

impl Simulation for ScriptedShop {
    fn step(&mut self) -> bool {
        let end = self.clock + WINDOW;
        for i in 0..self.items.len() {
            let vpm = self.views_per_minute(i, end);
            let mut features = [0.0; FEATURE_COUNT];
            features[feature("views_per_minute")] = vpm;
            features[feature("view_growth_ewma")] = vpm / self.views_per_minute(i, end - HOUR);
            features[feature("days_of_cover")] = 30.0 / (1.0 + vpm);
            let item = &self.items[i];
            let mut record = testkit::fixtures::record(&item.product_id, end, features);
            record.base_price = item.base_price;
            record.current_price = item.current_price();
            self.events += (vpm * 100.0 / 60.0).round() as u64;
            self.windows.push(record);
        }
        self.windows_closed += 1;
        let item = &mut self.items[TRENDING];
        if end >= DAY0 + 14 * HOUR && (end - DAY0) % (5 * MIN) < WINDOW {
            let from = item.current_price();
            let (rule, to) = if self.kill_switch {
                ("kill_switch", from)
            } else if from < 1.5 * item.base_price - 0.01 {
                ("max_step", (from * 1.1).min(1.5 * item.base_price))
            } else {
                ("ceiling", from)
            };
            let applied = to != from;
            if applied {
                item.current_price = Some(to);
                self.price_changes += 1;
            }
            self.recent.insert(
                0,
                DecisionLine {
                    window_end: end,
                    product_id: item.product_id.to_string(),
                    rule: rule.into(),
                    applied,
                    from,
                    to,
                },
            );
        }
        self.clock = end;
        true
    }

    fn clock(&self) -> Millis {
        self.clock
    }

    fn is_finished(&self) -> bool {
        false
    }

    fn set_kill_switch(&mut self, on: bool) {
        self.kill_switch = on;
    }

    fn take_windows(&mut self) -> Vec<FeatureRecord> {
        std::mem::take(&mut self.windows)
    }

    fn counters(&self) -> (u64, u128, u64) {
        (self.events, 0, 0)
    }

    fn items(&self) -> &[CatalogItem] {
        &self.items
    }

    fn recent(&self) -> Vec<DecisionLine> {
        self.recent.clone()
    }

    fn header(&self) -> Snapshot {
        Snapshot {
            scenario: "celebrity-spike".into(),
            policy: "rules".into(),
            model_version: "rules:v1".into(),
            start: DAY0 + 8 * HOUR,
            end: DAY0 + 32 * HOUR,
            clock: self.clock,
            watermark: Some(self.clock - 5_000),
            kill_switch: self.kill_switch,
            events: self.events,
            windows_closed: self.windows_closed,
            dead_letters: vec![("late".into(), 3), ("malformed_json".into(), 2)],
            price_changes: self.price_changes,
            revenue: 48_210.0,
            moments: vec![(DAY0 + 14 * HOUR, "celebrity seen in sku-0040".into())],
            ..Snapshot::default()
        }
    }
}

/// The sighting day from 08:00 to 16:00 (two hours into the spike),
/// folded into the UI's tracker window by window as the live host does.
fn snapshot(paused: bool, kill_switch_at_15: bool) -> Snapshot {
    snapshot_until(DAY0 + 16 * HOUR, paused, kill_switch_at_15)
}

fn snapshot_until(end: Millis, paused: bool, kill_switch_at_15: bool) -> Snapshot {
    let mut shop = ScriptedShop::new(DAY0 + 8 * HOUR);
    let mut tracker = Tracker::from_items(shop.items());
    while shop.clock() < end {
        if kill_switch_at_15 && shop.clock() >= DAY0 + 15 * HOUR {
            shop.set_kill_switch(true);
        }
        shop.step();
        tracker.absorb(&shop.take_windows());
    }
    let rates = Rates {
        events_per_sec: 45_000.0,
        model_latency_us: 120.0,
    };
    tracker.snapshot(&shop, rates, Some(600.0), paused)
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
    app.on_key(KeyEvent::from(KeyCode::Char('?')), &[]);
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
    let ids: Vec<String> = app
        .rows(&snap)
        .iter()
        .map(|r| r.product_id.clone())
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let rows = &ids[..];
    let one = &ids[..1];
    // Two hours in, the trend score (views/min against a 6 h baseline) puts
    // the celebrity shoe on the first screen.
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
    assert_eq!(app.selected.as_deref(), Some(ids[1]));
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
    assert_eq!(app.on_key(key(' '), one), Some(Command::Pause(true)));
    assert_eq!(
        app.on_key(key('+'), one),
        Some(Command::Speed(Some(1800.0)))
    );
    assert_eq!(app.on_key(key('-'), one), Some(Command::Speed(Some(600.0))));
    assert_eq!(app.on_key(key('K'), one), Some(Command::KillSwitch(true)));
    // Enter focuses the chart; q quits; Ctrl-C quits too.
    app.on_key(KeyEvent::from(KeyCode::Enter), one);
    assert!(app.chart_focus);
    assert_eq!(app.on_key(key('q'), one), Some(Command::Quit));
    let mut other = App::new(None);
    assert_eq!(
        other.on_key(
            KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
            &[]
        ),
        Some(Command::Quit)
    );
}

/// The selection is a product, not a row: the trend sort reorders the rows
/// every window, and the selected shoe (and its chart) stays selected.
#[test]
fn the_selected_product_stays_selected_while_the_sort_reorders() {
    let at_16 = snapshot(false, false);
    let mut app = App::new(Some(600.0));
    let ids = |snap: &Snapshot, app: &App| -> Vec<String> {
        app.rows(snap)
            .iter()
            .map(|r| r.product_id.clone())
            .collect()
    };
    let before = ids(&at_16, &app);
    let pick = before.iter().position(|id| id == "sku-0040").unwrap() + 3;
    let rows: Vec<&str> = before.iter().map(String::as_str).collect();
    for _ in 0..pick {
        app.on_key(KeyEvent::from(KeyCode::Down), &rows);
    }
    let chosen = before[pick].clone();
    assert_eq!(app.selected_row(&at_16).unwrap().product_id, chosen);
    // Ten hours later the spike has decayed and the order is different.
    let later = snapshot_until(DAY0 + 26 * HOUR, false, false);
    let after = ids(&later, &app);
    assert_ne!(
        after.iter().position(|id| *id == chosen),
        Some(pick),
        "the rows were reordered"
    );
    assert_eq!(app.selected_row(&later).unwrap().product_id, chosen);
    let screen = render(&app, &later, 120, 32);
    assert!(screen.contains(&chosen), "{screen}");
    // Changing the sort keeps it too.
    let rows: Vec<&str> = after.iter().map(String::as_str).collect();
    app.on_key(KeyEvent::from(KeyCode::Char('s')), &rows);
    assert_eq!(app.selected_row(&later).unwrap().product_id, chosen);
}

#[test]
fn esc_closes_the_help_the_chart_and_the_filter_before_it_quits() {
    let mut app = App::new(Some(600.0));
    app.on_key(KeyEvent::from(KeyCode::Char('?')), &[]);
    assert!(app.help);
    assert_eq!(app.on_key(KeyEvent::from(KeyCode::Esc), &[]), None);
    assert!(!app.help && !app.quit);
    // It backs out of a focused chart, then of an applied filter.
    app.chart_focus = true;
    app.filter = "0040".into();
    app.on_key(KeyEvent::from(KeyCode::Esc), &[]);
    assert!(!app.chart_focus && app.filter == "0040" && !app.quit);
    app.on_key(KeyEvent::from(KeyCode::Esc), &[]);
    assert!(app.filter.is_empty() && !app.quit);
    assert_eq!(
        app.on_key(KeyEvent::from(KeyCode::Esc), &[]),
        Some(Command::Quit),
        "on the main screen Esc still quits"
    );
}

#[test]
fn a_live_service_shows_its_windows_prices_and_decisions() {
    let items: Vec<pipeline::CatalogItem> = ["sku-a", "sku-b", "sku-c"]
        .iter()
        .map(|id| testkit::fixtures::item(id))
        .collect();
    let mut view = tui::LiveView::new("pricestream-clicks", "onnx:pricing.onnx@3ca3", &items[..2]);
    let t0: pipeline::Millis = 1_795_874_400_000;
    for (i, end) in [t0, t0 + 100_000, t0 + 200_000].into_iter().enumerate() {
        let records: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(j, item)| {
                let v = (1 + i * (3 - j)) as f32;
                testkit::fixtures::record(&item.product_id, end, [v; pipeline::FEATURE_COUNT])
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
    let mut app = App::new(Some(1.0));
    app.live = snap.live;
    let screen = render(&app, &snap, 120, 32);
    assert!(screen.contains("pricestream-clicks"), "{screen}");
    assert!(
        !screen.contains("speed"),
        "a service has no speed keys:\n{screen}"
    );
    insta::assert_snapshot!("live_service_120x32", screen);
    // Quitting stops the service: q asks, only y confirms.
    let q = KeyEvent::from(KeyCode::Char('q'));
    assert_eq!(app.on_key(q, &[]), None);
    assert!(render(&app, &snap, 120, 32).contains("quit and stop the service? y"));
    assert_eq!(app.on_key(KeyEvent::from(KeyCode::Char('n')), &[]), None);
    assert!(!app.quit);
    app.on_key(KeyEvent::from(KeyCode::Esc), &[]);
    assert_eq!(
        app.on_key(KeyEvent::from(KeyCode::Char('y')), &[]),
        Some(Command::Quit)
    );
}

/// Before the service's first report the screen says what it is waiting for.
#[test]
fn a_service_that_has_not_reported_says_it_is_waiting() {
    let screen = render(&App::new(Some(1.0)), &Snapshot::default(), 80, 24);
    assert!(screen.contains("waiting for the first window"), "{screen}");
}

/// A product with one view and then silence reads 0 views/min, and its
/// chart covers the same windows as a busy product's (the shop's clock).
#[test]
fn quiet_windows_are_zeros_for_every_product() {
    let items: Vec<CatalogItem> = ["sku-busy", "sku-once"]
        .iter()
        .map(|id| testkit::fixtures::item(id))
        .collect();
    let mut tracker = Tracker::from_items(&items);
    let views = |v: f32| {
        let mut f = [0.0; FEATURE_COUNT];
        f[feature("views_per_minute")] = v;
        f
    };
    let t0 = DAY0 + 12 * HOUR;
    tracker.absorb(&[
        testkit::fixtures::record("sku-busy", t0, views(6.0)),
        testkit::fixtures::record("sku-once", t0, views(0.6)),
    ]);
    // Thirty windows, the busy shoe only, delivered in one batch out of order.
    let mut later: Vec<FeatureRecord> = (1..=30)
        .map(|i| testkit::fixtures::record("sku-busy", t0 + i * WINDOW, views(6.0)))
        .collect();
    later.reverse();
    tracker.absorb(&later);
    let snap = tracker.snapshot_items(&items, Vec::new());
    let row = |id: &str| snap.products.iter().find(|r| r.product_id == id).unwrap();
    let (busy, once) = (row("sku-busy"), row("sku-once"));
    assert_eq!(once.views_per_minute, 0.0, "no events is zero demand");
    assert!(once.trend() < busy.trend());
    assert_eq!(once.demand.len(), busy.demand.len());
    assert_eq!(once.demand.last().unwrap().0, t0 + 30 * WINDOW);
    assert!(
        busy.demand.windows(2).all(|w| w[0].0 < w[1].0),
        "in time order"
    );
}
