//! The architecture, kept: every `crate::` path in `src/` points down the layers of README's
//! ARCHITECTURE section. A new import across a boundary fails here, naming the file and line.

use std::path::{Path, PathBuf};

use crate::support::repo;

/// Each top-level module of `src/` and the modules it may use (besides itself). Layers, top
/// down: app > report > exec > html > registry, artifacts, steps > model, plot > frame > ml; pipeline
/// (the file format) sits at the bottom beside ml, and datagen beside everything.
const MAY_USE: &[(&str, &[&str])] = &[
    (
        "app",
        &[
            "cli",
            "error",
            "report",
            "exec",
            "html",
            "registry",
            "artifacts",
            "steps",
            "model",
            "plot",
            "frame",
            "pipeline",
            "ml",
            "datagen",
            "subprocess",
        ],
    ),
    ("cli", &["report", "pipeline"]),
    ("error", &["registry", "pipeline"]),
    ("report", &["exec"]),
    (
        "exec",
        &["html", "registry", "artifacts", "steps", "model", "frame", "pipeline"],
    ),
    ("html", &["registry", "model", "plot", "ml"]),
    ("registry", &["frame", "pipeline", "ml"]),
    ("artifacts", &["frame", "pipeline"]),
    ("steps", &["model", "plot", "frame", "pipeline", "ml", "subprocess"]),
    ("model", &["frame", "ml", "subprocess"]),
    ("plot", &["ml"]),
    ("frame", &["ml"]),
    ("datagen", &["ml"]),
    ("pipeline", &[]),
    ("ml", &[]),
    ("subprocess", &[]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules a line names through `crate::` paths (`use crate::{a, b::c}` too).
fn named_modules(line: &str) -> Vec<String> {
    names_after(line, "crate::")
}

#[test]
fn every_import_points_down_the_layers() {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut crossings = Vec::new();
    let mut unknown = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy();
        let module = top.trim_end_matches(".rs");
        if matches!(module, "lib" | "main") {
            continue;
        }
        let Some((_, allowed)) = MAY_USE.iter().find(|(m, _)| *m == module) else {
            unknown.push(format!("src/{}", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for used in named_modules(line) {
                if used != module && !allowed.contains(&used.as_str()) {
                    crossings.push(format!(
                        "src/{}:{}: `{module}` uses `{used}`: {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "top-level modules with no place in the layers (add them to MAY_USE and README's ARCHITECTURE): {unknown:?}"
    );
    assert!(
        crossings.is_empty(),
        "imports across a layer boundary (move the code, or hand it down through a trait as steps::context does):\n{}",
        crossings.join("\n")
    );
}

/// The files of `src/app/` that are not commands: what several commands share. Every other file
/// there is a command, and a command uses none of the others.
const APP_HELPERS: &[&str] = &["mod", "shared", "sides", "memory"];

/// The names a line reaches through `prefix` paths (`super::runs::open`, `super::{a, b}`).
fn names_after(line: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        let names: Vec<&str> = match after.strip_prefix('{') {
            Some(inner) => inner.split(['}', ';']).next().unwrap_or("").split(',').collect(),
            None => vec![after],
        };
        for name in names {
            let module: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !module.is_empty() {
                out.push(module);
            }
        }
        rest = after;
    }
    out
}

#[test]
fn no_command_uses_another_command() {
    let app = repo().join("src/app");
    let mut files = Vec::new();
    rust_files(&app, &mut files);
    let module_of = |file: &Path| {
        let rel = file.strip_prefix(&app).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        first.trim_end_matches(".rs").to_string()
    };
    let commands: Vec<String> = files
        .iter()
        .map(|f| module_of(f))
        .filter(|m| !APP_HELPERS.contains(&m.as_str()))
        .collect();
    let mut uses = Vec::new();
    for file in &files {
        let module = module_of(file);
        if APP_HELPERS.contains(&module.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let used = names_after(line, "super::")
                .into_iter()
                .chain(names_after(line, "crate::app::"));
            for other in used {
                if other != module && commands.contains(&other) {
                    uses.push(format!(
                        "src/app/{}:{}: command `{module}` uses command `{other}`: {}",
                        file.strip_prefix(&app).unwrap().display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        uses.is_empty(),
        "a command file uses another command file; move what both need to src/app/shared.rs (or to a helper module listed in APP_HELPERS in tests/cli/layers.rs):\n{}",
        uses.join("\n")
    );
}

#[test]
fn the_app_checker_sees_sibling_paths() {
    assert_eq!(names_after("use super::runs::open;", "super::"), ["runs"]);
    assert_eq!(
        names_after("use super::{run, shared::x};", "super::"),
        ["run", "shared"]
    );
    assert_eq!(
        names_after("crate::app::compare::versus(r)", "crate::app::"),
        ["compare"]
    );
}

#[test]
fn the_checker_sees_grouped_and_nested_paths() {
    assert_eq!(named_modules("use crate::exec::events::Event;"), ["exec"]);
    assert_eq!(
        named_modules("use crate::{frame::Table, ml::rng::Rng};"),
        ["frame", "ml"]
    );
    assert_eq!(
        named_modules("let x = crate::steps::run(&p, crate::registry::X);"),
        ["steps", "registry"]
    );
    assert!(named_modules("use super::csv;").is_empty());
}

/// Each `src/` file's lines up to its unit tests (`mod tests`), with 1-based numbers, comments
/// left out: what the contract rules below read.
fn code_lines(file: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .enumerate()
        .take_while(|(_, l)| !l.trim_start().starts_with("mod tests"))
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(n, l)| (n + 1, l.to_string()))
        .collect()
}

fn src_files() -> Vec<(String, PathBuf)> {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .map(|f| (f.strip_prefix(&src).unwrap().display().to_string(), f))
        .collect()
}

/// A step kind's abilities live in one dispatch: the engine and the commands read a step
/// through its ports (`steps::ports`), so a new kind is its own folder plus one arm there.
#[test]
fn only_the_step_dispatch_names_a_step_kind() {
    let mut found = Vec::new();
    for (rel, file) in src_files() {
        // The dispatch, and the catalog that lists the kinds.
        if rel == "steps/mod.rs" || rel == "steps/catalog.rs" {
            continue;
        }
        for (n, line) in code_lines(&file) {
            for name in ["StepKind::", "StepParams::"] {
                let named_variant = line
                    .match_indices(name)
                    .any(|(at, _)| line[at + name.len()..].starts_with(|c: char| c.is_ascii_uppercase()));
                if named_variant {
                    found.push(format!("src/{rel}:{n}: {}", line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "code outside src/steps/mod.rs and catalog.rs names a step kind (declare what it needs in the kind's ports, src/steps/ports.rs, and read them):\n{}",
        found.join("\n")
    );
}

/// A model is a bundle (`model::bundle`) and the state new data is prepared with has its
/// names in `model::formats`: a new model kind or state file is named in one place.
#[test]
fn only_model_names_a_models_files() {
    const NAMES: &[&str] = &[
        "\"model_card.json\"",
        "\"model.safetensors\"",
        "\"training_load_report.json\"",
        "\"scaler.json\"",
        "\"feature_manifest.json\"",
        "\"outlier_fences.json\"",
        "\"drift_report.json\"",
    ];
    let mut found = Vec::new();
    for (rel, file) in src_files() {
        if rel.starts_with("model/") {
            continue;
        }
        for (n, line) in code_lines(&file) {
            if NAMES.iter().any(|name| line.contains(name)) {
                found.push(format!("src/{rel}:{n}: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a model's or a fitted state's file named outside src/model/ (use model::bundle or model::formats):\n{}",
        found.join("\n")
    );
}
