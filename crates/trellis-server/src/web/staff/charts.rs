//! Small charts drawn on the server as inline SVG, so a page needs neither
//! JavaScript nor an outside asset. A chart is laid out here into plain
//! shapes (rectangles, lines, text); one askama template (`chart.svg`)
//! writes any layout out, escaping every label. Colours come from classes
//! in `trellis.css`: the page's Content-Security-Policy allows no inline
//! styles. Geometry is drawing, not accounting, so it may use `f64`.

use askama::Template;

/// Width of every chart's drawing area, in SVG units (it scales to fit).
const WIDTH: f64 = 640.0;
/// Room left of a horizontal bar for its label.
const LABEL_WIDTH: f64 = 180.0;
/// Room right of a bar for its value.
const VALUE_WIDTH: f64 = 60.0;
const BAR_HEIGHT: f64 = 18.0;
const ROW_HEIGHT: f64 = 26.0;
/// Height of the column area, and room below it for bucket labels and
/// above it for the legend.
const PLOT_HEIGHT: f64 = 160.0;
const AXIS_ROOM: f64 = 40.0;
const LEGEND_ROOM: f64 = 28.0;
/// Room left of the columns for the y-axis labels.
const Y_AXIS_ROOM: f64 = 48.0;
/// Series classes available in the stylesheet, used in turn.
const SERIES_CLASSES: [&str; 4] = ["series-0", "series-1", "series-2", "series-3"];

/// One bar of a bar chart: a label, its length, and the value written
/// beside it ("75%", "12").
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub shown: String,
}

/// Columns over buckets (weeks, months), one column per series in each.
pub struct Series {
    pub name: String,
    pub values: Vec<i64>,
}

/// A laid-out chart, ready for `chart.svg`.
#[derive(Template)]
#[template(path = "chart.svg", escape = "html")]
pub struct Drawing {
    /// Unique on the page: the SVG's title and description are named by it.
    pub id: String,
    pub title: String,
    pub desc: String,
    pub height: String,
    pub rects: Vec<Rect>,
    pub lines: Vec<Line>,
    pub texts: Vec<Text>,
}

impl Drawing {
    pub fn width(&self) -> String {
        num(WIDTH)
    }
}

pub struct Rect {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub class: &'static str,
    /// Shown as a tooltip and read by screen readers.
    pub tip: String,
}

pub struct Line {
    pub x1: String,
    pub y1: String,
    pub x2: String,
    pub y2: String,
}

pub struct Text {
    pub x: String,
    pub y: String,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
    pub text: String,
}

/// A coordinate as SVG reads it, to a tenth of a unit.
fn num(value: f64) -> String {
    format!("{value:.1}")
}

fn text(x: f64, y: f64, anchor: &'static str, text: impl Into<String>) -> Text {
    Text {
        x: num(x),
        y: num(y),
        anchor,
        text: text.into(),
    }
}

/// The share of `full` that `value` takes of `max`, zero when nothing is.
fn scale(value: i64, max: i64, full: f64) -> f64 {
    if max <= 0 {
        return 0.0;
    }
    value.max(0) as f64 / max as f64 * full
}

/// Horizontal bars, one row each, longest value filling the width.
pub fn bar_chart(id: &str, title: &str, desc: &str, bars: &[Bar]) -> Drawing {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let room = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let mut rects = Vec::new();
    let mut texts = Vec::new();
    for (i, bar) in bars.iter().enumerate() {
        let top = i as f64 * ROW_HEIGHT;
        let middle = top + BAR_HEIGHT * 0.75;
        let length = scale(bar.value, max, room);
        texts.push(text(LABEL_WIDTH - 6.0, middle, "end", bar.label.clone()));
        rects.push(Rect {
            x: num(LABEL_WIDTH),
            y: num(top),
            w: num(length),
            h: num(BAR_HEIGHT),
            class: SERIES_CLASSES[0],
            tip: format!("{}: {}", bar.label, bar.shown),
        });
        texts.push(text(
            LABEL_WIDTH + length + 6.0,
            middle,
            "start",
            &bar.shown,
        ));
    }
    let height = (bars.len().max(1) as f64) * ROW_HEIGHT;
    let baseline = Line {
        x1: num(LABEL_WIDTH),
        y1: num(0.0),
        x2: num(LABEL_WIDTH),
        y2: num(height),
    };
    Drawing {
        id: id.into(),
        title: title.into(),
        desc: desc.into(),
        height: num(height),
        rects,
        lines: vec![baseline],
        texts,
    }
}

