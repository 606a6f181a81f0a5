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

/// A line chart as an SVG document (x in hours since the start).
pub fn line_chart(
    title: &str,
    y_label: &str,
    lines: &[Line],
    markers: &[Marker<'_>],
    size: (u32, u32),
) -> String {
    let mut svg = String::new();
    let result = draw(&mut svg, title, y_label, lines, markers, size);
    if let Err(e) = result {
        return format!("<p>chart {title:?} could not be drawn: {e}</p>");
    }
    svg
}

fn draw(
    svg: &mut String,
    title: &str,
    y_label: &str,
    lines: &[Line],
    markers: &[Marker<'_>],
    size: (u32, u32),
) -> Result<(), String> {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let all = lines.iter().flat_map(|l| l.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 >= x1 {
        (x0, x1) = (0.0, 1.0);
    }
    let y1 = if y1 > 0.0 { y1 * 1.08 } else { 1.0 };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, 0.0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("hours since start")
        .y_desc(y_label)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for m in markers.iter().filter(|m| m.x >= x0 && m.x <= x1) {
        chart
            .draw_series(LineSeries::new(
                [(m.x, 0.0), (m.x, y1)],
                ShapeStyle::from(&RGBColor(120, 120, 120)).stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                m.label.to_string(),
                (m.x, y1 * 0.97),
                ("sans-serif", 12).into_font().color(&RGBColor(90, 90, 90)),
            )))
            .map_err(err)?;
    }
    for l in lines {
        let pts: Vec<(f64, f64)> = if l.steps {
            l.points
                .windows(2)
                .flat_map(|w| [w[0], (w[1].0, w[0].1)])
                .chain(l.points.last().copied())
                .collect()
        } else {
            l.points.clone()
        };
        let color = l.color;
        chart
            .draw_series(LineSeries::new(
                pts,
                ShapeStyle::from(&color).stroke_width(2),
            ))
            .map_err(err)?
            .label(l.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(
                    [(x, y), (x + 18, y)],
                    ShapeStyle::from(&color).stroke_width(2),
                )
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
