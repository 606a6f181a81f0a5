//! SVG charts for the report (plotters, SVG backend: no fonts or images to ship).

use plotters::prelude::*;

/// One line of a chart: a label, a colour and (x, y) points.
pub struct Line {
    pub label: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    /// Draw as steps (a price holds until it changes).
    pub steps: bool,
}

/// A vertical marker (a celebrity moment).
pub struct Marker<'a> {
    pub x: f64,
    pub label: &'a str,
}

pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(127, 127, 127),
];

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// How a chart frames its data.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub x_label: &'a str,
    /// Only this x range (a zoom); all the data when `None`.
    pub x_range: Option<(f64, f64)>,
    /// The y axis starts at zero (counts, totals) or hugs the data (prices).
    pub y_from_zero: bool,
    pub size: (u32, u32),
    /// x is hours since this moment: label the axis in clock time.
    pub clock_from: Option<pipeline::Millis>,
}

impl Frame<'_> {
    /// The whole run, x in clock time, y from zero.
    pub fn whole_run(start: pipeline::Millis, size: (u32, u32)) -> Frame<'static> {
        Frame {
            x_label: "time (UTC)",
            x_range: None,
            y_from_zero: true,
            size,
            clock_from: Some(start),
        }
    }
}

/// A line chart of the whole run as an SVG document (x in hours since
/// `start`, labelled in clock time).
pub fn line_chart(
    title: &str,
    y_label: &str,
    lines: &[Line],
    markers: &[Marker<'_>],
    start: pipeline::Millis,
    size: (u32, u32),
) -> String {
    framed_chart(
        title,
        y_label,
        lines,
        markers,
        Frame::whole_run(start, size),
    )
}

/// A line chart within a frame (a zoomed x range, a y axis that need not start at zero).
pub fn framed_chart(
    title: &str,
    y_label: &str,
    lines: &[Line],
    markers: &[Marker<'_>],
    frame: Frame<'_>,
) -> String {
    let mut svg = String::new();
    let result = draw(&mut svg, title, y_label, lines, markers, frame);
    if let Err(e) = result {
        return format!("<p>chart {title:?} could not be drawn: {e}</p>");
    }
    legend(lines) + &svg
}

/// The legend above the chart, in the page, where it cannot cover a line
/// or a marker's label.
fn legend(lines: &[Line]) -> String {
    let items: String = lines
        .iter()
        .map(|l| {
            let RGBColor(r, g, b) = l.color;
            format!(
                "<span style=\"margin-right:16px\"><span style=\"display:inline-block;width:18px;\
                 height:3px;vertical-align:middle;margin-right:4px;background:rgb({r},{g},{b})\"></span>{}</span>",
                crate::report::esc(&l.label)
            )
        })
        .collect();
    format!("<div class=\"legend\" style=\"font-size:13px;margin:12px 0 -4px 72px\">{items}</div>")
}

/// A line's points inside the x range, with the step held at the range's
/// start, so a zoomed price line does not begin empty.
fn clip(points: &[(f64, f64)], range: Option<(f64, f64)>) -> Vec<(f64, f64)> {
    let Some((a, b)) = range else {
        return points.to_vec();
    };
    let before = points.iter().rev().find(|p| p.0 < a).map(|p| (a, p.1));
    before
        .into_iter()
        .chain(points.iter().copied().filter(|p| p.0 >= a && p.0 <= b))
        .collect()
}

fn draw(
    svg: &mut String,
    title: &str,
    y_label: &str,
    lines: &[Line],
    markers: &[Marker<'_>],
    frame: Frame<'_>,
) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, frame.size).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let clipped: Vec<Vec<(f64, f64)>> = lines
        .iter()
        .map(|l| clip(&l.points, frame.x_range))
        .collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in clipped.iter().flatten() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if let Some((a, b)) = frame.x_range {
        (x0, x1) = (a, b);
    }
    if x0 >= x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    let (y0, y1) = if frame.y_from_zero {
        (0.0, if y1 > 0.0 { y1 * 1.08 } else { 1.0 })
    } else {
        let pad = ((y1 - y0) * 0.08).max(y1.abs() * 0.02).max(0.5);
        (y0 - pad, y1 + pad)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(frame.x_label)
        .x_label_formatter(&|x| match frame.clock_from {
            // "11-25 14:00": the month-day and time of a RFC 3339 stamp.
            Some(start) => {
                let t = start + (x * 3_600_000.0).round() as pipeline::Millis;
                let s = pipeline::time::format_rfc3339(t);
                s.get(5..16).map_or(s.clone(), |x| x.replace('T', " "))
            }
            None => format!("{x:.0}"),
        })
        // No spurious decimals ("120000.0"): as many as the span needs.
        .y_label_formatter(&|y| {
            let decimals = if y1 - y0 >= 20.0 { 0 } else { 1 };
            format!("{y:.decimals$}")
        })
        .y_desc(y_label)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for m in markers.iter().filter(|m| m.x >= x0 && m.x <= x1) {
        chart
            .draw_series(LineSeries::new(
                [(m.x, y0), (m.x, y1)],
                ShapeStyle::from(&RGBColor(120, 120, 120)).stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                m.label.to_string(),
                (m.x, y1 - (y1 - y0) * 0.03),
                ("sans-serif", 12).into_font().color(&RGBColor(90, 90, 90)),
            )))
            .map_err(err)?;
    }
    let n = lines.len() as u32;
    for (i, (l, points)) in lines.iter().zip(&clipped).enumerate() {
        let pts: Vec<(f64, f64)> = if l.steps {
            points
                .windows(2)
                .flat_map(|w| [w[0], (w[1].0, w[0].1)])
                .chain(points.last().copied())
                .collect()
        } else {
            points.clone()
        };
        let color = l.color;
        // Earlier lines are drawn wider, so one hidden under a later line still shows.
        let width = 1 + (n - 1 - i as u32).min(4);
        chart
            .draw_series(LineSeries::new(
                pts,
                ShapeStyle::from(&color).stroke_width(width),
            ))
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}
