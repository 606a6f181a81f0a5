//! The UI's own state (selection, sort, filter, overlays) and what keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::snapshot::{ProductRow, Snapshot};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Trending first: demand against its long-run level.
    Trend,
    /// Largest price change since the start first.
    Change,
    /// Most views per minute first.
    Demand,
    Name,
}

impl Sort {
    pub fn next(self) -> Sort {
        match self {
            Sort::Trend => Sort::Change,
            Sort::Change => Sort::Demand,
            Sort::Demand => Sort::Name,
            Sort::Name => Sort::Trend,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Trend => "trend",
            Sort::Change => "change",
            Sort::Demand => "demand",
            Sort::Name => "name",
        }
    }
}

/// What the host must do after a key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    Pause(bool),
    /// New speed (× real time); `None` is as fast as possible.
    Speed(Option<f64>),
    KillSwitch(bool),
    Quit,
}

/// Speeds `+`/`-` step through; the last is "max".
pub const SPEEDS: [Option<f64>; 8] = [
    Some(1.0),
    Some(10.0),
    Some(60.0),
    Some(300.0),
    Some(600.0),
    Some(1800.0),
    Some(3600.0),
    None,
];

#[derive(Clone, Debug)]
pub struct App {
    /// The selected product, by id: it stays selected while the sort
    /// reorders the rows (`None`: the first row).
    pub selected: Option<String>,
    pub sort: Sort,
    pub filter: String,
    pub filtering: bool,
    pub chart_focus: bool,
    pub help: bool,
    pub paused: bool,
    pub speed: Option<f64>,
    pub kill_switch: bool,
    pub quit: bool,
    /// Showing a running service: `q`/Esc ask before quitting.
    pub live: bool,
    /// "Quit the service? y/n" is showing.
    pub confirm_quit: bool,
}

impl App {
    pub fn new(speed: Option<f64>) -> App {
        App {
            selected: None,
            sort: Sort::Trend,
            filter: String::new(),
            filtering: false,
            chart_focus: false,
            help: false,
            paused: false,
            speed,
            kill_switch: false,
            quit: false,
            live: false,
            confirm_quit: false,
        }
    }

    /// The rows to show, filtered and sorted.
    pub fn rows<'s>(&self, snap: &'s Snapshot) -> Vec<&'s ProductRow> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&ProductRow> = snap
            .products
            .iter()
            .filter(|r| {
                needle.is_empty()
                    || r.product_id.to_lowercase().contains(&needle)
                    || r.brand.to_lowercase().contains(&needle)
            })
            .collect();
        let key = |r: &ProductRow| -> f64 {
            match self.sort {
                Sort::Trend => -f64::from(r.trend()),
                Sort::Change => -r.change().abs(),
                Sort::Demand => -f64::from(r.views_per_minute),
                Sort::Name => 0.0,
            }
        };
        rows.sort_by(|a, b| {
            key(a)
                .total_cmp(&key(b))
                .then_with(|| a.product_id.cmp(&b.product_id))
        });
        rows
    }

    /// The selected product, if any row is visible: the one chosen, else
    /// (none chosen, or filtered out) the first row.
    pub fn selected_row<'s>(&self, snap: &'s Snapshot) -> Option<&'s ProductRow> {
        let rows = self.rows(snap);
        rows.get(self.selected_index(&rows)).copied()
    }

    /// The selected product's position among `rows` (0 if it is not there).
    pub fn selected_index(&self, rows: &[&ProductRow]) -> usize {
        self.selected
            .as_deref()
            .and_then(|id| rows.iter().position(|r| r.product_id == id))
            .unwrap_or(0)
    }

    /// Applies a key, given the product ids of the rows on screen in their
    /// order; returns what the host must do.
    pub fn on_key(&mut self, key: KeyEvent, rows: &[&str]) -> Option<Command> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return Some(Command::Quit);
        }
        if self.filtering {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => self.filtering = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => {}
            }
            // The first match is selected while the filter changes.
            self.selected = None;
            return None;
        }
        if self.confirm_quit {
            self.confirm_quit = false;
            if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                self.quit = true;
                return Some(Command::Quit);
            }
            return None;
        }
        if self.help {
            // Any key closes the help and does nothing else (Esc included:
            // in `serve --tui` quitting stops the service).
            self.help = false;
            return None;
        }
        let at = self
            .selected
            .as_deref()
            .and_then(|id| rows.iter().position(|r| *r == id))
            .unwrap_or(0);
        let mut select = |i: usize| {
            if let Some(id) = rows.get(i) {
                self.selected = Some(id.to_string());
            }
            None
        };
        // Esc backs out of a focused chart or an applied filter before it quits.
        if key.code == KeyCode::Esc && (self.chart_focus || !self.filter.is_empty()) {
            if self.chart_focus {
                self.chart_focus = false;
            } else {
                self.filter.clear();
            }
            return None;
        }
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                select((at + 1).min(rows.len().saturating_sub(1)))
            }
            KeyCode::Up | KeyCode::Char('k') => select(at.saturating_sub(1)),
            KeyCode::Char('q') | KeyCode::Esc if self.live => {
                // Quitting here stops the production service: ask first.
                self.confirm_quit = true;
                None
            }
            KeyCode::Char('q') | KeyCode::Esc => {
                self.quit = true;
                Some(Command::Quit)
            }
            KeyCode::Char('+' | '=' | '-') if self.live => None,
            KeyCode::Enter => {
                self.chart_focus = !self.chart_focus;
                None
            }
            KeyCode::Char('s') => {
                // The selection stays on its product in the new order.
                self.sort = self.sort.next();
                None
            }
            KeyCode::Char('/') => {
                self.filtering = true;
                None
            }
            KeyCode::Char(' ') => {
                self.paused = !self.paused;
                Some(Command::Pause(self.paused))
            }
            KeyCode::Char('+') | KeyCode::Char('=') => self.step_speed(1),
            KeyCode::Char('-') => self.step_speed(-1),
            KeyCode::Char('K') => {
                self.kill_switch = !self.kill_switch;
                Some(Command::KillSwitch(self.kill_switch))
            }
            KeyCode::Char('?') => {
                self.help = true;
                None
            }
            _ => None,
        }
    }

    fn step_speed(&mut self, dir: i32) -> Option<Command> {
        let at = SPEEDS
            .iter()
            .position(|s| match (s, self.speed) {
                (None, None) => true,
                (Some(a), Some(b)) => *a >= b,
                _ => false,
            })
            .unwrap_or(SPEEDS.len() - 1) as i32;
        let next = (at + dir).clamp(0, SPEEDS.len() as i32 - 1) as usize;
        self.speed = SPEEDS[next];
        Some(Command::Speed(self.speed))
    }
}

/// Every key, for the help overlay and the README.
pub const KEYS: [(&str, &str); 12] = [
    ("↑/↓  j/k", "select a product"),
    ("Enter", "focus the chart on the selected product"),
    ("s", "cycle sort: trend, change, demand, name"),
    ("/", "filter by product or brand (Enter/Esc to finish)"),
    ("space", "pause / resume the simulation"),
    ("+ / -", "faster / slower (1× … 3600×, max)"),
    ("K", "toggle the global kill switch (through the pricer)"),
    ("?", "this help"),
    ("Esc", "leave the chart, clear the filter, or quit"),
    ("q", "quit (from the main screen)"),
    ("Ctrl-C", "quit"),
    ("any key", "close this help"),
];
