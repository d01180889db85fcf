//! A minimal SVG document builder: shapes and text with escaped content.

use std::fmt::Write;

pub struct Svg {
    body: String,
    width: f64,
    height: f64,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Svg {
        let mut svg = Svg {
            body: String::new(),
            width,
            height,
        };
        svg.rect(0.0, 0.0, width, height, "#ffffff", None);
        svg
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: Option<&str>) {
        let stroke = stroke.map(|s| format!(r#" stroke="{s}""#)).unwrap_or_default();
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}"{stroke}/>"#
        );
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, dashed: bool) {
        let mut coords = String::new();
        for (x, y) in points {
            let _ = write!(coords, "{x:.1},{y:.1} ");
        }
        let dash = if dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}"{dash}/>"#,
            coords.trim_end()
        );
    }

    pub fn circle(&mut self, (x, y): (f64, f64), r: f64, fill: &str) {
        let _ = writeln!(self.body, r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{fill}"/>"#);
    }

    /// `anchor` is start, middle or end; `rotate` turns the text about its anchor point.
    pub fn text(&mut self, x: f64, y: f64, content: &str, size: f64, anchor: &str, rotate: Option<f64>) {
        let transform = rotate
            .map(|deg| format!(r#" transform="rotate({deg} {x:.1} {y:.1})""#))
            .unwrap_or_default();
        self.text_element(x, y, content, size, &format!(r#" text-anchor="{anchor}"{transform}"#));
    }

    pub fn centred_text(&mut self, x: f64, y: f64, content: &str, size: f64, fill: &str) {
        self.text_element(x, y, content, size, &format!(r#" text-anchor="middle" fill="{fill}""#));
    }

    /// A `<text>` element with escaped content; `attributes` start with a space.
    fn text_element(&mut self, x: f64, y: f64, content: &str, size: f64, attributes: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}"{attributes}>{}</text>"#,
            escape(content)
        );
    }

    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let mut svg = Svg::new(10.0, 10.0);
        svg.text(1.0, 2.0, "a < b & \"c\"", 10.0, "start", None);
        let out = svg.finish();
        assert!(out.contains("a &lt; b &amp; &quot;c&quot;"), "{out}");
        assert!(out.starts_with("<svg xmlns"));
    }
}
