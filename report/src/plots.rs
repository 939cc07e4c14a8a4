//! The figures drawn as SVG (plotters' SVG backend: plain elements, no script, no external
//! resource, so they can be inlined under a strict Content-Security-Policy): anytime curves
//! per policy with a ±SEM band, the validation-against-test scatter of a task, the
//! selected-against-oracle medal-rate bars, one run's pick over time, and sweeps' differences
//! with their intervals. They draw the numbers of [`crate::figures`], [`crate::MedalRate`]
//! and [`crate::compare`]; nothing is computed here.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::compare::{CompareRow, Comparison};
use crate::figures::{self, Axis, Curve, GapRow, Metric, RunNodes, ScatterPoint};
use crate::html::escaped;
use crate::table::{Align, Table};
use crate::{MedalRate, SweepReport};

const SIZE: (u32, u32) = (720, 420);
/// Minor grid lines between two labelled ones: each is an SVG element, and plotters' ten
/// per interval made up half of a curve's bytes.
const MINOR_LINES: usize = 1;
const FONT: &str = "sans-serif";

/// The colour of the i-th policy, the same in every figure: dark enough to read on white.
fn colour(i: usize) -> RGBColor {
    const COLOURS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 127, 14),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    COLOURS[i % COLOURS.len()]
}

fn axis_name(axis: Axis) -> &'static str {
    match axis {
        Axis::Nodes => "nodes evaluated",
        Axis::WorkingTime => "working time (s)",
    }
}

fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::BestVal => "best validation score",
        Metric::SelectedTest => "test score of the pick",
        Metric::AnyMedalPct => "any medal (%)",
    }
}

/// A span that is never empty (plotters needs one).
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad)..(hi + pad)
}

type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type Drawing = Result<(), Box<dyn std::error::Error>>;

/// A figure of [`SIZE`] on white, drawn by `draw`, as SVG text.
fn drawn_svg(draw: impl FnOnce(&Area<'_>) -> Drawing) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        let drawn: Drawing = (|| {
            root.fill(&WHITE)?;
            draw(&root)?;
            root.present()?;
            Ok(())
        })();
        drawn.expect("drawing into a string cannot fail");
    }
    out
}

/// A chart in the figures' layout: `title` on top, room for the axes' labels and names.
fn chart_on<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    Ok(ChartBuilder::on(root)
        .caption(title, (FONT, 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x, y)?)
}

/// The series' legend, in the figures' style.
fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, position: SeriesLabelPosition) -> Drawing {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(position)
        .draw()?;
    Ok(())
}

/// The names of categories under the x axis (0..n, the i-th centred at i + 0.5): plotters'
/// own labels fall on round numbers, not on the categories.
fn draw_category_names(
    root: &Area<'_>,
    chart: &Chart<'_, '_>,
    names: &[String],
    y_bottom: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, name) in names.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, y_bottom));
        root.draw(&Text::new(name.as_str(), (x, y + 8), style.clone()))?;
    }
    Ok(())
}

