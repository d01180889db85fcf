//! The `with:` of a `feature` step: what to compute, parsed and checked before anything runs.

use crate::ml::rolling::Stat;
use crate::pipeline::fields::Fields;
use crate::pipeline::node::{Node, Value};
use crate::steps::spans::{span_of, window_of, Horizon, WindowSpec};

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureParams {
    /// Source columns for windows, lags and diffs; default: every numeric non-role column.
    pub columns: Option<Vec<String>>,
    pub windows: Vec<WindowSpec>,
    pub stats: Vec<Stat>,
    pub min_periods: usize,
    pub lags: Vec<usize>,
    pub diffs: Vec<usize>,
    /// Spans (in rows) of exponentially weighted means, as pandas' `ewm(span=n).mean()`.
    pub ewm: Vec<usize>,
    /// Row windows for frequency features (dominant frequency, spectral entropy).
    pub fft: Vec<usize>,
    /// Each value against the machine's own mean so far (`relative`): the means, and which
    /// comparisons to make.
    pub relative: Vec<RelativeTo>,
    pub relative_as: Vec<Relation>,
    pub time: Vec<TimePart>,
    /// The zone whose wall clock `time` features read (UTC when absent).
    pub timezone: Option<chrono_tz::Tz>,
    pub interactions: Vec<(String, Expr)>,
    pub one_hot: Vec<String>,
    pub label: Option<LabelSpec>,
    /// Drop rows where a generated feature is missing (warm-up of lags, gaps).
    pub drop_na: bool,
    /// Input columns left out of the output (ids, columns that leak the label, dead sensors).
    pub drop: Vec<String>,
    /// Set by replays on new data (`steps::prepare`), never from YAML: a column missing on
    /// every row (a sensor with no readings in the new file) and the features made from it do
    /// not take every row with them in `drop-na`, so the other features keep the rows training
    /// would keep and the reader of the table names the empty ones (`drift` skips them). In
    /// training such a column stays an error to fix.
    pub keep_rows_of_empty_columns: bool,
}

/// The mean a value is compared with: every earlier reading of its machine (and itself), or a
/// trailing window.
#[derive(Debug, Clone, PartialEq)]
pub enum RelativeTo {
    Expanding,
    Window(WindowSpec),
}

/// How a value is compared with its machine's mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// value - mean
    Minus,
    /// value / mean (missing where the mean is 0)
    Over,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    Hour,
    DayOfWeek,
}

/// `a * b`, `a - b`, `a + b` or `a / b` over columns and numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub text: String,
    pub left: Operand,
    pub op: char,
    pub right: Operand,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Column(String),
    Number(f64),
}