/// Grouped columns: for each bucket one column per series, on a shared
/// scale whose top value is written on the y-axis, with a legend above.
/// `unit` follows values in tooltips and on the axis ("%", or nothing).
pub fn column_chart(
    id: &str,
    title: &str,
    desc: &str,
    buckets: &[String],
    series: &[Series],
    unit: &str,
) -> Drawing {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let plot_top = LEGEND_ROOM;
    let plot_bottom = plot_top + PLOT_HEIGHT;
    let slot = (WIDTH - Y_AXIS_ROOM) / buckets.len().max(1) as f64;
    let column = (slot * 0.8) / series.len().max(1) as f64;
    let mut rects = Vec::new();
    let mut texts = legend(series, &mut rects);
    for (b, bucket) in buckets.iter().enumerate() {
        let left = Y_AXIS_ROOM + b as f64 * slot + slot * 0.1;
        for (s, one) in series.iter().enumerate() {
            let value = one.values.get(b).copied().unwrap_or(0);
            let height = scale(value, max, PLOT_HEIGHT);
            rects.push(Rect {
                x: num(left + s as f64 * column),
                y: num(plot_bottom - height),
                w: num(column),
                h: num(height),
                class: SERIES_CLASSES[s % SERIES_CLASSES.len()],
                tip: format!("{bucket}, {}: {value}{unit}", one.name),
            });
        }
        texts.push(text(
            left + slot * 0.4,
            plot_bottom + 16.0,
            "middle",
            bucket,
        ));
    }
    texts.push(text(
        Y_AXIS_ROOM - 6.0,
        plot_top + 10.0,
        "end",
        format!("{max}{unit}"),
    ));
    texts.push(text(
        Y_AXIS_ROOM - 6.0,
        plot_bottom,
        "end",
        format!("0{unit}"),
    ));
    let axes = vec![
        Line {
            x1: num(Y_AXIS_ROOM),
            y1: num(plot_top),
            x2: num(Y_AXIS_ROOM),
            y2: num(plot_bottom),
        },
        Line {
            x1: num(Y_AXIS_ROOM),
            y1: num(plot_bottom),
            x2: num(WIDTH),
            y2: num(plot_bottom),
        },
    ];
    Drawing {
        id: id.into(),
        title: title.into(),
        desc: desc.into(),
        height: num(plot_bottom + AXIS_ROOM),
        rects,
        lines: axes,
        texts,
    }
}

/// A swatch and a name for each series, in a row above the plot.
fn legend(series: &[Series], rects: &mut Vec<Rect>) -> Vec<Text> {
    let step = (WIDTH - Y_AXIS_ROOM) / series.len().max(1) as f64;
    series
        .iter()
        .enumerate()
        .map(|(s, one)| {
            let x = Y_AXIS_ROOM + s as f64 * step;
            rects.push(Rect {
                x: num(x),
                y: num(4.0),
                w: num(12.0),
                h: num(12.0),
                class: SERIES_CLASSES[s % SERIES_CLASSES.len()],
                tip: one.name.clone(),
            });
            text(x + 18.0, 14.0, "start", one.name.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: i64) -> Bar {
        Bar {
            label: label.into(),
            value,
            shown: format!("{value}%"),
        }
    }

    #[test]
    fn the_longest_bar_fills_the_room_and_the_others_are_in_proportion() {
        let chart = bar_chart(
            "a",
            "Rates",
            "Approval",
            &[bar("North", 80), bar("South", 20)],
        );
        let widths: Vec<&str> = chart.rects.iter().map(|r| r.w.as_str()).collect();
        assert_eq!(widths, ["400.0", "100.0"]);
        assert_eq!(chart.rects[1].y, "26.0");
        assert_eq!(chart.rects[0].tip, "North: 80%");
        let words: Vec<&str> = chart.texts.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(words, ["North", "80%", "South", "20%"]);
    }

    #[test]
    fn an_empty_or_zero_chart_draws_nothing_of_any_length() {
        let chart = bar_chart("a", "t", "d", &[bar("None yet", 0)]);
        assert_eq!(chart.rects[0].w, "0.0");
        let chart = column_chart("b", "t", "d", &[], &[], "");
        assert!(chart.rects.is_empty());
        assert_eq!(chart.height, "228.0");
    }

    #[test]
    fn columns_stand_on_one_baseline_scaled_to_the_largest_value() {
        let buckets = vec!["Jan".to_owned(), "Feb".to_owned()];
        let series = [
            Series {
                name: "Won".into(),
                values: vec![4, 2],
            },
            Series {
                name: "Lost".into(),
                values: vec![1, 0],
            },
        ];
        let chart = column_chart("c", "Outcomes", "Won and lost", &buckets, &series, "");
        // Two legend swatches, then Jan's won and lost, then Feb's.
        let columns = &chart.rects[2..];
        assert_eq!(columns.len(), 4);
        assert_eq!(columns[0].h, "160.0");
        assert_eq!(columns[1].h, "40.0");
        assert_eq!(columns[2].h, "80.0");
        let bottoms: Vec<f64> = columns
            .iter()
            .map(|r| r.y.parse::<f64>().unwrap() + r.h.parse::<f64>().unwrap())
            .collect();
        assert!(
            bottoms.iter().all(|b| (b - 188.0).abs() < 0.01),
            "{bottoms:?}"
        );
        assert_eq!(columns[3].tip, "Feb, Lost: 0");
        assert_eq!(columns[1].class, "series-1");
        assert!(chart.texts.iter().any(|t| t.text == "4"));
    }

    #[test]
    fn labels_are_escaped_in_the_markup() {
        let chart = bar_chart("e", "<b>", "x & y", &[bar("<script>", 1)]);
        let svg = chart.render().expect("render");
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&#60;script&#62;"), "{svg}");
        assert!(
            svg.contains("<title id=\"e-title\">&#60;b&#62;</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<desc id=\"e-desc\">x &#38; y</desc>"),
            "{svg}"
        );
    }
}
