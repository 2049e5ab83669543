//! Small SVG line charts of a measure across results, written by hand (no
//! plotting crate): a point per result at its median, an error bar from its
//! min to its max, y axis in the measure's unit with tick labels, x axis in
//! time order. Used by `trends --plot` (one file, a grid of charts) and by
//! the results page (each chart inline).

use crate::config::Better;
use crate::reports::markdown::format_value;
use crate::results::series::Series;
use std::fmt::Write as _;

/// One result on a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPoint {
    /// Tick label under the point (a short date).
    pub x_label: String,
    /// Hover text: which result, and its exact numbers.
    pub tooltip: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// One measure across results.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub subtitle: String,
    /// The measure's unit as recorded (`s`, `B`, `records/s`, ...).
    pub unit: String,
    pub points: Vec<ChartPoint>,
    /// Where the series shifted: the index of the first point at the new
    /// level, and the label drawn there (`+12.3 %`).
    pub shifts: Vec<(usize, String)>,
    /// Where the points lie along x: in order (`None`, a result's time
    /// order), or at a value each, such as a scale's parameter.
    pub x_axis: Option<XAxis>,
}

/// An x axis of values: one per point, in the points' order.
#[derive(Debug, Clone, PartialEq)]
pub struct XAxis {
    /// What the values are (a parameter's name).
    pub name: String,
    pub values: Vec<f64>,
    /// Spaced by their logarithm (values that span decades).
    pub log: bool,
}

pub const WIDTH: f64 = 460.0;
pub const HEIGHT: f64 = 280.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 36.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 62.0;
/// Tick labels closer than this (px) would overlap: every k-th is shown.
const MIN_LABEL_SPACING: f64 = 72.0;

pub const LEGEND: &str = "● median of the result's runs; bar: min…max of those runs";

/// A unit to show values in, and the divisor from the recorded unit: 0.0123 s
/// reads better as 12.3 ms.
pub fn display_unit(unit: &str, largest: f64) -> (f64, String) {
    let largest = largest.abs();
    if let Some(seconds) = crate::reports::units::seconds_per(unit) {
        let (size, shown) = crate::reports::units::time_unit(largest * seconds);
        return (size / seconds, shown.into());
    }
    match unit {
        "B" => {
            let (divisor, unit) = crate::reports::markdown::byte_unit(largest);
            (divisor, unit.into())
        }
        _ if largest >= 1e9 => (1e9, format!("G{unit}")),
        _ if largest >= 1e6 => (1e6, format!("M{unit}")),
        _ if largest >= 1e4 => (1e3, format!("k{unit}")),
        _ => (1.0, unit.to_string()),
    }
}

/// Round tick values (1, 2 or 5 × 10^k apart) covering `[low, high]`.
pub fn nice_ticks(low: f64, high: f64, target: usize) -> Vec<f64> {
    let (low, high) = if high > low {
        (low, high)
    } else {
        (low - 0.5, low + 0.5)
    };
    let raw = (high - low) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).floor() as i64;
    let last = (high / step).ceil() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A tick label: as many decimals as the step needs, no more.
fn tick_label(value: f64, step: f64) -> String {
    let decimals = (0..7)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6) as usize;
    let text = format!("{value:.decimals$}");
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".into()
    } else {
        text
    }
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Compact numbers for SVG coordinates.
fn n(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One chart as an `<svg>` element, `WIDTH` × `HEIGHT`, placed at (x, y)
/// when nested in a bigger SVG.
pub fn render(chart: &Chart, x: f64, y: f64) -> String {
    let mut out = String::new();
    frame(&mut out, chart, x, y);
    let Some(plot) = Plot::of(chart) else {
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{}" font-size="12" fill="#57606a">no data</text>"##,
            n(LEFT),
            n(TOP + PLOT_H / 2.0)
        );
        out.push_str("</svg>\n");
        return out;
    };
    grid(&mut out, &plot);
    axes(&mut out, chart, &plot);
    x_ticks(&mut out, chart, &plot);
    shifts(&mut out, chart, &plot);
    series(&mut out, chart, &plot);
    let _ = writeln!(
        out,
        r##"<text class="legend" x="12" y="{}" font-size="9.5" fill="#57606a">{LEGEND}</text>"##,
        n(HEIGHT - 7.0)
    );
    out.push_str("</svg>\n");
    out
}

