//! The registry on a real PostgreSQL server (started by the suite on 127.0.0.1 from the binaries
//! scripts/setup.sh installs): a local registry copied into it serves every command; two hosts
//! share it and one SeaweedFS bucket; a killed host's run is found; connection trouble is
//! named; a server that goes away mid-run stops the run and loses nothing it had confirmed; and
//! a password reaches no output, artifact or row.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::pg_server::{self, Auth, PostgresServer};
use crate::support::Project;

/// Trains a small LSTM and registers it, promoted to `production` when evaluate ran.
const TRAIN: &str = r#"name: pump-sensors
experiment: shared
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: clean, kind: clean, needs: [load], with: {impute: median}}
  - {id: split, kind: split, needs: [clean], with: {by: entity, seed: 42}}
  - {id: train, kind: train-lstm, needs: [split], with: {window: 24, hidden: 8, epochs: 2, patience: 100, seed: 42}}
  - {id: evaluate, kind: evaluate, needs: [train, split]}
  - id: register
    kind: register
    needs: [evaluate]
    with:
      promote: {alias: production, when: [{metric: evaluate.roc_auc, min: 0.0}]}
"#;

/// Stands in for a real password: it must show up nowhere.
const PASSWORD: &str = "Pw-never-shown-7731";

/// A new, empty database on the suite's shared server, as a URL with [`PASSWORD`] in it (the
/// server trusts local logins and ignores it).
fn fresh_database(prefix: &str) -> String {
    let server = pg_server::shared();
    let database = server.create_database(prefix);
    server
        .url(&database)
        .replace("postgres://pmflow@", &format!("postgres://pmflow:{PASSWORD}@"))
}

/// `pmflow ARGS` on the registry at `url` (through PMFLOW_REGISTRY): (code, stdout, stderr).
fn on(p: &Project, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = p.pmflow(args).env("PMFLOW_REGISTRY", url).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(p: &Project, url: &str, args: &[&str]) -> String {
    let (code, out, err) = on(p, url, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    assert!(
        !out.contains(PASSWORD) && !err.contains(PASSWORD),
        "{args:?} showed the password:\n{out}\n{err}"
    );
    out
}

fn json(p: &Project, url: &str, args: &[&str]) -> serde_json::Value {
    let out = ok(p, url, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} prints JSON ({e}): {out}"))
}

/// The first column of every row `sql` returns, as text, read straight from the database.
fn rows(url: &str, sql: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let found: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        found
    })
}

/// Every row of every table, as text.
fn whole_database(url: &str) -> String {
    let tables = rows(
        url,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    assert!(tables.len() >= 12, "{tables:?}");
    tables
        .iter()
        .flat_map(|t| {
            rows(
                url,
                &format!("SELECT COALESCE(string_agg(t::text, ' '), '') FROM {t} t"),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every file under `dir`, as (lossy) text.
fn all_files(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&all_files(&path));
        } else {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()));
        }
    }
    text
}

