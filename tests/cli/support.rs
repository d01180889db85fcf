//! A temporary pmflow project (pipelines/, data/) and helpers to run the binary in it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// An empty project with `pipelines/` and `data/sensors.csv` (the shipped sample).
    pub fn new() -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::copy(repo().join("data/sensors.csv"), dir.path().join("data/sensors.csv")).unwrap();
        Project { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `pmflow ARGS...` run in the project root, with plain progress lines.
    pub fn pmflow(&self, args: &[&str]) -> Command {
        pmflow_command(self.root(), args)
    }

    /// Runs `pmflow ARGS...` and returns (exit code, stdout, stderr).
    pub fn output(&self, args: &[&str]) -> (i32, String, String) {
        pmflow_in(self.root(), args)
    }

    /// data/big.csv: a generated fleet of `equipment` machines over 200 days, hourly (seed 1),
    /// for runs that take a while.
    pub fn write_fleet(&self, equipment: &str) {
        let (code, _, err) = self.output(&[
            "gen-data",
            "--equipment",
            equipment,
            "--days",
            "200",
            "--interval",
            "1h",
            "--seed",
            "1",
            "--out",
            "data/big.csv",
        ]);
        assert_eq!(code, 0, "{err}");
    }

    /// data/hotter.csv: the sample's readings with every temperature 3 degrees higher (about
    /// one standard deviation), for drift checks that must find drift.
    pub fn write_hotter(&self) {
        let text = std::fs::read_to_string(self.root().join("data/sensors.csv")).unwrap();
        let mut hotter = String::new();
        for (i, line) in text.lines().enumerate() {
            let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
            if i > 0 {
                if let Ok(t) = fields[2].parse::<f64>() {
                    fields[2] = format!("{:.3}", t + 3.0);
                }
            }
            hotter.push_str(&fields.join(","));
            hotter.push('\n');
        }
        self.write("data/hotter.csv", hotter);
    }

    /// `runs show RUN --format json`, parsed.
    pub fn show(&self, run: &str) -> serde_json::Value {
        let (code, out, err) = self.output(&["runs", "show", run, "--format", "json"]);
        assert_eq!(code, 0, "runs show failed: {err}");
        serde_json::from_str(&out).expect("runs show prints JSON")
    }
}

/// `pmflow ARGS...` run in `dir`, with plain progress lines and no registry from the
/// environment.
pub fn pmflow_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("pmflow").expect("pmflow binary");
    cmd.current_dir(dir)
        .env("CI", "1")
        .env_remove("PMFLOW_REGISTRY")
        .args(args);
    cmd
}

/// Runs `pmflow ARGS...` in `dir` and returns (exit code, stdout, stderr).
pub fn pmflow_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = pmflow_command(dir, args).output().expect("run pmflow");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The repository root (for shipped data files).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project venv's Python (pandas, pyarrow, scikit-learn: scripts/setup.sh installs them),
/// for tests whose steps are user programs.
pub fn venv_python() -> String {
    repo().join(".venv/bin/python").display().to_string()
}

/// The local file of a run's artifact `name` of `step` (`runs show --format json`'s record).
pub fn artifact_path(run: &serde_json::Value, step: &str, name: &str) -> PathBuf {
    let uri = run["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["step"] == step && a["name"] == name)
        .unwrap_or_else(|| panic!("no {step}/{name}: {}", run["artifacts"]))["uri"]
        .as_str()
        .unwrap()
        .to_string();
    uri.strip_prefix("file://").expect("a local artifact").into()
}

/// The sample pipeline used by most run tests: load -> clean on data/sensors.csv.
pub const SAMPLE: &str = r#"name: pump-failure
experiment: pumps
params:
  seed: 42
  method: interpolate
steps:
  - id: load
    kind: load
    with: {path: data/sensors.csv, timestamp: timestamp, entity: equipment_id, label: failure}
  - id: clean
    kind: clean
    needs: [load]
    with:
      impute: ${params.method}
      outliers: {method: iqr, factor: 3.0, action: clip}
"#;