const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

/// Where a chart's values land: the y axis's range in the unit shown, and
/// the x position of each result.
struct Plot {
    divisor: f64,
    shown_unit: String,
    ticks: Vec<f64>,
    step: f64,
    axis_low: f64,
    span: f64,
    count: usize,
    /// Each point's x, when the chart has an axis of values.
    x_positions: Option<Vec<f64>>,
    /// y by logarithm: a chart across scales whose values span decades,
    /// where a linear axis would flatten the small scales onto zero.
    /// `axis_low` and `span` are then in decades.
    log_y: bool,
}

/// How many times the largest value must exceed the smallest for a chart
/// across scales to read y by logarithm.
const LOG_Y_RATIO: f64 = 100.0;

impl Plot {
    /// The axes that hold every point's bar; none without points.
    fn of(chart: &Chart) -> Option<Plot> {
        if chart.points.is_empty() {
            return None;
        }
        let largest = chart
            .points
            .iter()
            .map(|p| p.max.abs().max(p.min.abs()))
            .fold(0.0, f64::max);
        let (divisor, shown_unit) = display_unit(&chart.unit, largest);
        let low = chart
            .points
            .iter()
            .map(|p| p.min.min(p.median))
            .fold(f64::INFINITY, f64::min)
            / divisor;
        let high = chart
            .points
            .iter()
            .map(|p| p.max.max(p.median))
            .fold(f64::NEG_INFINITY, f64::max)
            / divisor;
        if chart.x_axis.is_some() && low > 0.0 && high / low >= LOG_Y_RATIO {
            // A value that is a power of ten is its own tick, whatever
            // the last bit of its logarithm.
            let (first, last) = ((low.log10() + 1e-9).floor(), (high.log10() - 1e-9).ceil());
            return Some(Plot {
                divisor,
                shown_unit,
                ticks: (first as i32..=last as i32)
                    .map(|k| 10f64.powi(k))
                    .collect(),
                step: 1.0,
                axis_low: first,
                span: (last - first).max(1.0),
                count: chart.points.len(),
                x_positions: chart.x_axis.as_ref().map(x_positions),
                log_y: true,
            });
        }
        let ticks = nice_ticks(low, high, 5);
        let step = if ticks.len() > 1 {
            ticks[1] - ticks[0]
        } else {
            1.0
        };
        let (axis_low, axis_high) = (ticks[0], *ticks.last().unwrap_or(&ticks[0]));
        let span = if axis_high > axis_low {
            axis_high - axis_low
        } else {
            1.0
        };
        Some(Plot {
            divisor,
            shown_unit,
            ticks,
            step,
            axis_low,
            span,
            count: chart.points.len(),
            x_positions: chart.x_axis.as_ref().map(x_positions),
            log_y: false,
        })
    }

    /// The y of a value in the recorded unit.
    fn y_of(&self, v: f64) -> f64 {
        self.tick_y(v / self.divisor)
    }

    /// The y of a value (or tick) already in the unit shown.
    fn tick_y(&self, shown: f64) -> f64 {
        let at = match self.log_y {
            true => shown.max(f64::MIN_POSITIVE).log10(),
            false => shown,
        };
        TOP + PLOT_H - (at - self.axis_low) / self.span * PLOT_H
    }

    /// A tick's label: a power of ten on a log axis needs the decimals of
    /// its own size.
    fn tick_text(&self, tick: f64) -> String {
        tick_label(tick, if self.log_y { tick } else { self.step })
    }

    fn x_of(&self, i: usize) -> f64 {
        if let Some(x) = self.x_positions.as_ref().and_then(|xs| xs.get(i)) {
            return *x;
        }
        if self.count == 1 {
            LEFT + PLOT_W / 2.0
        } else {
            LEFT + 12.0 + (PLOT_W - 24.0) * i as f64 / (self.count - 1) as f64
        }
    }
}

