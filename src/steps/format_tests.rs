//! The pipeline format with the built-in kinds behind it: any text gives an answer and never a
//! panic, and `${params.*}` splices as the kinds' parameters expect.

use std::path::Path;

use proptest::prelude::*;

use super::{Builtin, Pipeline};
use crate::pipeline::Diagnostics;

fn check(text: &str) -> Result<Pipeline, Diagnostics> {
    crate::pipeline::from_str::<Builtin>(
        text,
        Path::new("p.yaml"),
        Path::new("/project"),
        Diagnostics::new("p.yaml", Vec::new()),
    )
}

/// Pieces of pipeline-shaped YAML, including the characters that make YAML tricky.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name: x\n".to_string()),
        Just("steps:\n".to_string()),
        Just("  - id: a\n".to_string()),
        Just("    kind: load\n".to_string()),
        Just("    kind: clean\n".to_string()),
        Just("    needs: [a, b]\n".to_string()),
        Just("    with: {path: d.csv, impute: ${params.m}}\n".to_string()),
        Just("params: {m: mean, seed: 1}\n".to_string()),
        Just("schedule: {cron: \"0 0 3 * * Mon\"}\n".to_string()),
        Just("&x ".to_string()),
        Just("*x ".to_string()),
        Just("<<: *x\n".to_string()),
        Just("? ".to_string()),
        Just("!!binary ".to_string()),
        Just("---\n".to_string()),
        Just("|\n".to_string()),
        "[ -~]{0,12}".prop_map(|s| s),
        "[\\[\\]{}:,&*!|>'\"#%@`-]{1,6}".prop_map(|s| s),
        "[ \t\n]{1,4}".prop_map(|s| s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// Any text at all: an answer (valid or diagnostics), never a panic.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = check(&text);
    }

    /// Pipeline-shaped text: never a panic, and every problem points inside the file.
    #[test]
    fn pipeline_shaped_text_never_panics(parts in prop::collection::vec(fragment(), 0..40)) {
        let text = parts.concat();
        if let Err(diags) = check(&text) {
            let lines = text.lines().count() as u32 + 1;
            for d in &diags.items {
                prop_assert!(d.pos.line <= lines, "{d:?} beyond {lines} lines in {text:?}");
            }
            prop_assert!(!diags.is_empty());
        }
    }
}

#[test]
fn whole_string_params_keep_their_type_and_embedded_ones_splice() {
    let text = "name: x\nparams: {n: 7, dir: data}\nsteps:\n  - id: a\n    kind: load\n    with: {path: \"${params.dir}/s.csv\", timestamp: \"${params.n}\"}\n";
    // `timestamp` must be a string, so the integer 7 substituted whole is reported as such.
    let err = check(text).unwrap_err().to_string();
    assert!(err.contains("`timestamp` must be a string, found an integer"), "{err}");
    let text = text.replace(", timestamp: \"${params.n}\"", "");
    let p = check(&text).unwrap();
    assert_eq!(p.steps[0].with["path"], "data/s.csv");
}
