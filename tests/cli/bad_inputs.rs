//! The bad-input corpus: every row of `tests/bad_inputs/CASES.md` run with the real binary.
//! A new way to break pmflow becomes one row there, not a new test here.

use std::path::Path;

use crate::support::{repo, Project};

struct Case {
    name: String,
    file: String,
    command: Vec<String>,
    exit: i32,
    says: String,
    never: String,
}

/// The rows of the first table in CASES.md (six columns; backquotes are kept as written).
fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(repo().join("tests/bad_inputs/CASES.md")).unwrap();
    text.lines()
        .skip_while(|l| !l.starts_with("| case | file |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 6, "CASES.md row needs six cells: {line}");
            Case {
                name: cells[0].into(),
                file: cells[1].into(),
                command: cells[2]
                    .split_whitespace()
                    .map(|w| {
                        if w == "P" {
                            "pipelines/p.yaml".into()
                        } else {
                            w.to_string()
                        }
                    })
                    .collect(),
                exit: cells[3].parse().unwrap_or_else(|_| panic!("exit code in: {line}")),
                says: cells[4].into(),
                never: cells[5].into(),
            }
        })
        .collect()
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle)) {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
fn every_case_of_the_corpus_gets_its_message() {
    let cases = cases();
    assert!(cases.len() >= 15, "CASES.md lost its rows: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let p = Project::new();
        p.write(
            "pipelines/p.yaml",
            std::fs::read(repo().join("tests/bad_inputs/pipeline.yaml")).unwrap(),
        );
        let input = p.root().join("data/input.csv");
        if case.file == "folder" {
            std::fs::create_dir_all(&input).unwrap();
            std::fs::copy(repo().join("tests/bad_inputs/good.csv"), input.join("a.csv")).unwrap();
        } else {
            std::fs::copy(repo().join("tests/bad_inputs").join(&case.file), &input).unwrap();
        }
        let args: Vec<&str> = case.command.iter().map(String::as_str).collect();
        let (code, out, err) = p.output(&args);
        let both = format!("{out}{err}");
        let mut problems = Vec::new();
        if code != case.exit {
            problems.push(format!("exit {code}, expected {}", case.exit));
        }
        if !both.contains(&case.says) {
            problems.push(format!("does not say `{}`", case.says));
        }
        if !case.never.is_empty() {
            if both.contains(&case.never) {
                problems.push(format!("says `{}`", case.never));
            }
            let leaked: Vec<String> = files_containing(&p.root().join("experiments"), &case.never)
                .into_iter()
                .chain(files_containing(&p.root().join("artifacts"), &case.never))
                .collect();
            if !leaked.is_empty() {
                problems.push(format!("`{}` is in {leaked:?}", case.never));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({}): {}\n{both}",
                case.name,
                case.file,
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