/// The x of each value of an axis: linear or by logarithm between the
/// smallest and the largest, with the plot's margins.
fn x_positions(axis: &XAxis) -> Vec<f64> {
    let at = |v: f64| {
        if axis.log {
            v.max(f64::MIN_POSITIVE).log10()
        } else {
            v
        }
    };
    let low = axis
        .values
        .iter()
        .map(|v| at(*v))
        .fold(f64::INFINITY, f64::min);
    let high = axis
        .values
        .iter()
        .map(|v| at(*v))
        .fold(f64::NEG_INFINITY, f64::max);
    axis.values
        .iter()
        .map(|v| {
            if high > low {
                LEFT + 12.0 + (PLOT_W - 24.0) * (at(*v) - low) / (high - low)
            } else {
                LEFT + PLOT_W / 2.0
            }
        })
        .collect()
}

/// The `<svg>` element's opening, its background, title and subtitle.
fn frame(out: &mut String, chart: &Chart, x: f64, y: f64) {
    let _ = writeln!(
        out,
        r#"<svg class="chart" x="{}" y="{}" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}">"#,
        n(x),
        n(y),
        escape(&chart.title)
    );
    let _ = writeln!(
        out,
        r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff" stroke="#d0d7de"/>"##
    );
    let _ = writeln!(
        out,
        r##"<text x="12" y="18" font-size="13" font-weight="bold" fill="#1f2328">{}</text>"##,
        escape(&chart.title)
    );
    let _ = writeln!(
        out,
        r##"<text x="12" y="33" font-size="10" fill="#57606a">{}</text>"##,
        escape(&chart.subtitle)
    );
}

/// A grid line and a label per y tick.
fn grid(out: &mut String, plot: &Plot) {
    for tick in &plot.ticks {
        let ty = plot.tick_y(*tick);
        let _ = writeln!(
            out,
            r##"<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#eaeef2"/><text class="y-tick" x="{}" y="{}" font-size="10" text-anchor="end" fill="#57606a">{}</text>"##,
            n(LEFT),
            n(ty),
            n(LEFT + PLOT_W),
            n(ty),
            n(LEFT - 6.0),
            n(ty + 3.5),
            plot.tick_text(*tick)
        );
    }
}

/// The axes, the y axis named by the unit shown, the x axis by the order
/// or by what its values are.
fn axes(out: &mut String, chart: &Chart, plot: &Plot) {
    let _ = writeln!(
        out,
        r##"<path class="axes" d="M{} {}V{}H{}" fill="none" stroke="#57606a"/>"##,
        n(LEFT),
        n(TOP),
        n(TOP + PLOT_H),
        n(LEFT + PLOT_W)
    );
    let _ = writeln!(
        out,
        r##"<text class="y-label" transform="translate(14 {}) rotate(-90)" font-size="11" text-anchor="middle" fill="#1f2328">{}</text>"##,
        n(TOP + PLOT_H / 2.0),
        match plot.log_y {
            true => format!("{} (log scale)", escape(&plot.shown_unit)),
            false => escape(&plot.shown_unit),
        }
    );
    let _ = writeln!(
        out,
        r##"<text class="x-label" x="{}" y="{}" font-size="10" text-anchor="middle" fill="#57606a">{}</text>"##,
        n(LEFT + PLOT_W / 2.0),
        n(HEIGHT - 22.0),
        match &chart.x_axis {
            None => "results in time order (created, UTC)".to_string(),
            Some(axis) if axis.log => format!("{} (log scale)", escape(&axis.name)),
            Some(axis) => escape(&axis.name),
        }
    );
}