/// `curves` (one per policy, all of one metric on one axis) as lines of the mean over seeds,
/// each in a band of ±1 SEM. `policies` fixes the colours.
pub fn anytime_svg(title: &str, curves: &[&Curve], policies: &[String]) -> String {
    let Some(first) = curves.first() else {
        return String::new();
    };
    let (metric, axis) = (first.metric, first.axis);
    let points = || curves.iter().flat_map(|c| &c.points);
    let x_max = points().map(|p| p.x).fold(0.0, f64::max).max(1.0);
    let (y_lo, y_hi) = match metric {
        Metric::AnyMedalPct => (0.0, 100.0),
        _ => points()
            .filter_map(|p| p.mean.map(|m| (m - p.sem, m + p.sem)))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (a, b)| {
                (lo.min(a), hi.max(b))
            }),
    };
    drawn_svg(|root| {
        let mut chart = chart_on(root, title, 0.0..x_max, padded(y_lo, y_hi))?;
        chart
            .configure_mesh()
            .max_light_lines(MINOR_LINES)
            .x_desc(axis_name(axis))
            .y_desc(metric_name(metric))
            .draw()?;
        for curve in curves {
            let i = policies
                .iter()
                .position(|p| *p == curve.policy)
                .unwrap_or(0);
            let c = colour(i);
            let with_mean: Vec<_> = curve
                .points
                .iter()
                .filter_map(|p| p.mean.map(|m| (p.x, m, p.sem)))
                .collect();
            let band: Vec<(f64, f64)> = with_mean
                .iter()
                .map(|&(x, m, s)| (x, m + s))
                .chain(with_mean.iter().rev().map(|&(x, m, s)| (x, m - s)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.15).filled())))?;
            chart
                .draw_series(LineSeries::new(
                    with_mean.iter().map(|&(x, m, _)| (x, m)),
                    c.stroke_width(2),
                ))?
                .label(curve.policy.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}

/// A task's ok nodes, validation against test score, one colour per policy; each run's pick
/// is marked with a cross, its oracle node with a ring, and the diagonal is where they agree.
pub fn scatter_svg(title: &str, points: &[&ScatterPoint], policies: &[String]) -> String {
    let fold = |f: fn(&ScatterPoint) -> f64| {
        points
            .iter()
            .map(|p| f(p))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let ((vx, vy), (tx, ty)) = (fold(|p| p.val), fold(|p| p.test));
    let range = padded(vx.min(tx), vy.max(ty));
    drawn_svg(|root| {
        let mut chart = chart_on(root, title, range.clone(), range.clone())?;
        chart
            .configure_mesh()
            .max_light_lines(MINOR_LINES)
            .x_desc("validation score")
            .y_desc("test score")
            .draw()?;
        chart.draw_series(LineSeries::new(
            [(range.start, range.start), (range.end, range.end)],
            BLACK.mix(0.3),
        ))?;
        for (i, policy) in policies.iter().enumerate() {
            let c = colour(i);
            let mine = || points.iter().filter(|p| p.policy == *policy);
            chart
                .draw_series(mine().map(|p| Circle::new((p.val, p.test), 3, c.mix(0.6).filled())))?
                .label(policy.as_str())
                .legend(move |(x, y)| Circle::new((x + 9, y), 4, c.filled()));
            chart.draw_series(
                mine()
                    .filter(|p| p.selected)
                    .map(|p| Cross::new((p.val, p.test), 6, c.stroke_width(2))),
            )?;
            chart.draw_series(
                mine()
                    .filter(|p| p.oracle)
                    .map(|p| Circle::new((p.val, p.test), 8, c.stroke_width(2))),
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

/// Per policy, two bars: the any-medal rate of the runs' picks and of their oracle nodes,
/// each with a ±1 SEM error bar.
pub fn oracle_bars_svg(title: &str, rates: &[MedalRate]) -> String {
    let top = rates
        .iter()
        .map(|r| {
            (r.oracle_any_medal_pct + r.oracle_any_medal_sem).max(r.any_medal_pct + r.any_medal_sem)
        })
        .fold(10.0, f64::max)
        .min(100.0);
    drawn_svg(|root| {
        let n = rates.len().max(1) as f64;
        let mut chart = chart_on(root, title, 0.0..n, 0.0..top * 1.1)?;
        chart
            .configure_mesh()
            .max_light_lines(MINOR_LINES)
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("any medal (%)")
            .draw()?;
        let names: Vec<String> = rates.iter().map(|r| r.policy.clone()).collect();
        draw_category_names(root, &chart, &names, 0.0)?;
        for (kind, offset, c) in [("selected", 0.15, colour(0)), ("oracle", 0.5, colour(1))] {
            let value = |r: &MedalRate| match kind {
                "selected" => (r.any_medal_pct, r.any_medal_sem),
                _ => (r.oracle_any_medal_pct, r.oracle_any_medal_sem),
            };
            chart
                .draw_series(rates.iter().enumerate().map(|(i, r)| {
                    let x = i as f64 + offset;
                    Rectangle::new([(x, 0.0), (x + 0.35, value(r).0)], c.filled())
                }))?
                .label(kind)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
            chart.draw_series(rates.iter().enumerate().map(|(i, r)| {
                let (m, s) = value(r);
                let x = i as f64 + offset + 0.175;
                ErrorBar::new_vertical(x, m - s, m, m + s, BLACK.stroke_width(1), 8)
            }))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// One run's pick over `axis`: its validation score and its test score as two step lines,
/// side by side on one scale, so that a gap opening between them is seen as it opens.
pub fn selection_svg(title: &str, points: &[figures::SelectionPoint], axis: Axis) -> String {
    let x_of = |p: &figures::SelectionPoint| match axis {
        Axis::Nodes => f64::from(p.nodes),
        Axis::WorkingTime => p.working_s,
    };
    let scores = || points.iter().flat_map(|p| [p.val, p.test]).flatten();
    if scores().next().is_none() {
        return String::new();
    }
    let (lo, hi) = scores().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let x_max = points.iter().map(x_of).fold(1.0, f64::max);
    drawn_svg(|root| {
        let mut chart = chart_on(root, title, 0.0..x_max, padded(lo, hi))?;
        chart
            .configure_mesh()
            .max_light_lines(MINOR_LINES)
            .x_desc(axis_name(axis))
            .y_desc("score of the pick")
            .draw()?;
        let val: fn(&figures::SelectionPoint) -> Option<f64> = |p| p.val;
        let test: fn(&figures::SelectionPoint) -> Option<f64> = |p| p.test;
        let series = [("validation", val, colour(0)), ("test", test, colour(1))];
        for (name, score, c) in series {
            // A step line: the pick holds until the next evaluation changes it.
            let mut line: Vec<(f64, f64)> = Vec::new();
            for p in points {
                if let Some(v) = score(p) {
                    if let Some(&(_, previous)) = line.last() {
                        line.push((x_of(p), previous));
                    }
                    line.push((x_of(p), v));
                }
            }
            chart
                .draw_series(LineSeries::new(line, c.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c));
            chart.draw_series(
                points
                    .iter()
                    .filter(|p| p.medal)
                    .filter_map(|p| Some(Circle::new((x_of(p), score(p)?), 4, c.filled()))),
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        Ok(())
    })
}

/// A run's figures: its pick's validation and test scores over nodes evaluated and over
/// working time (a dot where the pick has a medal).
pub fn run_figures(run: &RunNodes) -> Vec<Figure> {
    let points = figures::selection_over_time(run);
    [
        (Axis::Nodes, "nodes", "nodes evaluated"),
        (Axis::WorkingTime, "time", "working time"),
    ]
    .into_iter()
    .filter_map(|(axis, suffix, over)| {
        let title = format!("The pick's validation and test score over {over} (● medal)");
        let svg = selection_svg(&title, &points, axis);
        (!svg.is_empty()).then(|| Figure {
            name: format!("selection-{suffix}"),
            task: None,
            title,
            svg,
        })
    })
    .collect()
}

/// Over the tasks every arm ran: each arm's difference in any-medal rate from the baseline,
/// in percentage points, with its bootstrap 95% interval; the baseline sits on the zero line.
pub fn compare_svg(title: &str, c: &Comparison) -> String {
    let overall: Vec<&CompareRow> = c.rows.iter().filter(|r| r.task.is_none()).collect();
    if overall.is_empty() {
        return String::new();
    }
    let reach = overall
        .iter()
        .flat_map(|r| [r.ci_low_pct, r.ci_high_pct, r.diff_pct])
        .flatten()
        .fold(10.0, |m: f64, v| m.max(v.abs()));
    drawn_svg(|root| {
        let n = overall.len() as f64;
        let mut chart = chart_on(root, title, 0.0..n, -reach * 1.1..reach * 1.1)?;
        chart
            .configure_mesh()
            .max_light_lines(MINOR_LINES)
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("Δ any medal vs baseline (pp)")
            .draw()?;
        let names: Vec<String> = overall.iter().map(|r| r.arm.clone()).collect();
        draw_category_names(root, &chart, &names, -reach * 1.1)?;
        chart.draw_series(LineSeries::new([(0.0, 0.0), (n, 0.0)], BLACK.mix(0.4)))?;
        chart.draw_series(overall.iter().enumerate().filter_map(|(i, r)| {
            let x = i as f64 + 0.5;
            let (low, high) = (r.ci_low_pct?, r.ci_high_pct?);
            Some(ErrorBar::new_vertical(
                x,
                low,
                r.diff_pct?,
                high,
                colour(0).stroke_width(2),
                12,
            ))
        }))?;
        chart.draw_series(overall.iter().enumerate().map(|(i, r)| {
            Circle::new(
                (i as f64 + 0.5, r.diff_pct.unwrap_or(0.0)),
                5,
                colour(0).filled(),
            )
        }))?;
        Ok(())
    })
}

/// One drawn figure: a file-name stem (`[a-z0-9._-]`), the task it is about (`None`: the
/// whole sweep), a title and the SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub name: String,
    pub task: Option<String>,
    pub title: String,
    pub svg: String,
}

/// Every figure of a sweep, from its report and its runs' nodes. Over every task: the medal
/// rate per policy over nodes evaluated and over working time, and the oracle gap. Per task,
/// over nodes and over working time: the best validation score, the pick's test score and
/// its medal rate; and validation against test of its ok nodes.
pub fn sweep_figures(report: &SweepReport, runs: &[RunNodes]) -> Vec<Figure> {
    let policies: Vec<String> = {
        let mut p: Vec<String> = runs.iter().map(|r| r.policy.clone()).collect();
        p.sort();
        p.dedup();
        p
    };
    let mut out = Vec::new();
    let mut push = |task: Option<&str>, name: String, title: String, svg: String| {
        if !svg.is_empty() {
            out.push(Figure {
                name,
                task: task.map(str::to_owned),
                title,
                svg,
            });
        }
    };
    // Names end in "" over nodes (the figures' first names) and "-time" over working time.
    let axes = [
        (Axis::Nodes, "", "nodes evaluated"),
        (Axis::WorkingTime, "-time", "working time"),
    ]
    .map(|(axis, suffix, over)| (suffix, over, figures::anytime(runs, axis)));
    for (suffix, over, curves) in &axes {
        let overall: Vec<&Curve> = curves.iter().filter(|c| c.task.is_none()).collect();
        let title = format!("Medal rate over {over}, all tasks (mean ± SEM over seeds)");
        let name = match *suffix {
            "" => "medal-rate-nodes".to_owned(),
            _ => "medal-rate-time".to_owned(),
        };
        push(
            None,
            name,
            title.clone(),
            anytime_svg(&title, &overall, &policies),
        );
    }
    let title = "Any medal: the picks against the oracle nodes (mean ± SEM over seeds)".to_owned();
    push(
        None,
        "oracle-gap".into(),
        title.clone(),
        oracle_bars_svg(&title, &report.mlebench.medal_rates),
    );
    let points = figures::scatter(runs);
    let tasks: std::collections::BTreeSet<&str> = runs.iter().map(|r| r.task.as_str()).collect();
    for task in tasks {
        let stem = file_stem(task);
        for (suffix, over, curves) in &axes {
            for (metric, what) in [
                (Metric::BestVal, "best-val"),
                (Metric::SelectedTest, "selected-test"),
                (Metric::AnyMedalPct, "medal"),
            ] {
                let of: Vec<&Curve> = curves
                    .iter()
                    .filter(|c| c.task.as_deref() == Some(task) && c.metric == metric)
                    .collect();
                let title = format!(
                    "{task}: {} over {over} (mean ± SEM over seeds)",
                    metric_name(metric)
                );
                push(
                    Some(task),
                    format!("{stem}-{what}{suffix}"),
                    title.clone(),
                    anytime_svg(&title, &of, &policies),
                );
            }
        }
        let all: Vec<&ScatterPoint> = points.iter().filter(|p| p.task == task).collect();
        if all.is_empty() {
            continue;
        }
        let of = thinned(&all, SCATTER_MAX_POINTS);
        let shown = if of.len() == all.len() {
            "every ok node".to_owned()
        } else {
            format!("{} of {} ok nodes", of.len(), all.len())
        };
        let title = format!("{task}: validation against test, {shown} (× pick, ○ oracle)");
        push(
            Some(task),
            format!("{stem}-val-vs-test"),
            title.clone(),
            scatter_svg(&title, &of, &policies),
        );
    }
    out
}

/// The generalization gap per task × policy as a table (mean ± SEM over the runs).
fn gap_table(gaps: &[GapRow]) -> Table {
    let mut table = Table::new(&[
        ("task", Align::Left),
        ("policy", Align::Left),
        ("runs", Align::Right),
        ("validation − test", Align::Right),
        ("± SEM", Align::Right),
    ]);
    for g in gaps {
        table.push(vec![
            g.task.clone(),
            g.policy.clone(),
            g.runs.to_string(),
            crate::score(g.mean_gap),
            crate::score(Some(g.sem)),
        ]);
    }
    table
}

/// The figures section of a page: the generalization gap table, the sweep's figures inline,
/// then each task's in a `<details>` of its own (open when `tasks_open`), whose id
/// (`figures-<task>`) the dashboard's live updates keep open across refreshes.
pub fn figures_html(figures: &[Figure], gaps: &[GapRow], tasks_open: bool) -> String {
    let mut out = String::from(
        "<h3>Generalization gap of the picks (validation − test in the task's direction; \
         mean ± SEM over runs)</h3>\n",
    );
    out += &gap_table(gaps).to_html();
    for f in figures.iter().filter(|f| f.task.is_none()) {
        out += &figure_html(f);
    }
    let tasks: std::collections::BTreeSet<&str> =
        figures.iter().filter_map(|f| f.task.as_deref()).collect();
    for task in tasks {
        let of: Vec<&Figure> = figures
            .iter()
            .filter(|f| f.task.as_deref() == Some(task))
            .collect();
        out += &format!(
            "<details class=\"task-figures\" id=\"figures-{}\"{}><summary>{}: {} figures</summary>\n",
            file_stem(task),
            if tasks_open { " open" } else { "" },
            escaped(task),
            of.len()
        );
        for f in of {
            out += &figure_html(f);
        }
        out += "</details>\n";
    }
    out
}

/// A figure inline in a page, its title as the caption.
pub fn figure_html(f: &Figure) -> String {
    format!(
        "<figure>{}<figcaption>{}</figcaption></figure>\n",
        f.svg,
        escaped(&f.title)
    )
}

/// `sweep report --format html`: one self-contained page (inline style and SVG, no script,
/// nothing fetched) with the report's tables, the generalization gap and every figure.
pub fn html_page(report: &SweepReport, figures: &[Figure], gaps: &[GapRow]) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{}</style></head>\n<body>\n<h1>{}</h1>\n{}{}</body></html>\n",
        escaped(&report.sweep.name),
        PAGE_STYLE,
        escaped(&report.sweep.name),
        crate::render_html(report),
        figures_html(figures, gaps, true)
    )
}

const PAGE_STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:80em}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.2em .5em}\
td.num,th.num{text-align:right}figure{display:inline-block;margin:1em}\
figcaption{font-size:.9em;color:#444}summary{font-weight:bold;cursor:pointer;margin:.5em 0}";

/// The most nodes a scatter draws: beyond it the picture does not change, but the page's
/// size does (one SVG circle each).
const SCATTER_MAX_POINTS: usize = 2_000;

/// Every pick and oracle node, then evenly spaced others in their order, `max` in all (more
/// only when the picks and oracles alone are more): the same nodes give the same picture.
fn thinned<'a>(points: &[&'a ScatterPoint], max: usize) -> Vec<&'a ScatterPoint> {
    if points.len() <= max {
        return points.to_vec();
    }
    let (marked, rest): (Vec<&ScatterPoint>, Vec<&ScatterPoint>) =
        points.iter().partition(|p| p.selected || p.oracle);
    let room = max.saturating_sub(marked.len());
    let step = rest.len() as f64 / room.max(1) as f64;
    let sampled = (0..room.min(rest.len())).map(|i| rest[(i as f64 * step) as usize]);
    marked.into_iter().chain(sampled).collect()
}

/// A task id as a file-name stem: anything but `[A-Za-z0-9._-]` becomes `_`.
fn file_stem(task: &str) -> String {
    task.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::CurvePoint;

    fn curve(policy: &str) -> Curve {
        Curve {
            task: None,
            policy: policy.into(),
            metric: Metric::AnyMedalPct,
            axis: Axis::Nodes,
            points: (1..=5)
                .map(|k| CurvePoint {
                    x: f64::from(k),
                    mean: Some(10.0 * f64::from(k)),
                    sem: 5.0,
                    n: 3,
                })
                .collect(),
        }
    }

    /// Labels come from sweep files: plotters escapes the text it writes, once.
    #[test]
    fn labels_from_sweep_files_are_escaped() {
        let hostile = "<script>alert(1)</script>";
        let c = curve(hostile);
        let svg = anytime_svg(hostile, &[&c], &[hostile.to_owned()]);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(!svg.contains("href"), "no external resource: {svg}");
    }

    #[test]
    fn a_large_scatter_keeps_every_pick_and_oracle_and_thins_the_rest() {
        let points: Vec<ScatterPoint> = (0..10_000)
            .map(|i| ScatterPoint {
                task: "t".into(),
                policy: "greedy".into(),
                val: f64::from(i),
                test: f64::from(i),
                selected: i % 1000 == 0,
                oracle: i % 1000 == 1,
            })
            .collect();
        let refs: Vec<&ScatterPoint> = points.iter().collect();
        let kept = thinned(&refs, 100);
        assert_eq!(kept.len(), 100);
        assert_eq!(kept.iter().filter(|p| p.selected || p.oracle).count(), 20);
        // The others spread over the whole range, not bunched at its start.
        let last = kept.iter().map(|p| p.val).fold(0.0, f64::max);
        assert!(last > 9_000.0, "{last}");
        assert_eq!(thinned(&refs[..50], 100).len(), 50);
    }

    #[test]
    fn a_sweep_has_its_overall_figures_then_seven_per_task_each_named_once() {
        use crate::figures::NodePoint;
        let run = |task: &str, policy: &str| RunNodes {
            task: task.into(),
            policy: policy.into(),
            seed: 0,
            lower_is_better: false,
            nodes: (0..3)
                .map(|step| NodePoint {
                    step,
                    working_s: f64::from(step + 1),
                    ok: true,
                    val: Some(f64::from(step)),
                    test: Some(f64::from(step)),
                    medal: "none".into(),
                })
                .collect(),
        };
        let runs = [
            run("t one", "greedy"),
            run("t one", "mcts"),
            run("u", "greedy"),
        ];
        let report = crate::build(
            crate::SweepInfo {
                id: "s".into(),
                name: "s".into(),
                state: "completed".into(),
                created_at: String::new(),
                operators: Vec::new(),
                oracle_ablation: false,
            },
            Vec::new(),
        );
        let figures = sweep_figures(&report, &runs);
        let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            &names[..3],
            ["medal-rate-nodes", "medal-rate-time", "oracle-gap"]
        );
        for (task, stem) in [("t one", "t_one"), ("u", "u")] {
            let mine: Vec<&str> = figures
                .iter()
                .filter(|f| f.task.as_deref() == Some(task))
                .map(|f| f.name.as_str())
                .collect();
            let expected: Vec<String> = [
                "best-val",
                "selected-test",
                "medal",
                "best-val-time",
                "selected-test-time",
                "medal-time",
                "val-vs-test",
            ]
            .iter()
            .map(|what| format!("{stem}-{what}"))
            .collect();
            assert_eq!(mine, expected, "{task}");
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        let html = figures_html(&figures, &[], false);
        assert!(html.contains("<details class=\"task-figures\" id=\"figures-t_one\"><summary>t one: 7 figures</summary>"), "{html}");
        assert!(figures_html(&figures, &[], true).contains("id=\"figures-u\" open>"));
    }

    #[test]
    fn every_figure_draws_with_empty_and_degenerate_input() {
        assert!(anytime_svg("none", &[], &[]).is_empty());
        let one = ScatterPoint {
            task: "t".into(),
            policy: "greedy".into(),
            val: 0.5,
            test: 0.5,
            selected: true,
            oracle: true,
        };
        assert!(scatter_svg("t", &[&one], &["greedy".into()]).contains("<svg"));
        assert!(oracle_bars_svg("oracle", &[]).contains("<svg"));
    }
}
