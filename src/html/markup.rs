//! The few HTML pieces the report is made of: escaped text, tables, pictures as data URIs,
//! and the page's own style sheet (no fonts or scripts from anywhere).

use std::fmt::Write;

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with a header row; every cell is HTML already (escape text with [`escape`]).
pub fn table(header: &[&str], rows: &[Vec<String>], class: &str) -> String {
    let mut out = format!("<table class=\"{class}\"><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// An SVG picture as an `<img>` with a data URI: each picture keeps its own ids and styles,
/// and the page needs nothing from outside.
pub fn picture(svg: &[u8], alt: &str) -> String {
    let mut uri = String::from("data:image/svg+xml;charset=utf-8,");
    for &b in svg {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b' '
            | b'-'
            | b'.'
            | b'_'
            | b'='
            | b'/'
            | b':'
            | b','
            | b'('
            | b')' => uri.push(b as char),
            _ => {
                let _ = write!(uri, "%{b:02X}");
            }
        }
    }
    format!(
        "<img src=\"{}\" alt=\"{}\" loading=\"lazy\">",
        escape(&uri),
        escape(alt)
    )
}

/// A number as a person reads it: integers whole, others to 4 significant decimals.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    if value.abs() >= 1000.0 {
        format!("{value:.1}")
    } else if value.abs() >= 0.001 {
        format!("{value:.4}")
    } else {
        format!("{value:.3e}")
    }
}

/// A run or step status as a coloured badge (the stylesheet colours each status class).
pub fn badge(status: &str) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", escape(status))
}

/// A sha256 (or any long digest) by its first 12 characters, the whole on hover.
pub fn digest(hex: &str) -> String {
    format!(
        "<code title=\"{}\">{}</code>",
        escape(hex),
        escape(hex.get(..12).unwrap_or(hex))
    )
}

/// Bytes as KB / MB / GB.
pub fn size(bytes: i64) -> String {
    let b = bytes as f64;
    match bytes {
        b0 if b0 < 1_000 => format!("{bytes} B"),
        b0 if b0 < 1_000_000 => format!("{:.1} kB", b / 1e3),
        b0 if b0 < 1_000_000_000 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.2} GB", b / 1e9),
    }
}

pub const STYLE: &str = r#"
:root { --fg: #1d2330; --muted: #5b6475; --line: #e3e6ec; --ok: #007a5a; --bad: #c0392b; --warn: #b9770e; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #1d2330; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header .sub { color: #c8cfdb; font-size: 13px; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 32px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; margin: 18px 0; padding: 16px 20px; }
h2 { font-size: 16px; margin: 0 0 12px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-size: 12px; font-weight: 600; color: #fff; vertical-align: middle; margin-left: 8px; }
.badge.succeeded { background: var(--ok); } .badge.failed { background: var(--bad); }
.badge.interrupted, .badge.running { background: var(--warn); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px 24px; }
.facts div span { display: block; color: var(--muted); font-size: 12px; }
.facts code { font-size: 12px; }
.error { background: #fdecea; border-color: #f5c6cb; color: #7a1c12; white-space: pre-wrap; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin-bottom: 12px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.tile b { display: block; font-size: 20px; }
.tile span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.narrow { width: auto; min-width: 50%; }
.better { color: var(--ok); font-weight: 600; } .worse { color: var(--bad); font-weight: 600; }
.pictures { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; }
.pictures img, img.wide { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
ul.warnings li { margin: 4px 0; }
.muted { color: var(--muted); }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
details summary { cursor: pointer; color: var(--muted); }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 12px; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_pictures_cannot_break_out_of_the_page() {
        assert_eq!(
            escape("<script>\"x\" & 'y'"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;"
        );
        let img = picture(br#"<svg a="1"><text>#5 & <b></text></svg>"#, "a \"b\"");
        assert!(
            img.starts_with("<img src=\"data:image/svg+xml;charset=utf-8,%3Csvg a=%221%22%3E"),
            "{img}"
        );
        assert!(img.contains("%235 %26 %3Cb%3E"), "{img}");
        assert!(img.ends_with("alt=\"a &quot;b&quot;\" loading=\"lazy\">"));
    }

    #[test]
    fn numbers_and_sizes_read_well() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(0.123456), "0.1235");
        assert_eq!(number(0.0000123), "1.230e-5");
        assert_eq!(number(12345.678), "12345.7");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_500_000), "1.5 MB");
    }
}