/// X tick labels, thinned so they do not overlap, counted from the newest
/// result so that it is always labelled.
fn x_ticks(out: &mut String, chart: &Chart, plot: &Plot) {
    let count = plot.count;
    let spacing = if count > 1 {
        (PLOT_W - 24.0) / (count - 1) as f64
    } else {
        PLOT_W
    };
    let every = (MIN_LABEL_SPACING / spacing).ceil().max(1.0) as usize;
    // On an axis of values, a label is drawn where it clears the one drawn
    // to its right.
    let mut shown = vec![false; count];
    let mut last_x = f64::INFINITY;
    for i in (0..count).rev() {
        shown[i] = match &plot.x_positions {
            Some(_) => last_x - plot.x_of(i) >= MIN_LABEL_SPACING * 0.6,
            None => (count - 1 - i).is_multiple_of(every),
        };
        if shown[i] {
            last_x = plot.x_of(i);
        }
    }
    for (i, point) in chart.points.iter().enumerate() {
        if shown[i] {
            let _ = writeln!(
                out,
                r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#57606a"/><text class="x-tick" x="{x}" y="{}" font-size="9" text-anchor="middle" fill="#57606a">{}</text>"##,
                n(TOP + PLOT_H),
                n(TOP + PLOT_H + 4.0),
                n(TOP + PLOT_H + 15.0),
                escape(&point.x_label),
                x = n(plot.x_of(i))
            );
        }
    }
}

/// A shift: a dashed line just before the first result at the new level.
fn shifts(out: &mut String, chart: &Chart, plot: &Plot) {
    for (index, label) in &chart.shifts {
        if *index == 0 || *index >= plot.count {
            continue;
        }
        let x = (plot.x_of(index - 1) + plot.x_of(*index)) / 2.0;
        let _ = writeln!(
            out,
            r##"<g class="shift"><title>shift: {label}</title><line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#cf222e" stroke-dasharray="4 3"/><text x="{x}" y="{}" font-size="9.5" text-anchor="middle" fill="#cf222e">{label}</text></g>"##,
            n(TOP),
            n(TOP + PLOT_H),
            n(TOP - 4.0),
            label = escape(label),
            x = n(x),
        );
    }
}

/// The medians joined, then each result's bar and point.
fn series(out: &mut String, chart: &Chart, plot: &Plot) {
    let line: Vec<String> = chart
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{},{}", n(plot.x_of(i)), n(plot.y_of(p.median))))
        .collect();
    let _ = writeln!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#8cb4e0" stroke-width="1.5"/>"##,
        line.join(" ")
    );
    for (i, p) in chart.points.iter().enumerate() {
        let (x, y_low, y_high, y_mid) = (
            plot.x_of(i),
            plot.y_of(p.min),
            plot.y_of(p.max),
            plot.y_of(p.median),
        );
        let _ = writeln!(
            out,
            r##"<g class="point"><title>{}</title><path class="spread" d="M{x} {yl}V{yh}M{a} {yl}H{b}M{a} {yh}H{b}" stroke="#1f6feb" stroke-width="1.2" fill="none" data-min="{}" data-max="{}"/><circle cx="{x}" cy="{}" r="3.5" fill="#1f6feb" data-median="{}"/></g>"##,
            escape(&p.tooltip),
            p.min,
            p.max,
            n(y_mid),
            p.median,
            x = n(x),
            yl = n(y_low),
            yh = n(y_high),
            a = n(x - 4.0),
            b = n(x + 4.0),
        );
    }
}

/// A standalone SVG file: the charts in a grid under a title and legend.
pub fn render_file(title: &str, charts: &[Chart], columns: usize) -> String {
    let columns = columns.clamp(1, charts.len().max(1));
    let rows = charts.len().div_ceil(columns).max(1);
    let gap = 12.0;
    let header = 48.0;
    let width = columns as f64 * (WIDTH + gap) + gap;
    let height = header + rows as f64 * (HEIGHT + gap) + gap;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">"##,
        n(width),
        n(height),
        n(width),
        n(height)
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#f6f8fa"/>"##
    );
    let _ = writeln!(
        out,
        r##"<text x="{gap}" y="24" font-size="16" font-weight="bold" fill="#1f2328">{}</text>"##,
        escape(title)
    );
    let _ = writeln!(
        out,
        r##"<text x="{gap}" y="40" font-size="11" fill="#57606a">{LEGEND}</text>"##
    );
    for (i, chart) in charts.iter().enumerate() {
        let x = gap + (i % columns) as f64 * (WIDTH + gap);
        let y = header + (i / columns) as f64 * (HEIGHT + gap);
        out.push_str(&render(chart, x, y));
    }
    out.push_str("</svg>\n");
    out
}

