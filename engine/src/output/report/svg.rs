//! Line charts as inline SVG for the HTML report: time on x, one or more series on y,
//! "nice" ticks, grid, legend. Colours come from CSS classes (`s0`…`s4`) so the page's
//! light and dark themes apply; dash patterns (`d0`…`d3`: solid, dashed, dotted,
//! dash-dot, in the legend too) tell lines apart where they overlap (p95 under p99). Pure string building; it must not know about metrics.

use super::html::esc;
use std::fmt::Write as _;

const W: f64 = 960.0;
const H: f64 = 260.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 34.0;

/// One line: points in (seconds, value); `None` breaks the line (an interval without data).
pub struct Line {
    pub label: String,
    pub points: Vec<Option<(f64, f64)>>,
}

/// A chart: a title, how y values read, and its lines (at most five colours).
pub struct Chart {
    pub id: String,
    pub title: String,
    pub y_fmt: fn(f64) -> String,
    pub lines: Vec<Line>,
}

/// The chart as a `<figure>` with a legend and an `<svg>`.
pub fn render(c: &Chart) -> String {
    let pts = || c.lines.iter().flat_map(|l| l.points.iter().flatten());
    let x_max = pts().map(|p| p.0).fold(0.0_f64, f64::max).max(1.0);
    let y_max = pts().map(|p| p.1).fold(0.0_f64, f64::max);
    let (y_step, y_top) = y_axis(y_max);
    let sx = |x: f64| LEFT + x / x_max * (W - LEFT - RIGHT);
    let sy = |y: f64| H - BOTTOM - y / y_top * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure class=\"chart\" id=\"{id}\"><figcaption>{title}</figcaption><ul class=\"legend\">",
        id = esc(&c.id),
        title = esc(&c.title)
    );
    for (i, l) in c.lines.iter().enumerate() {
        let _ = write!(
            s,
            "<li><span class=\"sw s{} d{}\"></span>{}</li>",
            i % 5,
            i % 4,
            esc(&l.label)
        );
    }
    let _ = write!(
        s,
        "</ul><svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" preserveAspectRatio=\"xMidYMid meet\">",
        esc(&c.title)
    );
    // Grid and y ticks.
    let ticks = (y_top / y_step).round() as u32;
    for i in 0..=ticks {
        let v = y_step * f64::from(i);
        let y = sy(v);
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&(c.y_fmt)(v))
        );
    }
    // x ticks.
    let step = nice_step(x_max / 6.0);
    let mut t = 0.0;
    while t <= x_max + 1e-9 {
        let x = sx(t);
        let _ = write!(
            s,
            "<line class=\"axis\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - BOTTOM,
            H - BOTTOM + 4.0,
            H - BOTTOM + 18.0,
            clock(t)
        );
        t += step;
    }
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM
    );
    if pts().next().is_none() {
        let _ = write!(
            s,
            "<text class=\"empty\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no data</text>",
            W / 2.0,
            H / 2.0
        );
    }
    for (i, l) in c.lines.iter().enumerate() {
        let d = path(&l.points, sx, sy);
        if d.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "<path class=\"line s{} d{}\" d=\"{d}\"><title>{}</title></path>",
            i % 5,
            i % 4,
            esc(&l.label)
        );
        // A lone point (a one-interval run, a gap on both sides) would not show as a line.
        for (j, p) in l.points.iter().enumerate() {
            let alone = j
                .checked_sub(1)
                .and_then(|k| l.points.get(k))
                .is_none_or(Option::is_none)
                && l.points.get(j + 1).is_none_or(Option::is_none);
            if let (Some((x, y)), true) = (p, alone) {
                let _ = write!(
                    s,
                    "<circle class=\"dot s{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>",
                    i % 5,
                    sx(*x),
                    sy(*y)
                );
            }
        }
    }
    s.push_str("</svg></figure>\n");
    s
}

/// `M x y L x y …`, starting a new sub-path after every gap.
fn path(points: &[Option<(f64, f64)>], sx: impl Fn(f64) -> f64, sy: impl Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for p in points {
        match p {
            Some((x, y)) if x.is_finite() && y.is_finite() => {
                let _ = write!(
                    d,
                    "{}{:.1} {:.1} ",
                    if pen_down { "L" } else { "M" },
                    sx(*x),
                    sy(*y)
                );
                pen_down = true;
            }
            _ => pen_down = false,
        }
    }
    d.trim_end().to_string()
}

/// The smallest 1/2/2.5/5×10^k step at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// The y axis for values up to `max`: a nice step (about 4 of them) and the first
/// multiple of it a little above `max`.
fn y_axis(max: f64) -> (f64, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (0.25, 1.0);
    }
    let step = nice_step(max / 4.0);
    (step, (max * 1.04 / step).ceil().max(1.0) * step)
}

/// Seconds as `45s`, `2m`, `1m30s`.
fn clock(t: f64) -> String {
    let s = t.round() as u64;
    match (s / 60, s % 60) {
        (0, sec) => format!("{sec}s"),
        (m, 0) => format!("{m}m"),
        (m, sec) => format!("{m}m{sec}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_are_1_2_2_5_5_multiples() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(42.0), 50.0);
        assert_eq!(y_axis(20.0), (5.0, 25.0));
        assert_eq!(y_axis(97.0), (25.0, 125.0));
    }

    #[test]
    fn gaps_start_a_new_sub_path() {
        let d = path(
            &[Some((0.0, 1.0)), Some((1.0, 2.0)), None, Some((3.0, 1.0))],
            |x| x,
            |y| y,
        );
        assert_eq!(d, "M0.0 1.0 L1.0 2.0 M3.0 1.0");
    }

    #[test]
    fn an_empty_chart_says_so_and_draws_no_line() {
        let c = Chart {
            id: "c".into(),
            title: "t".into(),
            y_fmt: |v| format!("{v}"),
            lines: vec![Line {
                label: "a".into(),
                points: vec![None],
            }],
        };
        let s = render(&c);
        assert!(s.contains("no data") && !s.contains("<path"), "{s}");
    }
}
