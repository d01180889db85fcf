//! `pmflow validate`: every class of mistake reported at once with FILE:LINE:COL, exit 2, and
//! hostile input (alias bombs, deep nesting, junk) refused quickly without a panic.

use crate::support::{Project, SAMPLE};

/// One file with a mistake of every kind the validator knows; all must be reported in one pass.
const BROKEN: &str = r#"name: pump failure
experimnet: pumps
params:
  seed: 42
storage:
  registry: mysql://db/registry
  artifacts: ftp://host/artifacts
schedule: {cron: "0 3 * Mon", timezone: Europe/Berlni}
steps:
  - id: load
    kind: lod
    with: {path: data/sensors.csv}
  - id: Clean!
    kind: clean
  - id: clean
    kind: clean
    needs: [laod]
    retries: two
    with:
      imput: mean
      outliers: {method: iqr, action: explode}
  - id: clean
    kind: load
    with: {path: "${params.sed}"}
  - id: a
    kind: clean
    needs: [b]
  - id: b
    kind: clean
    needs: [a]
"#;

#[test]
fn reports_every_problem_with_line_and_column() {
    let p = Project::new();
    p.write("pipelines/broken.yaml", BROKEN);
    let (code, out, err) = p.output(&["validate", "pipelines/broken.yaml"]);
    assert_eq!(code, 2, "invalid pipeline exits 2; stdout: {out}");
    insta::assert_snapshot!("validate_broken", err);
}

#[test]
fn valid_pipeline_passes_and_shows_the_plan() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, out, err) = p.output(&["validate", "pipelines/train.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("ok: pipeline `pump-failure`, 2 steps (load -> clean)"),
        "{out}"
    );
}

#[test]
fn inputs_that_are_not_there_fail_validation() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, _, err) = p.output(&[
        "validate",
        "pipelines/train.yaml",
        "--set",
        "load.with.path=data/sensor.csv",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("pipelines/train.yaml: step `load`: `with.path`: no file ")
            && err.contains("data/sensor.csv (relative paths start at the project root)"),
        "{err}"
    );
    let (code, _, err) = p.output(&[
        "validate",
        "pipelines/train.yaml",
        "--set",
        "load.with.path=data/*.parquet",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`with.path`: no file matches `data/*.parquet`"), "{err}");
}

#[test]
fn yaml_syntax_error_points_at_the_line() {
    let p = Project::new();
    p.write("pipelines/bad.yaml", "name: x\nsteps:\n  - id: a\n    kind: [load\n");
    let (code, _, err) = p.output(&["validate", "pipelines/bad.yaml"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("pipelines/bad.yaml:"), "{err}");
    assert!(err.contains("YAML syntax error"), "{err}");
    let line: u32 = err
        .split(':')
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("a line number");
    assert!(
        (4..=5).contains(&line),
        "error should point at the unclosed list: {err}"
    );
}

#[test]
fn set_overrides_are_validated_like_the_file() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, _, err) = p.output(&[
        "validate",
        "pipelines/train.yaml",
        "--set",
        "clean.with.imput=mean",
        "--set",
        "params.sed=1",
        "--set",
        "cleen.retries=1",
        "--set",
        "noequals",
        "--set",
        "load.path=data/other.csv",
    ]);
    assert_eq!(code, 2);
    // A step-level key forgotten under `with`: each valid key is listed once.
    assert!(
        err.contains("--set load.path=data/other.csv: step `load`: unknown key `path` (did you mean `with`?); valid keys: id, kind, needs, retries, timeout-secs, with"),
        "{err}"
    );
    assert!(
        err.contains("--set clean.with.imput=mean: step `clean` `with`: unknown key `imput` (did you mean `impute`?)"),
        "{err}"
    );
    assert!(
        err.contains("--set params.sed=1: no parameter `sed` in `params` (did you mean `seed`?)"),
        "{err}"
    );
    assert!(
        err.contains("--set cleen.retries=1: no step with id `cleen` (did you mean `clean`?)"),
        "{err}"
    );
    assert!(err.contains("--set noequals: expected PATH=VALUE"), "{err}");

    let (code, _, err) = p.output(&[
        "validate",
        "pipelines/train.yaml",
        "--set",
        "clean.with.impute=sideways",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--set clean.with.impute=sideways: step `clean` `with`: `impute` must be one of none, ffill, bfill, mean, median, interpolate; found `sideways`"), "{err}");
}

#[test]
fn hostile_and_degenerate_inputs_fail_cleanly() {
    let p = Project::new();
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\ni: [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    let deep = format!("name: x\nsteps: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "the pipeline file is empty"),
        (
            "comments only",
            b"# nothing here\n".to_vec(),
            "the pipeline file is empty",
        ),
        ("a list", b"- a\n- b\n".to_vec(), "a pipeline must be a mapping"),
        ("a scalar", b"hello\n".to_vec(), "a pipeline must be a mapping"),
        ("binary junk", vec![0xff, 0xfe, 0x00, 0x12, 0x9c, 0x80], "not UTF-8"),
        ("nul bytes", b"name: a\0b\n".to_vec(), "NUL bytes"),
        ("alias bomb", bomb.as_bytes().to_vec(), "YAML syntax error"),
        ("deep nesting", deep.into_bytes(), "YAML syntax error"),
        (
            "two documents",
            b"name: a\n---\nname: b\n".to_vec(),
            "YAML syntax error",
        ),
        ("tabs", b"name: a\nsteps:\n\t- id: x\n".to_vec(), "YAML syntax error"),
    ];
    for (what, bytes, expected) in cases {
        p.write("pipelines/hostile.yaml", &bytes);
        let started = std::time::Instant::now();
        let (code, _, err) = p.output(&["validate", "pipelines/hostile.yaml"]);
        assert_eq!(code, 2, "{what}: exit code; stderr: {err}");
        assert!(err.contains(expected), "{what}: expected `{expected}` in: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        // Not a timing test: a hang or an exponential expansion would take minutes, not seconds.
        assert!(started.elapsed().as_secs() < 20, "{what}: took {:?}", started.elapsed());
    }
    let (code, _, err) = p.output(&["validate", "pipelines/missing.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("pipelines/missing.yaml: cannot read the pipeline file"),
        "{err}"
    );
}