/// The chart of a series: a point per result, its median with a min–max bar.
pub fn of_series(series: &Series) -> Chart {
    // Minutes suffice unless two results share one: then seconds too.
    let mut labels: Vec<String> = series
        .points
        .iter()
        .map(|p| short_time(&p.created, false))
        .collect();
    if labels.windows(2).any(|w| w[0] == w[1]) {
        labels = series
            .points
            .iter()
            .map(|p| short_time(&p.created, true))
            .collect();
    }
    let mut labels = labels.into_iter();
    Chart {
        title: series.measure.clone(),
        subtitle: format!(
            "{}{} · scale {} · {} is better · {} results",
            series.workload,
            series
                .params_text()
                .map(|p| format!(" {p}"))
                .unwrap_or_default(),
            series.scale,
            match series.better {
                Better::Higher => "higher",
                Better::Lower => "lower",
            },
            series.points.len()
        ),
        unit: series.unit.clone(),
        points: series
            .points
            .iter()
            .map(|p| ChartPoint {
                x_label: labels.next().unwrap_or_default(),
                tooltip: format!(
                    "{} ({})\nmedian {} · min {} · max {} · ± {} · {} runs",
                    p.dir,
                    p.created,
                    format_value(p.summary.median, &series.unit),
                    format_value(p.summary.min, &series.unit),
                    format_value(p.summary.max, &series.unit),
                    format_value(p.summary.stddev, &series.unit),
                    p.summary.n
                ),
                median: p.summary.median,
                min: p.summary.min,
                max: p.summary.max,
            })
            .collect(),
        shifts: series
            .shifts()
            .iter()
            .map(|shift| {
                (
                    shift.index,
                    format!("{:+.1} %", shift.relative_change * 100.0),
                )
            })
            .collect(),
        x_axis: None,
    }
}

