//! Problems found in a pipeline, each tied to a place: `FILE:LINE:COL: message`.

use std::fmt;

use super::node::Pos;

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub pos: Pos,
    pub message: String,
}

/// All problems of one pipeline, rendered against its file name and `--set` overrides.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub file: String,
    pub overrides: Vec<String>,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(file: impl Into<String>, overrides: Vec<String>) -> Self {
        Diagnostics {
            file: file.into(),
            overrides,
            items: Vec::new(),
        }
    }

    pub fn push(&mut self, pos: Pos, message: impl Into<String>) {
        self.items.push(Diagnostic {
            pos,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Sorted by position, so output follows the file from top to bottom; overrides come last.
    pub fn sorted(mut self) -> Self {
        self.items.sort_by_key(|d| (d.pos.origin, d.pos.line, d.pos.col));
        self.items.dedup();
        self
    }

    fn location(&self, pos: Pos) -> String {
        if pos.origin > 0 {
            let text = self
                .overrides
                .get(pos.origin as usize - 1)
                .map(String::as_str)
                .unwrap_or("?");
            format!("--set {text}")
        } else if pos.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}:{}", self.file, pos.line, pos.col)
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{}: {}", self.location(d.pos), d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// "did you mean `x`?" for the closest candidate, when one is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, c)) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}