impl Expr {
    pub fn apply(&self, a: f64, b: f64) -> f64 {
        match self.op {
            '*' => a * b,
            '+' => a + b,
            '-' => a - b,
            _ if b == 0.0 => f64::NAN,
            _ => a / b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum LabelSpec {
    /// 1 where an event (value 1 in `column`) of the same entity lies within the horizon ahead.
    Event {
        column: String,
        horizon: Horizon,
        name: String,
    },
    /// Run-to-failure series: 1 where the remaining useful life (last timestamp of the entity
    /// minus this one) is at most the horizon.
    Rul { horizon: Horizon, name: String },
    /// 1 where the entity has a failure in a separate event log within the horizon ahead.
    Log {
        log: super::event_log::LogSpec,
        horizon: Horizon,
        name: String,
    },
}

impl LabelSpec {
    pub fn horizon(&self) -> &Horizon {
        match self {
            LabelSpec::Event { horizon, .. } | LabelSpec::Rul { horizon, .. } | LabelSpec::Log { horizon, .. } => {
                horizon
            }
        }
    }
}

fn horizon_of(node: &Node, f: &mut Fields) -> Option<Horizon> {
    span_of(node, f, "label.horizon")
}

fn int_list(f: &mut Fields, key: &'static str) -> Vec<usize> {
    let Some(node) = f.node(key) else { return Vec::new() };
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Null => return Vec::new(),
        _ => vec![node],
    };
    let mut out = Vec::new();
    for item in items {
        match item.value {
            Value::Int(n) if (1..=100_000).contains(&n) => out.push(n as usize),
            _ => f.error(
                item.pos,
                format!("`{key}` takes whole numbers of rows from 1 up, found {}", item.value),
            ),
        }
    }
    out
}

fn expr_of(name: &str, node: &Node, f: &mut Fields) -> Option<Expr> {
    let Some(text) = node.as_str() else {
        f.error(
            node.pos,
            format!("`interactions.{name}` must be an expression such as \"torque * rpm\""),
        );
        return None;
    };
    // Operators need spaces around them, so column names may hold `-` or `/` (`Torque [Nm]`).
    let found = [" * ", " / ", " + ", " - "]
        .iter()
        .find_map(|op| text.split_once(op).map(|(a, b)| (a, op.trim(), b)));
    let Some((a, op, b)) = found else {
        f.error(
            node.pos,
            format!(
                "`interactions.{name}`: `{text}` is not `A op B` with op one of * / + - (spaces around the operator)"
            ),
        );
        return None;
    };
    let operand = |s: &str| match s.trim().parse::<f64>() {
        Ok(x) => Operand::Number(x),
        Err(_) => Operand::Column(s.trim().to_string()),
    };
    Some(Expr {
        text: text.to_string(),
        left: operand(a),
        op: op.chars().next().unwrap_or('*'),
        right: operand(b),
    })
}

pub fn parse(f: &mut Fields) -> Option<FeatureParams> {
    let columns = f.optional_str_list("columns");
    let (windows, stats, min_periods) = parse_rolling(f)?;
    let lags = int_list(f, "lags");
    let diffs = int_list(f, "diff");
    let ewm = int_list(f, "ewm");
    let fft = parse_fft(f)?;
    let (relative, relative_as) = parse_relative(f)?;
    let time = parse_time(f);
    let timezone = parse_timezone(f);
    let interactions = parse_interactions(f);
    let one_hot = f.optional_str_list("one-hot").unwrap_or_default();
    let label = f.node("label").and_then(|node| parse_label(node, f));
    let drop_na = f.optional_bool("drop-na").unwrap_or(true);
    let drop = f.optional_str_list("drop").unwrap_or_default();
    Some(FeatureParams {
        columns,
        windows,
        stats,
        min_periods,
        lags,
        diffs,
        ewm,
        fft,
        relative,
        relative_as,
        time,
        timezone,
        interactions,
        one_hot,
        label,
        drop_na,
        drop,
        keep_rows_of_empty_columns: false,
    })
}

/// `rolling`: its windows, statistics (mean by default) and `min-periods`; empty windows when
/// it is not given. None when its settings are not a map.
fn parse_rolling(f: &mut Fields) -> Option<(Vec<WindowSpec>, Vec<Stat>, usize)> {
    let (mut windows, mut stats) = (Vec::new(), vec![Stat::Mean]);
    let Some(node) = f.node("rolling") else {
        return Some((windows, stats, 1));
    };
    let context = format!("{} `rolling`", f.context());
    let mut r = Fields::new(node, context, f.diags)?;
    if let Some(list) = r.node("windows") {
        let items: Vec<&Node> = match &list.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![list],
        };
        for item in items {
            if let Some(w) = window_of(item, &mut r, "windows") {
                windows.push(w);
            }
        }
    } else {
        let pos = r.pos();
        r.error(pos, "missing required key `windows` (e.g. [6, 24h])");
    }
    if let Some(names) = r.optional_str_list("stats") {
        stats.clear();
        let list_node = r.node("stats");
        for name in names {
            match name.as_str() {
                "mean" => stats.push(Stat::Mean),
                "std" => stats.push(Stat::Std),
                "min" => stats.push(Stat::Min),
                "max" => stats.push(Stat::Max),
                "rms" => stats.push(Stat::Rms),
                "skew" => stats.push(Stat::Skew),
                "kurt" => stats.push(Stat::Kurt),
                other => {
                    let pos = list_node.map(|n| n.pos).unwrap_or(r.pos());
                    r.error(
                        pos,
                        format!("`stats`: unknown statistic `{other}`; use mean, std, min, max, rms, skew, kurt"),
                    );
                }
            }
        }
    }
    let min_periods = r.optional_int("min-periods", 1, 1_000_000).unwrap_or(1) as usize;
    r.finish();
    Some((windows, stats, min_periods))
}

/// `relative`: the means (`to`: `expanding`, rows or a duration; default expanding) and the
/// comparisons (`as`: `minus`, `over`; default both); none when it is not given.
fn parse_relative(f: &mut Fields) -> Option<(Vec<RelativeTo>, Vec<Relation>)> {
    let Some(node) = f.node("relative") else {
        return Some((Vec::new(), Vec::new()));
    };
    let context = format!("{} `relative`", f.context());
    let mut r = Fields::new(node, context, f.diags)?;
    let mut to = Vec::new();
    match r.node("to") {
        None => to.push(RelativeTo::Expanding),
        Some(list) => {
            let items: Vec<&Node> = match &list.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![list],
            };
            for item in items {
                if item.as_str() == Some("expanding") {
                    to.push(RelativeTo::Expanding);
                } else if let Some(w) = window_of(item, &mut r, "to") {
                    to.push(RelativeTo::Window(w));
                }
            }
        }
    }
    let mut relations = Vec::new();
    match r.optional_str_list("as") {
        None => relations.extend([Relation::Minus, Relation::Over]),
        Some(names) => {
            for name in names {
                match name.as_str() {
                    "minus" => relations.push(Relation::Minus),
                    "over" => relations.push(Relation::Over),
                    other => {
                        let pos = r.pos();
                        r.error(pos, format!("`as`: unknown comparison `{other}`; use minus, over"));
                    }
                }
            }
        }
    }
    r.finish();
    Some((to, relations))
}