/// `2026-11-22T04:05:06Z` → `11-22 04:05` (or `11-22 04:05:06`).
fn short_time(created: &str, seconds: bool) -> String {
    match (
        created.get(5..10),
        created.get(11..if seconds { 19 } else { 16 }),
    ) {
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => created.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(tag: &str, name: &str) -> f64 {
        let start = tag
            .find(&format!(" {name}=\""))
            .unwrap_or_else(|| panic!("no {name} in {tag}"))
            + name.len()
            + 3;
        tag[start..].split('"').next().unwrap().parse().unwrap()
    }

    fn tags<'a>(svg: &'a str, open: &str) -> Vec<&'a str> {
        svg.match_indices(open)
            .map(|(i, _)| &svg[i..i + svg[i..].find('>').unwrap()])
            .collect()
    }

    fn sample() -> Chart {
        let points = [
            (0.050, 0.045, 0.061),
            (0.052, 0.050, 0.055),
            (0.071, 0.066, 0.090),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(median, min, max))| ChartPoint {
            x_label: format!("11-2{i} 04:00"),
            tooltip: format!("run {i} <b>"),
            median,
            min,
            max,
        })
        .collect();
        Chart {
            title: "wall_s".into(),
            subtitle: "demo · default".into(),
            unit: "s".into(),
            points,
            shifts: Vec::new(),
            x_axis: None,
        }
    }

    /// Times across scales that span four decades read by logarithm:
    /// 10 ms, 1 s and 100 s a third of the plot's height apart each, not
    /// the two smaller ones flat on zero; a chart in time order stays
    /// linear.
    #[test]
    fn values_across_scales_that_span_decades_read_by_logarithm() {
        let point = |v: f64| ChartPoint {
            x_label: String::new(),
            tooltip: String::new(),
            median: v,
            min: v,
            max: v,
        };
        let mut chart = Chart {
            title: "wall_s".into(),
            subtitle: String::new(),
            unit: "s".into(),
            points: vec![point(0.01), point(1.0), point(100.0)],
            shifts: Vec::new(),
            x_axis: Some(XAxis {
                name: "subs".into(),
                values: vec![1e3, 1e5, 1e7],
                log: true,
            }),
        };
        let plot = Plot::of(&chart).unwrap();
        assert!(plot.log_y);
        let ys: Vec<f64> = [0.01, 1.0, 100.0].map(|v| plot.y_of(v)).to_vec();
        assert!((ys[0] - ys[1] - (ys[1] - ys[2])).abs() < 1e-9, "{ys:?}");
        assert!((ys[0] - ys[2] - PLOT_H).abs() < 1e-9, "{ys:?}");
        let svg = render(&chart, 0.0, 0.0);
        assert!(svg.contains(">s (log scale)</text>"), "{svg}");
        assert!(
            svg.contains(">0.01</text>") && svg.contains(">100</text>"),
            "{svg}"
        );
        chart.x_axis = None;
        assert!(!Plot::of(&chart).unwrap().log_y);
    }

    /// Values 1K, 10K and 10M on a log axis: a decade apart each, so the
    /// first two lie a third of the way as far apart as the last two.
    #[test]
    fn an_axis_of_values_places_points_by_their_logarithm() {
        let mut chart = sample();
        chart.x_axis = Some(XAxis {
            name: "subs <n>".into(),
            values: vec![1e3, 1e4, 1e7],
            log: true,
        });
        let svg = render(&chart, 0.0, 0.0);
        let xs: Vec<f64> = tags(&svg, "<circle")
            .iter()
            .map(|t| attr(t, "cx"))
            .collect();
        let (first, second) = (xs[1] - xs[0], xs[2] - xs[1]);
        assert!((second / first - 3.0).abs() < 0.01, "{xs:?}");
        assert!(svg.contains(">subs &lt;n&gt; (log scale)</text>"), "{svg}");
        chart.x_axis.as_mut().unwrap().log = false;
        let svg = render(&chart, 0.0, 0.0);
        let xs: Vec<f64> = tags(&svg, "<circle")
            .iter()
            .map(|t| attr(t, "cx"))
            .collect();
        assert!(
            xs[1] - xs[0] < 1.0,
            "linear: 1K and 10K nearly meet at 10M's scale: {xs:?}"
        );
        assert!(svg.contains(">subs &lt;n&gt;</text>"));
    }

    #[test]
    fn a_shift_is_drawn_between_its_results() {
        let mut chart = sample();
        chart.shifts = vec![(2, "+12.0 %".into())];
        let svg = render(&chart, 0.0, 0.0);
        let shift = tags(&svg, "<g class=\"shift\"");
        assert_eq!(shift.len(), 1, "{svg}");
        assert!(svg.contains(">+12.0 %</text>"), "{svg}");
        // Not drawn before the first result.
        chart.shifts = vec![(0, "x".into())];
        assert!(tags(&render(&chart, 0.0, 0.0), "<g class=\"shift\"").is_empty());
    }

    #[test]
    fn points_and_bars_sit_where_their_values_are_on_the_axis() {
        let chart = sample();
        let svg = render(&chart, 0.0, 0.0);
        assert!(
            svg.contains(">ms</text>"),
            "the y axis shows the unit it draws in"
        );
        assert!(svg.contains("run 0 &lt;b&gt;"), "text is escaped");
        assert!(svg.contains(LEGEND));
        // Read the axis back from its tick labels: value (ms) → y.
        let ticks: Vec<(f64, f64)> = tags(&svg, "<text class=\"y-tick\"")
            .iter()
            .map(|t| {
                let label_start = svg.find(t).unwrap() + t.len() + 1;
                let label: f64 = svg[label_start..]
                    .split('<')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                (label, attr(t, "y") - 3.5)
            })
            .collect();
        assert!(ticks.len() >= 3, "{ticks:?}");
        let (v0, y0) = ticks[0];
        let (v1, y1) = ticks[ticks.len() - 1];
        let y_of = |ms: f64| y0 + (ms - v0) / (v1 - v0) * (y1 - y0);
        assert!(
            v0 <= 45.0 && v1 >= 90.0,
            "the axis covers every bar: {v0}..{v1}"
        );
        let circles = tags(&svg, "<circle");
        let bars = tags(&svg, "<path class=\"spread\"");
        assert_eq!(circles.len(), 3);
        for ((circle, bar), point) in circles.iter().zip(&bars).zip(&chart.points) {
            assert_eq!(attr(circle, "data-median"), point.median);
            assert!(
                (attr(circle, "cy") - y_of(point.median * 1e3)).abs() < 0.02,
                "{circle}"
            );
            let d = bar.split("d=\"M").nth(1).unwrap();
            let nums: Vec<f64> = d
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            // M x y_min V y_max ...
            assert!((nums[1] - y_of(point.min * 1e3)).abs() < 0.02, "{bar}");
            assert!((nums[2] - y_of(point.max * 1e3)).abs() < 0.02, "{bar}");
        }
        // Time order left to right.
        let xs: Vec<f64> = circles.iter().map(|c| attr(c, "cx")).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
    }

    #[test]
    fn a_file_holds_one_chart_per_measure() {
        let mut other = sample();
        other.title = "records_per_sec".into();
        other.unit = "records/s".into();
        for p in &mut other.points {
            p.median *= 3e7;
            p.min *= 3e7;
            p.max *= 3e7;
        }
        let svg = render_file("trends", &[sample(), other], 2);
        assert!(svg.starts_with("<?xml"));
        assert_eq!(svg.matches("<svg class=\"chart\"").count(), 2);
        assert!(svg.contains(">Mrecords/s</text>"));
        assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
    }

    #[test]
    fn units_and_ticks() {
        assert_eq!(display_unit("s", 0.2), (1e-3, "ms".to_string()));
        assert_eq!(display_unit("s", 12.0), (1.0, "s".to_string()));
        assert_eq!(display_unit("s", 3e-7), (1e-9, "ns".to_string()));
        let (divisor, unit) = display_unit("µs", 15_000.0);
        assert_eq!(unit, "ms");
        assert!((divisor - 1e3).abs() < 1e-9, "{divisor}");
        assert_eq!(
            display_unit("B", 5.0 * 1024.0 * 1024.0),
            (1024.0 * 1024.0, "MiB".to_string())
        );
        assert_eq!(display_unit("records/s", 1.5e6).1, "Mrecords/s");
        assert_eq!(
            nice_ticks(43.0, 91.0, 5),
            vec![40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
        );
        assert!(nice_ticks(1.2, 1.2, 5).len() > 1);
        assert_eq!(tick_label(0.25, 0.25), "0.25");
        assert_eq!(tick_label(40.0, 10.0), "40");
        assert_eq!(tick_label(1.5, 0.5), "1.5");
    }

    #[test]
    fn one_point_and_no_points_still_draw() {
        let mut chart = sample();
        chart.points.truncate(1);
        let svg = render(&chart, 0.0, 0.0);
        assert_eq!(svg.matches("<circle").count(), 1);
        chart.points.clear();
        assert!(render(&chart, 0.0, 0.0).contains("no data"));
    }

    /// Every part of a chart, byte for byte: many points (thinned tick
    /// labels), shifts (one not drawn), one point, no points, a nested
    /// position, and a unit shown in thousands.
    #[test]
    fn charts_are_their_golden_copy() {
        let mut many = sample();
        many.points = (0..12)
            .map(|i| ChartPoint {
                x_label: format!("11-{i:02} 04:00"),
                tooltip: format!("run {i}"),
                median: 0.05 + 0.001 * i as f64,
                min: 0.045,
                max: 0.06 + 0.002 * i as f64,
            })
            .collect();
        many.shifts = vec![(0, "x".into()), (6, "+12.0 %".into()), (12, "y".into())];
        let mut rate = sample();
        rate.unit = "records/s".into();
        for p in &mut rate.points {
            (p.median, p.min, p.max) = (p.median * 1e6, p.min * 1e6, p.max * 1e6);
        }
        let mut one = sample();
        one.points.truncate(1);
        let mut none = sample();
        none.points.clear();
        let svg: String = [
            render(&many, 0.0, 0.0),
            render(&rate, 12.5, 300.0),
            render(&one, 0.0, 0.0),
            render(&none, 0.0, 0.0),
        ]
        .concat();
        crate::reports::golden::assert_golden("charts.svg", &svg);
    }
}
