//! Issue 27, item 2: a registry password reaches no output of any command, whatever it holds
//! (`' " @ : / ? # %` and spaces, percent-encoded or not) and wherever it is (`USER:PW@` or
//! `?password=`): shown URLs are rebuilt from the parsed URL, and every secret of a URL pmflow
//! parsed is masked in every message, a connection error's included.

use crate::pg_server;
use crate::support::{Project, SAMPLE};

/// Every password below starts with it: it must show up nowhere.
const MARK: &str = "Zq9";

/// Passwords as a user writes them after `USER:` (percent-encoded where a URL needs it, and a
/// few that are not, which no URL parser accepts).
const PASSWORDS: [&str; 15] = [
    "Zq9ab'cd",
    "Zq9ab\"cd",
    "Zq9ab@cd",
    "Zq9ab%40cd",
    "Zq9ab:cd",
    "Zq9ab%2Fcd",
    "Zq9ab%3Fcd",
    "Zq9ab%23cd",
    "Zq9ab%25cd",
    "Zq9ab%20cd",
    "Zq9a'b\"c%40d:e%2Ff%3Fg%23h%25i%20j",
    "Zq9ab/cd",
    "Zq9ab?cd",
    "Zq9ab#cd",
    "Zq9ab cd",
];

/// Registry URLs on `host_port`/`database` with each password, and with `?password=`.
fn urls(host_port: &str, database: &str) -> Vec<String> {
    let mut urls: Vec<String> = PASSWORDS
        .iter()
        .map(|pw| format!("postgres://pmflow:{pw}@{host_port}/{database}"))
        .collect();
    urls.push(format!("postgres://pmflow@{host_port}/{database}?password=Zq9qs'x"));
    urls.push(format!(
        "postgres://pmflow@{host_port}/{database}?sslmode=disable&password=Zq9qs%20y%27z"
    ));
    urls.push(format!(
        "postgresql://{host_port}/{database}?user=pmflow&PASSWORD=Zq9upper"
    ));
    urls
}

/// A PostgreSQL port on this machine that nothing listens on: every command fails to connect.
const CLOSED: &str = "127.0.0.1:9";

fn assert_hidden(args: &[&str], code: i32, out: &str, err: &str) {
    assert!(
        !out.contains(MARK) && !err.contains(MARK),
        "{args:?} (exit {code}) showed a password:\n{out}\n{err}"
    );
}

#[test]
fn no_command_shows_a_registry_password_when_it_cannot_connect() {
    let p = Project::new();
    p.write("pipelines/p.yaml", SAMPLE);
    p.write(
        "pipelines/scheduled/s.yaml",
        SAMPLE.replacen(
            "steps:",
            "schedule: {cron: \"0 0 3 * * Mon\", timezone: UTC}\nsteps:",
            1,
        ),
    );
    for url in urls(CLOSED, "pmflow") {
        // Every command with the URLs that hold every character at once; two with each of the
        // others (the suite stays fast).
        let every = url.contains("e%2Ff") || url.contains("password=") || url.contains("PASSWORD=");
        let mut commands: Vec<Vec<&str>> = vec![
            vec!["runs", "list"],
            vec!["runs", "show", "latest"],
            vec!["compare", "latest", "latest"],
            vec!["models", "list"],
            vec!["models", "history", "m"],
            vec!["models", "promote", "m", "1", "--alias", "production"],
            vec!["models", "rollback", "m", "--alias", "production"],
            vec!["metrics", "latest"],
            vec!["report", "latest", "--out", "r.html"],
            vec!["predict", "--model", "m", "--data", "data/sensors.csv"],
            vec!["gc"],
            vec!["run", "pipelines/p.yaml"],
            vec!["validate", "pipelines/p.yaml"],
            vec!["schedule", "pipelines/scheduled", "--list"],
        ];
        if !every {
            commands.retain(|args| matches!(args[0], "runs" | "run"));
        }
        for args in commands {
            let out = p.pmflow(&args).env("PMFLOW_REGISTRY", &url).output().unwrap();
            let (code, stdout, stderr) = (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            assert_hidden(&args, code, &stdout, &stderr);
            if !matches!(args[0], "validate" | "schedule") {
                assert_ne!(code, 0, "{args:?} with {url}: cannot succeed on a closed port");
            }
        }
        // As a flag, and as the target of a copy.
        for args in [
            vec!["run", "pipelines/p.yaml", "--registry", url.as_str()],
            vec!["registry", "copy", "sqlite://experiments/registry.db", url.as_str()],
        ] {
            let (code, out, err) = p.output(&args);
            assert_hidden(&args, code, &out, &err);
            assert_ne!(code, 0);
        }
    }
}

#[test]
fn a_run_on_postgres_shows_no_password_in_its_header_or_records() {
    let server = pg_server::shared();
    let database = server.create_database("secrets");
    let host_port = server
        .url(&database)
        .trim_start_matches("postgres://pmflow@")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let p = Project::new();
    p.write("pipelines/p.yaml", SAMPLE);
    // The suite's server trusts local logins: these passwords are sent and ignored. Only the
    // ones a URL parser accepts can connect.
    let parseable = urls(&host_port, &database)
        .into_iter()
        .filter(|u| url_parses(u))
        .collect::<Vec<_>>();
    assert!(parseable.len() >= 12, "{parseable:?}");
    for url in parseable {
        let args = ["run", "pipelines/p.yaml", "--registry", url.as_str()];
        let (code, out, err) = p.output(&args);
        assert_eq!(code, 0, "{url}: {err}");
        assert_hidden(&args, code, &out, &err);
        assert!(
            err.contains(&format!("127.0.0.1:{}", host_port.rsplit(':').next().unwrap())),
            "{err}"
        );
        for args in [vec!["runs", "show", "latest", "--format", "json"], vec!["runs", "list"]] {
            let out = p.pmflow(&args).env("PMFLOW_REGISTRY", &url).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{args:?}");
            assert_hidden(
                &args,
                0,
                &String::from_utf8_lossy(&out.stdout),
                &String::from_utf8_lossy(&out.stderr),
            );
        }
    }
}

/// Whether the URL parses as the driver parses it.
fn url_parses(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.port().is_some())
}
