//! Rendering: a pure function of the app state and a snapshot.

use pipeline::Millis;
use pipeline::time::format_rfc3339;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, TableState,
};

use crate::app::{App, KEYS};
use crate::snapshot::{ProductRow, Snapshot};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A text sparkline of the last `width` values, scaled to their maximum.
pub fn sparkline(values: &[f32], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().cloned().fold(0.0f32, f32::max);
    tail.iter()
        .map(|v| {
            if max <= 0.0 {
                BARS[0]
            } else {
                BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

fn clock(t: Millis) -> String {
    let s = format_rfc3339(t);
    // "2026-11-25T14:03:20Z" → "Wed 14:03:20" style without a calendar library: date and time.
    s.get(5..19).map(|x| x.replace('T', " ")).unwrap_or(s)
}

/// An x-axis label in clock time ("14:00"; the day is in the status bar).
fn axis_time(snap: &Snapshot, x_hours: f64) -> String {
    let t = snap.start + (x_hours * 3_600_000.0).round() as Millis;
    clock(t).get(6..11).unwrap_or_default().to_string()
}

fn hours(snap: &Snapshot, t: Millis) -> f64 {
    (t - snap.start) as f64 / 3_600_000.0
}

pub fn draw(f: &mut Frame, app: &App, snap: &Snapshot) {
    let area = f.area();
    if snap.scenario.is_empty() {
        // Nothing reported yet (a service connecting, leasing shards).
        let text = "pricestream — connecting; waiting for the first window… (Ctrl-C quits)";
        let [_, mid, _] = Layout::vertical([
            Constraint::Percentage(45),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        f.render_widget(Paragraph::new(text).centered(), mid);
        return;
    }
    let bottom_h = if area.height >= 40 { 10 } else { 7 };
    let [status, body, bottom, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(bottom_h),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_status(f, status, snap);
    if app.chart_focus {
        draw_chart(f, body, app, snap);
    } else if area.width >= 120 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
                .areas(body);
        draw_table(f, left, app, snap);
        draw_chart(f, right, app, snap);
    } else {
        let [top, low] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        draw_table(f, top, app, snap);
        draw_chart(f, low, app, snap);
    }
    let [pipe, log] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(bottom);
    draw_pipeline(f, pipe, snap);
    draw_decisions(f, log, snap);
    draw_footer(f, footer, app, snap);
    if app.help {
        draw_help(f, area);
    }
}

fn draw_status(f: &mut Frame, area: Rect, snap: &Snapshot) {
    let speed = match snap.speed {
        _ if snap.live => "live".into(),
        Some(s) => format!("speed {s:.0}×"),
        None => "speed max".into(),
    };
    let mut spans = vec![Span::styled(
        " pricestream ",
        Style::new()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    )];
    // Badges first, so a narrow terminal never hides them.
    if snap.paused {
        spans.push(Span::styled(
            " PAUSED ",
            Style::new().fg(Color::Black).bg(Color::Yellow),
        ));
    }
    if snap.kill_switch {
        spans.push(Span::styled(
            " KILL SWITCH ON ",
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        ));
    }
    if snap.finished {
        spans.push(Span::styled(
            " FINISHED ",
            Style::new().fg(Color::Black).bg(Color::Green),
        ));
    }
    // A sighting passed in the last three simulated hours is announced, so
    // a fast speed never skips one unnoticed.
    if let Some((t, label)) = snap
        .moments
        .iter()
        .filter(|(t, _)| *t <= snap.clock && snap.clock - *t < 3 * 3_600_000)
        .max_by_key(|(t, _)| *t)
    {
        spans.push(Span::styled(
            format!(" ▶ {} {label} ", clock(*t).get(6..11).unwrap_or_default()),
            Style::new().fg(Color::Black).bg(Color::Magenta),
        ));
    }
    let version: String = snap.model_version.chars().take(40).collect();
    spans.push(Span::raw(format!(
        " {} · {} · {} · policy {} ({}) ",
        clock(snap.clock),
        snap.scenario,
        speed,
        snap.policy,
        version
    )));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn change_cell(r: &ProductRow) -> Cell<'static> {
    let c = r.change();
    let (arrow, color) = if c > 0.0005 {
        ("▲", Color::Green)
    } else if c < -0.0005 {
        ("▼", Color::Red)
    } else {
        ("·", Color::DarkGray)
    };
    Cell::from(format!("{arrow}{:+.1}%", c * 100.0)).style(Style::new().fg(color))
}

fn draw_table(f: &mut Frame, area: Rect, app: &App, snap: &Snapshot) {
    let wide = area.width >= 100;
    let rows = app.rows(snap);
    let mut header = vec!["product"];
    if wide {
        header.extend(["brand", "base"]);
    }
    header.extend(["price", "change", "v/min", "trend", "stock", "rule"]);
    let spark = if wide { 12 } else { 8 };
    let body: Vec<Row> = rows
        .iter()
        .map(|r| {
            let mut cells = vec![Cell::from(r.product_id.clone())];
            if wide {
                cells.push(Cell::from(r.brand.clone()));
                cells.push(Cell::from(format!("{:.2}", r.base_price)));
            }
            let demand: Vec<f32> = r.demand.iter().map(|d| d.1).collect();
            let cover = if r.days_of_cover >= 365.0 {
                "∞".to_string()
            } else {
                format!("{:.0}d", r.days_of_cover)
            };
            cells.extend([
                Cell::from(format!("{:.2}", r.price)),
                change_cell(r),
                Cell::from(format!("{:.1}", r.views_per_minute)),
                Cell::from(sparkline(&demand, spark)).style(Style::new().fg(Color::Cyan)),
                Cell::from(format!("{}/{}", r.inventory, cover)),
                Cell::from(r.last_rule.clone().unwrap_or_default()),
            ]);
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![Constraint::Length(9)];
    if wide {
        widths.extend([Constraint::Length(9), Constraint::Length(7)]);
    }
    widths.extend([
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(spark as u16),
        Constraint::Length(8),
        Constraint::Min(6),
    ]);
    let title = format!(
        " prices · sort {} · {} of {}{} ",
        app.sort.label(),
        rows.len(),
        snap.products.len(),
        if app.filter.is_empty() {
            String::new()
        } else {
            format!(" · filter \"{}\"", app.filter)
        }
    );
    let table = Table::new(body, widths)
        .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(Block::default().borders(Borders::ALL).title(title))
        .row_highlight_style(
            Style::new()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD),
        );
    let mut state = TableState::default().with_selected(Some(app.selected_index(&rows)));
    f.render_stateful_widget(table, area, &mut state);
}

fn draw_chart(f: &mut Frame, area: Rect, app: &App, snap: &Snapshot) {
    let Some(row) = app.selected_row(snap) else {
        f.render_widget(
            Paragraph::new("no product matches").block(Block::default().borders(Borders::ALL)),
            area,
        );
        return;
    };
    let x0 = row
        .prices
        .first()
        .map_or(hours(snap, snap.start), |p| hours(snap, p.0));
    let x1 = hours(snap, snap.clock).max(x0 + 0.1);
    let prices: Vec<(f64, f64)> = row.prices.iter().map(|p| (hours(snap, p.0), p.1)).collect();
    let demand: Vec<(f64, f64)> = row
        .demand
        .iter()
        .map(|d| (hours(snap, d.0), f64::from(d.1)))
        .collect();
    let y_price = price_bounds(&prices, row.base_price);
    let y_demand = [0.0, demand.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1];
    let marks = |[lo, hi]: [f64; 2]| -> Vec<Vec<(f64, f64)>> {
        snap.moments
            .iter()
            .map(|(t, _)| hours(snap, *t))
            .filter(|x| (x0..=x1).contains(x))
            .map(|x| vec![(x, lo), (x, hi)])
            .collect()
    };
    let price_marks = marks(y_price);
    let demand_marks = marks(y_demand);
    let chart = |title: String,
                 data: &[(f64, f64)],
                 marks: &[Vec<(f64, f64)>],
                 [ymin, ymax]: [f64; 2],
                 color: Color,
                 area: Rect,
                 f: &mut Frame| {
        let mut sets = vec![
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(color))
                .data(data),
        ];
        for m in marks {
            sets.push(
                Dataset::default()
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(Style::new().fg(Color::Yellow))
                    .data(m),
            );
        }
        let c = Chart::new(sets)
            .block(Block::default().borders(Borders::ALL).title(title))
            .x_axis(
                Axis::default()
                    .bounds([x0, x1])
                    .labels([x0, (x0 + x1) / 2.0, x1].map(|x| axis_time(snap, x))),
            )
            .y_axis(
                Axis::default()
                    .bounds([ymin, ymax])
                    .labels([format!("{ymin:.0}"), format!("{ymax:.0}")]),
            );
        f.render_widget(c, area);
    };
    let moment = snap
        .moments
        .iter()
        .filter(|(t, _)| *t <= snap.clock)
        .max_by_key(|(t, _)| *t)
        .map(|m| format!(" · │ {}", m.1))
        .unwrap_or_default();
    if area.height < 14 {
        // Too short for two charts: demand only, the price in the title.
        let title = format!(
            " {} views/min {:.1} · price {:.2}{} · Enter: price chart{} ",
            row.product_id,
            row.views_per_minute,
            row.price,
            stock_label(row),
            moment
        );
        chart(
            title,
            &demand,
            &demand_marks,
            y_demand,
            Color::Cyan,
            area,
            f,
        );
        return;
    }
    let [top, low] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    chart(
        format!(
            " {} price {:.2}{}{} ",
            row.product_id,
            row.price,
            stock_label(row),
            moment
        ),
        &prices,
        &price_marks,
        y_price,
        Color::Green,
        top,
        f,
    );
    chart(
        format!(" {} views/min {:.1} ", row.product_id, row.views_per_minute),
        &demand,
        &demand_marks,
        y_demand,
        Color::Cyan,
        low,
        f,
    );
}

/// Stock next to the price: a drop to the floor after a sell-out explains itself.
fn stock_label(row: &ProductRow) -> String {
    if row.inventory <= 0 {
        " · SOLD OUT".to_string()
    } else {
        format!(" · stock {} ({:.0}d)", row.inventory, row.days_of_cover)
    }
}

/// The price axis fitted to the data and the list price (a 54–73 move is
/// not drawn on 0–73), with a little room above and below.
fn price_bounds(prices: &[(f64, f64)], base: f64) -> [f64; 2] {
    let (lo, hi) = prices
        .iter()
        .map(|p| p.1)
        .fold((base, base), |(lo, hi), p| (lo.min(p), hi.max(p)));
    let pad = ((hi - lo) * 0.1).max(base * 0.02).max(0.5);
    [(lo - pad).max(0.0), hi + pad]
}

fn draw_pipeline(f: &mut Frame, area: Rect, snap: &Snapshot) {
    let lag = snap.watermark.map(|w| (snap.clock - w) / 1000);
    let dead = if snap.dead_letters.is_empty() {
        "none".to_string()
    } else {
        snap.dead_letters
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let lines = vec![
        Line::from(format!(
            "events {} ({:.0}/s)",
            snap.events, snap.rates.events_per_sec
        )),
        Line::from(format!(
            "watermark {} lag {}s",
            snap.watermark.map_or("—".into(), clock),
            lag.map_or("—".into(), |l| l.to_string())
        )),
        Line::from(format!(
            "windows {} · changes {}",
            snap.windows_closed, snap.price_changes
        )),
        Line::from(format!("dead letters: {dead}")),
        Line::from(format!(
            "model {:.0} µs/batch · revenue {:.0}",
            snap.rates.model_latency_us, snap.revenue
        )),
    ];
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" pipeline ")),
        area,
    );
}

fn draw_decisions(f: &mut Frame, area: Rect, snap: &Snapshot) {
    let lines: Vec<Line> = snap
        .decisions
        .iter()
        .take(area.height.saturating_sub(2) as usize)
        .map(|d| {
            let style = if d.applied {
                Style::new().fg(Color::Green)
            } else {
                Style::new().fg(Color::DarkGray)
            };
            let change = if d.applied {
                format!("{:.2}→{:.2}", d.from, d.to)
            } else {
                format!("{:.2}", d.from)
            };
            Line::styled(
                format!(
                    "{} {} {} {}",
                    clock(d.window_end).get(6..).unwrap_or(""),
                    d.product_id,
                    d.rule,
                    change
                ),
                style,
            )
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" decisions ")),
        area,
    );
}

fn draw_footer(f: &mut Frame, area: Rect, app: &App, snap: &Snapshot) {
    // A service has no speed to change.
    let speed = if snap.live { "" } else { " · +/- speed" };
    let text = if app.confirm_quit {
        " quit and stop the service? y: yes, any other key: no".to_string()
    } else if app.filtering {
        format!(" filter: {}▏ (Enter to finish)", app.filter)
    } else if area.width >= 92 {
        format!(
            " ? help · ↑↓ select · s sort · / filter · space pause{speed} · K kill switch · q quit"
        )
    } else {
        // Narrow terminals: every key still fits, quit included.
        let speed = if snap.live { "" } else { " · +/-" };
        format!(" ? help · ↑↓ · Enter chart · s sort · / filter · space{speed} · K · q quit")
    };
    let style = if app.confirm_quit {
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    f.render_widget(Paragraph::new(text).style(style), area);
}

fn draw_help(f: &mut Frame, area: Rect) {
    let w = 64.min(area.width);
    let h = (KEYS.len() as u16 + 2).min(area.height);
    let popup = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {k:<10}"),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ])
        })
        .collect();
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" keys ")),
        popup,
    );
}
