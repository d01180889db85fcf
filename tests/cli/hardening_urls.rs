//! Issue 12, items 7-9: credentials in `s3://` and `sqlite://` URLs are refused before anything
//! runs and never shown, and S3 settings that cannot work (no credentials, plain http without
//! AWS_ALLOW_HTTP) are named before any request, in seconds.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Project, SAMPLE};

const SECRET: &str = "SECRETPW";

/// SAMPLE with a `storage:` block (at line 3, so its first key is on line 4).
fn with_storage(storage: &str) -> String {
    SAMPLE.replacen(
        "experiment: pumps\n",
        &format!("experiment: pumps\nstorage:\n{storage}"),
        1,
    )
}

/// Every file and folder under `dir`: none may be named after or hold the secret, but for the
/// pipeline files the test wrote it into.
fn assert_secret_nowhere_under(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.contains(SECRET) && !name.starts_with("admin"),
            "a file or folder named from the URL: {}",
            path.display()
        );
        if path.is_dir() {
            assert_secret_nowhere_under(&path);
        } else if !path.parent().unwrap().ends_with("pipelines") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "the password is in {}",
                path.display()
            );
        }
    }
}

/// Runs pmflow and checks it refused with exit 2, without the password in its output or in
/// the project; returns stderr.
fn refused(p: &Project, args: &[&str]) -> String {
    let (code, out, err) = p.output(args);
    assert_eq!(code, 2, "{args:?} must be refused; stdout: {out}\nstderr: {err}");
    assert!(!out.contains(SECRET) && !err.contains(SECRET), "leaked: {out}\n{err}");
    assert_secret_nowhere_under(p.root());
    err
}

#[test]
fn credentials_in_the_artifact_url_are_refused_at_their_line_redacted() {
    let p = Project::new();
    p.write(
        "pipelines/p.yaml",
        with_storage("  artifacts: s3://admin:SECRETPW@bucket/x\n"),
    );
    for command in ["validate", "run"] {
        let err = refused(&p, &[command, "pipelines/p.yaml"]);
        assert!(
            err.contains("pipelines/p.yaml:4:14: `storage.artifacts`: `s3://admin:***@bucket/x` has credentials in it"),
            "{command}: {err}"
        );
        assert!(
            err.contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"),
            "{err}"
        );
    }
    // Nothing ran: no registry, no artifacts.
    assert!(!p.root().join("experiments").exists());
}

#[test]
fn credentials_in_a_set_override_or_a_load_path_are_refused_redacted() {
    let p = Project::new();
    p.write("pipelines/p.yaml", SAMPLE);
    let err = refused(
        &p,
        &[
            "run",
            "pipelines/p.yaml",
            "--set",
            "storage.artifacts=s3://admin:SECRETPW@bucket/x",
        ],
    );
    assert!(
        err.contains("--set storage.artifacts=s3://admin:***@bucket/x: `storage.artifacts`: `s3://admin:***@bucket/x` has credentials"),
        "{err}"
    );
    let err = refused(
        &p,
        &[
            "validate",
            "pipelines/p.yaml",
            "--set",
            "load.with.path=s3://admin:SECRETPW@bucket/in.csv",
        ],
    );
    assert!(
        err.contains("`load.with.path`: `s3://admin:***@bucket/in.csv` has credentials"),
        "{err}"
    );
}

#[test]
fn a_sqlite_registry_url_with_a_user_or_host_is_refused_and_makes_no_folder() {
    let p = Project::new();
    p.write(
        "pipelines/p.yaml",
        with_storage("  registry: sqlite://admin:SECRETPW@localhost/r.db\n"),
    );
    for command in ["validate", "run"] {
        let err = refused(&p, &[command, "pipelines/p.yaml"]);
        assert!(
            err.contains(
                "pipelines/p.yaml:4:13: `storage.registry`: `sqlite://admin:***@localhost/r.db` names a host or a user"
            ),
            "{command}: {err}"
        );
        assert!(
            err.contains("`sqlite://relative/path.db`") && err.contains("`sqlite:///absolute/path.db`"),
            "{err}"
        );
    }
    // The same URL given to `runs`, on the command line and through the environment.
    let url = "sqlite://admin:SECRETPW@localhost/r.db";
    let err = refused(&p, &["runs", "list", "--registry", url]);
    assert!(err.contains("names a host or a user"), "{err}");
    let out = p
        .pmflow(&["runs", "list"])
        .env("PMFLOW_REGISTRY", url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("PMFLOW_REGISTRY") && !err.contains(SECRET), "{err}");
    assert_secret_nowhere_under(p.root());
}

/// `pmflow ARGS` with no AWS_* variable but `env`, timed.
fn s3_output(p: &Project, args: &[&str], env: &[(&str, &str)]) -> (i32, String, Duration) {
    let mut cmd = p.pmflow(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    let started = Instant::now();
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// A local port that nothing listens on: a request there would fail, but none must be made.
const CLOSED: &str = "http://127.0.0.1:9";

#[test]
fn s3_without_credentials_says_which_variables_to_set_at_once() {
    let p = Project::new();
    p.write("pipelines/p.yaml", with_storage("  artifacts: s3://bucket/x\n"));
    let env = [
        ("AWS_ENDPOINT", CLOSED),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
    ];
    let (code, err, took) = s3_output(&p, &["run", "pipelines/p.yaml"], &env);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot open artifact store s3://bucket/x: no S3 credentials found in the environment; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
    assert!(!err.contains("169.254.169.254/"), "no metadata request: {err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");

    // The same for an input read from S3 while the artifacts stay local: the step says it.
    p.write(
        "pipelines/in.yaml",
        SAMPLE.replace("path: data/sensors.csv", "path: s3://bucket/in/sensors.csv"),
    );
    let (code, err, took) = s3_output(&p, &["run", "pipelines/in.yaml"], &env);
    assert_eq!(code, 1, "the run fails: {err}");
    assert!(
        err.contains("no S3 credentials found") && err.contains("AWS_ACCESS_KEY_ID"),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_plain_http_endpoint_without_allow_http_says_to_set_it() {
    let p = Project::new();
    p.write("pipelines/p.yaml", with_storage("  artifacts: s3://bucket/x\n"));
    for endpoint_var in ["AWS_ENDPOINT", "AWS_ENDPOINT_URL"] {
        let env = [
            (endpoint_var, CLOSED),
            ("AWS_ACCESS_KEY_ID", "key"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_REGION", "us-east-1"),
        ];
        let (code, err, took) = s3_output(&p, &["run", "pipelines/p.yaml"], &env);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("the S3 endpoint http://127.0.0.1:9 is plain http, which is refused unless AWS_ALLOW_HTTP=true; set AWS_ALLOW_HTTP=true"),
            "{endpoint_var}: {err}"
        );
        assert!(!err.contains("builder error"), "{err}");
        assert!(took < Duration::from_secs(10), "took {took:?}");
    }
}