#[test]
fn a_local_registry_moves_to_postgres_and_every_command_works_there() {
    let p = Project::new();
    p.write("pipelines/train.yaml", TRAIN);
    let (code, _, err) = p.output(&["run", "pipelines/train.yaml"]);
    assert_eq!(code, 0, "{err}");
    let local = p.show("latest");
    let run_id = local["id"].as_str().unwrap().to_string();
    let url = fresh_database("moved");

    // The copy, then the same run as the local registry shows it.
    let out = ok(
        &p,
        &url,
        &["registry", "copy", "sqlite://experiments/registry.db", &url],
    );
    assert!(
        out.contains("copied 1 run(s)") && out.contains("1 model version(s)"),
        "{out}"
    );
    let moved = json(&p, &url, &["runs", "show", &run_id, "--format", "json"]);
    assert_eq!(moved, local, "the run reads the same from PostgreSQL");
    let sqlite_metrics = p.output(&["metrics", &run_id, "--format", "json"]).1;
    assert_eq!(ok(&p, &url, &["metrics", &run_id, "--format", "json"]), sqlite_metrics);
    assert_eq!(
        json(&p, &url, &["models", "history", "pump-sensors", "--format", "json"]),
        serde_json::from_str::<serde_json::Value>(
            &p.output(&["models", "history", "pump-sensors", "--format", "json"]).1
        )
        .unwrap()
    );

    // A second run on PostgreSQL: the copied steps serve it from the cache, and it registers v2.
    ok(&p, &url, &["run", "pipelines/train.yaml"]);
    let second = json(&p, &url, &["runs", "show", "latest", "--format", "json"]);
    assert_ne!(second["id"], local["id"]);
    assert_eq!(second["status"], "succeeded");
    let load = &second["steps"][0];
    assert_eq!(
        (load["id"].as_str(), load["cached"].as_bool()),
        (Some("load"), Some(true)),
        "{second}"
    );
    let models = json(&p, &url, &["models", "list", "--format", "json"]);
    assert_eq!(models[0]["versions"], 2, "{models}");
    assert_eq!(models[0]["aliases"]["production"], 2, "{models}");
    let listed = json(
        &p,
        &url,
        &["runs", "list", "--format", "json", "--where", "status = 'succeeded'"],
    );
    assert_eq!(listed.as_array().unwrap().len(), 2);
    ok(&p, &url, &["compare", &run_id, "latest"]);
    ok(&p, &url, &["models", "show", "pump-sensors@production"]);
    let scores = ok(
        &p,
        &url,
        &[
            "predict",
            "--model",
            "pump-sensors@production",
            "--data",
            "data/sensors.csv",
        ],
    );
    assert!(scores.contains("critical") || scores.contains("healthy"), "{scores}");
    ok(&p, &url, &["report", "latest", "--out", "report.html"]);
    assert!(std::fs::read_to_string(p.root().join("report.html"))
        .unwrap()
        .contains("<html"));
    // gc weighs the runs the registry knows: the model's runs keep their files.
    let weighed = ok(&p, &url, &["gc", "--keep-last", "1", "--dry-run"]);
    assert!(
        !weighed.contains(&run_id),
        "a registered model's run is kept: {weighed}"
    );

    // A second copy would merge: refused, nothing written.
    let before = whole_database(&url);
    let (code, _, err) = on(
        &p,
        &url,
        &["registry", "copy", "sqlite://experiments/registry.db", &url],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("already holds 1 of the 1 run(s)") && err.contains(&run_id[..12]),
        "{err}"
    );
    assert!(!err.contains(PASSWORD), "{err}");
    assert_eq!(whole_database(&url), before, "a refused copy changes nothing");

    // And back into a new SQLite file: every row.
    ok(&p, &url, &["registry", "copy", &url, "sqlite://back.db"]);
    let (_, back, _) = p.output(&["runs", "list", "--format", "json", "--registry", "sqlite://back.db"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&back)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The password reached no row and no artifact.
    assert!(!before.contains(PASSWORD), "a registry row holds the password");
    assert!(!all_files(p.root()).contains(PASSWORD), "a file holds the password");
}

/// A pipeline whose last step reads a named pipe nobody writes yet, so a run stays `running`.
fn blocked_pipeline(p: &Project) {
    let fifo = p.root().join("data/blocked.csv");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    p.write(
        "pipelines/blocked.yaml",
        r#"name: blocked
steps:
  - {id: first, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
  - {id: wait, kind: load, needs: [first], with: {path: data/blocked.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
"#,
    );
}

/// Starts `pmflow run pipelines/blocked.yaml` (as `host`, else as this machine) and waits until
/// its `wait` step runs. The caller waits for the child it is given.
#[allow(clippy::zombie_processes)]
fn start_blocked(p: &Project, url: &str, host: Option<&str>, extra_env: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("pmflow"));
    cmd.current_dir(p.root())
        .env("CI", "1")
        .env("PMFLOW_REGISTRY", url)
        .args(["run", "pipelines/blocked.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    if let Some(host) = host {
        cmd.env("PMFLOW_HOST", host);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the blocked run never reached its `wait` step");
        }
        let (code, out, _) = on(p, url, &["runs", "show", "latest", "--format", "json"]);
        let run: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        if code == 0
            && run["pipeline"] == "blocked"
            && run["status"] == "running"
            && run["steps"][1]["status"] == "running"
        {
            return child;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_hosts_share_one_registry_and_one_bucket_and_a_killed_hosts_run_is_found() {
    let _s3 = crate::s3::SeaweedFs::start_shared();
    let url = fresh_database("hosts");
    let p = Project::new();
    p.write("pipelines/train.yaml", TRAIN);
    blocked_pipeline(&p);
    let host = |name: &str, args: &[&str]| {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("pmflow"));
        cmd.current_dir(p.root())
            .env("CI", "1")
            .env("PMFLOW_REGISTRY", &url)
            .env("PMFLOW_HOST", name)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::s3::s3_env_std(&mut cmd);
        cmd
    };
    // Two hosts, each training twice (different seeds), at the same time.
    let children: Vec<_> = ["plant-a", "plant-b"]
        .iter()
        .flat_map(|name| (0..2).map(move |i| (name.to_string(), i)))
        .map(|(name, i)| {
            host(
                &name,
                &[
                    "run",
                    "pipelines/train.yaml",
                    "--set",
                    crate::s3::ON_S3,
                    "--set",
                    &format!("split.with.seed={}", 40 + i),
                ],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let runs = json(&p, &url, &["runs", "list", "--format", "json"]);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 4);
    assert!(runs.iter().all(|r| r["status"] == "succeeded"), "{runs:?}");
    let mut hosts = rows(&url, "SELECT host FROM runs ORDER BY host");
    hosts.dedup();
    assert_eq!(hosts, ["plant-a", "plant-b"]);
    let mut versions = rows(&url, "SELECT version::text FROM model_versions ORDER BY version");
    versions.dedup();
    assert_eq!(
        versions,
        ["1", "2", "3", "4"],
        "one number per registration, none shared"
    );
    assert_eq!(rows(&url, "SELECT COUNT(*)::text FROM model_alias_history")[0], "4");
    // Every artifact each host recorded is in the bucket, with the recorded size.
    let recorded = rows(&url, "SELECT uri || ' ' || bytes FROM artifacts");
    assert!(recorded.len() >= 4 * 8, "{recorded:?}");
    let objects = crate::s3::object_sizes();
    for line in &recorded {
        let (uri, bytes) = line.rsplit_once(' ').unwrap();
        let key = uri.strip_prefix("s3://pmflow/").unwrap_or_else(|| panic!("{uri}"));
        assert_eq!(objects.get(key).map(|n| n.to_string()).as_deref(), Some(bytes), "{uri}");
    }

    // plant-a is killed mid-run while plant-b works on: plant-b's run is unaffected.
    let mut killed = start_blocked(&p, &url, Some("plant-a"), &[]);
    let killed_id = json(&p, &url, &["runs", "show", "latest", "--format", "json"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    let out = host("plant-b", &["run", "pipelines/train.yaml", "--set", crate::s3::ON_S3])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // plant-b cannot see plant-a's processes: the run stays `running` while its heartbeat is
    // fresh (it is declared dead five minutes after its last beat) ...
    let seen_by_b = host("plant-b", &["runs", "show", &killed_id, "--format", "json"])
        .output()
        .unwrap();
    let seen_by_b: serde_json::Value = serde_json::from_slice(&seen_by_b.stdout).unwrap();
    assert_eq!(seen_by_b["status"], "running");
    // ... and plant-a, back, finds its process gone at once.
    let seen_by_a = host("plant-a", &["runs", "show", &killed_id, "--format", "json"])
        .output()
        .unwrap();
    let seen_by_a: serde_json::Value = serde_json::from_slice(&seen_by_a.stdout).unwrap();
    assert_eq!(seen_by_a["status"], "interrupted", "{seen_by_a}");
    assert!(
        seen_by_a["error"].as_str().unwrap().contains("on plant-a"),
        "{seen_by_a}"
    );
    let latest = json(&p, &url, &["runs", "list", "--format", "json", "--limit", "1"]);
    assert_eq!(latest[0]["status"], "succeeded", "plant-b's run: {latest}");
    assert_eq!(rows(&url, "SELECT COUNT(*)::text FROM model_versions")[0], "5");
    unblock_quietly(&p);
}

/// Opens the pipe once so a test that leaves it unread does not hang anything.
fn unblock_quietly(p: &Project) {
    let fifo = p.root().join("data/blocked.csv");
    let _ = std::fs::OpenOptions::new().read(true).write(true).open(fifo);
}

#[test]
fn two_schedule_daemons_on_two_hosts_never_run_one_fire_twice() {
    let url = fresh_database("daemons");
    let p = Project::new();
    p.write(
        "pipelines/tick.yaml",
        r#"name: tick
schedule: {cron: "* * * * * *"}
steps:
  - {id: load, kind: load, with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}}
"#,
    );
    let daemon = |name: &str| {
        Command::new(assert_cmd::cargo::cargo_bin("pmflow"))
            .current_dir(p.root())
            .env("CI", "1")
            .env("PMFLOW_REGISTRY", &url)
            .env("PMFLOW_HOST", name)
            .args(["schedule", "pipelines/tick.yaml"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (daemon("plant-a"), daemon("plant-b"));
    std::thread::sleep(Duration::from_millis(4500));
    for child in [a, b] {
        assert!(Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stdout).contains(PASSWORD));
    }
    let fires = rows(
        &url,
        "SELECT fire_at FROM runs WHERE trigger = 'schedule' ORDER BY fire_at",
    );
    assert!(fires.len() >= 2, "a per-second schedule fired: {fires:?}");
    let mut distinct = fires.clone();
    distinct.dedup();
    assert_eq!(distinct, fires, "one run per fire across both hosts");
    assert_eq!(
        rows(&url, "SELECT COUNT(*)::text FROM runs WHERE status <> 'succeeded'")[0],
        "0"
    );
}

#[test]
fn connection_trouble_is_named_with_the_host_and_what_to_check() {
    let p = Project::new();
    // Nobody listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("postgres://pmflow:{PASSWORD}@127.0.0.1:{port}/pmflow");
    let (code, _, err) = on(&p, &down, &["runs", "list"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.contains("connection refused"),
        "{err}"
    );
    assert!(err.contains("is the server running"), "{err}");

    let shared = pg_server::shared();
    let missing = shared.url("no_such_db");
    let (code, _, err) = on(&p, &missing, &["runs", "list"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("has no database `no_such_db`") && err.contains("createdb"),
        "{err}"
    );

    // A server that asks for passwords.
    let guarded = PostgresServer::start(Auth::Password("the-right-one"));
    let database = guarded.create_database("guarded");
    let plain = guarded.url(&database);
    let wrong = plain.replace("pmflow@", &format!("pmflow:{PASSWORD}@"));
    let (code, _, err) = on(&p, &wrong, &["runs", "list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refused the password of user `pmflow`"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
    let (code, _, err) = on(&p, &plain, &["runs", "list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("password") && err.contains("PGPASSWORD"), "{err}");
    // PGPASSWORD and ~/.pgpass (here through PGPASSFILE) are read.
    let out = p
        .pmflow(&["runs", "list"])
        .env("PMFLOW_REGISTRY", &plain)
        .env("PGPASSWORD", "the-right-one")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pgpass = p.write("pgpass", format!("127.0.0.1:{}:*:pmflow:the-right-one\n", guarded.port));
    std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = p
        .pmflow(&["runs", "list"])
        .env("PMFLOW_REGISTRY", &plain)
        .env("PGPASSFILE", &pgpass)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_registry_that_goes_away_mid_run_stops_it_and_keeps_what_it_confirmed() {
    let mut server = PostgresServer::start(Auth::Trust);
    let url = server.url(&server.create_database("outage"));
    let p = Project::new();
    blocked_pipeline(&p);
    let child = start_blocked(&p, &url, None, &[("PMFLOW_REGISTRY_WAIT_SECS", "3")]);
    let confirmed = json(&p, &url, &["metrics", "latest", "--format", "json"]);
    assert!(!confirmed.as_array().unwrap().is_empty(), "`first` logged metrics");
    server.stop();
    // The next heartbeat (every 15 s) finds the registry gone, waits 3 s for it, gives up.
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("stopped answering") && err.contains("127.0.0.1"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(40), "it gave up after its wait");
    server.restart();
    let run = json(&p, &url, &["runs", "show", "latest", "--format", "json"]);
    assert_eq!(run["status"], "interrupted", "{run}");
    assert_eq!(
        json(&p, &url, &["metrics", "latest", "--format", "json"]),
        confirmed,
        "nothing it had confirmed is lost"
    );
}