/// `fft`: the window lengths in rows (4 to 1024); none when it is not given. None when its
/// settings are not a map.
fn parse_fft(f: &mut Fields) -> Option<Vec<usize>> {
    let Some(node) = f.node("fft") else {
        return Some(Vec::new());
    };
    let context = format!("{} `fft`", f.context());
    let mut q = Fields::new(node, context, f.diags)?;
    let fft = int_list(&mut q, "windows");
    if fft.is_empty() {
        let pos = q.pos();
        q.error(pos, "missing required key `windows` (rows per window, e.g. [16, 32])");
    }
    if let Some(bad) = fft.iter().find(|w| !(4..=1024).contains(*w)) {
        let pos = q.pos();
        q.error(pos, format!("`windows`: {bad} rows is out of range; use 4 to 1024"));
    }
    q.finish();
    Some(fft)
}

/// `time`: the parts of the timestamp to make columns of.
fn parse_time(f: &mut Fields) -> Vec<TimePart> {
    let mut time = Vec::new();
    if let Some(parts) = f.optional_str_list("time") {
        let pos = f.node("time").map(|n| n.pos).unwrap_or(f.pos());
        for part in parts {
            match part.as_str() {
                "hour" => time.push(TimePart::Hour),
                "dayofweek" => time.push(TimePart::DayOfWeek),
                other => f.error(pos, format!("`time`: unknown part `{other}`; use hour, dayofweek")),
            }
        }
    }
    time
}

/// `timezone`: an IANA zone for the time parts.
fn parse_timezone(f: &mut Fields) -> Option<chrono_tz::Tz> {
    f.optional_str("timezone")
        .and_then(|t| match t.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let hint =
                    crate::pipeline::diagnostic::did_you_mean(&t, chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()));
                let pos = f.node("timezone").map(|n| n.pos).unwrap_or(f.pos());
                f.error(
                    pos,
                    format!("`timezone`: unknown IANA time zone `{t}`{hint}; use names like `UTC` or `Europe/Berlin`"),
                );
                None
            }
        })
}

/// `interactions`: new column name -> expression over two columns.
fn parse_interactions(f: &mut Fields) -> Vec<(String, Expr)> {
    let mut interactions = Vec::new();
    if let Some(node) = f.node("interactions") {
        match node.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    if let Some(e) = expr_of(&k.name, v, f) {
                        interactions.push((k.name.clone(), e));
                    }
                }
            }
            None => f.error(node.pos, "`interactions` must map new column names to expressions"),
        }
    }
    interactions
}

/// `label`: how the label is made (from an event column, remaining useful life or an event
/// log) and its horizon.
fn parse_label(node: &Node, f: &mut Fields) -> Option<LabelSpec> {
    let context = format!("{} `label`", f.context());
    let mut l = Fields::new(node, context, f.diags)?;
    let name = l.optional_str("name").unwrap_or_else(|| "label".into());
    let event = l.optional_str("from-event");
    let rul = l.optional_bool("from-rul").unwrap_or(false);
    let log = l.node("from-log").and_then(|node| match node.as_str() {
        Some(path) => Some(super::event_log::LogSpec {
            path: path.to_string(),
            timestamp: None,
            entity: None,
            timestamp_format: None,
            filter: Vec::new(),
        }),
        None => {
            let context = format!("{} `from-log`", l.context());
            let mut g = Fields::new(node, context, l.diags)?;
            let path = g.required_str("path", " (the event log: CSV or Parquet, a file or a pattern)");
            let mut filter = Vec::new();
            if let Some(node) = g.node("where") {
                match node.as_map() {
                    Some(entries) => {
                        for (key, value) in entries {
                            let values: Vec<String> = match &value.value {
                                Value::Seq(items) => items.iter().filter_map(|i| i.scalar_text()).collect(),
                                _ => value.scalar_text().into_iter().collect(),
                            };
                            filter.push((key.name.clone(), values));
                        }
                    }
                    None => g.error(
                        node.pos,
                        "`where` maps log columns to the values that count, e.g. {failure: [comp4]}",
                    ),
                }
            }
            let spec = super::event_log::LogSpec {
                path: path.unwrap_or_default(),
                timestamp: g.optional_str("timestamp"),
                entity: g.optional_str("entity"),
                timestamp_format: g.optional_str("timestamp-format"),
                filter,
            };
            g.finish();
            Some(spec)
        }
    });
    let horizon = match l.node("horizon") {
        Some(h) => horizon_of(h, &mut l),
        None => {
            let pos = l.pos();
            l.error(
                pos,
                "missing required key `horizon` (a duration such as 24h, or cycles such as 30)",
            );
            None
        }
    };
    let pos = l.pos();
    let spec = match (event, rul, log) {
        (Some(column), false, None) => Some(LabelSpec::Event {
            column,
            horizon: horizon?,
            name,
        }),
        (None, true, None) => Some(LabelSpec::Rul {
            horizon: horizon?,
            name,
        }),
        (None, false, Some(log)) => Some(LabelSpec::Log {
            log,
            horizon: horizon?,
            name,
        }),
        _ => {
            l.error(
                pos,
                "give exactly one of `from-event: COLUMN`, `from-rul: true` or `from-log: FILE`",
            );
            None
        }
    };
    l.finish();
    spec
}
