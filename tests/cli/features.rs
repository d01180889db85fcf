//! The README's second command must reuse what the first one built: `cargo test` after
//! `cargo build` recompiles a dependency (and all above it, polars included) whenever a
//! dev-dependency turns on a feature of a crate the binary also uses. This compares the two
//! feature sets with `cargo tree` and names each crate that differs.

use std::collections::BTreeMap;
use std::process::Command;

use crate::support::repo;

/// `package version` -> its enabled features, for the given dependency edges.
fn features(edges: &str) -> BTreeMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo())
        .args([
            "tree",
            "--locked",
            "--offline",
            "--prefix",
            "none",
            "-f",
            "{p}|{f}",
            "-e",
            edges,
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -e {edges}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|line| {
            let (package, rest) = line.split_once('|')?;
            // `{p}` ends with ` (*)` for a repeated subtree and ` (/path)` for the root.
            let package = package.split(" (").next()?.trim().to_string();
            let features = rest.trim_end_matches(" (*)").trim().to_string();
            Some((package, features))
        })
        .collect()
}

#[test]
fn dev_dependencies_leave_the_features_of_shared_crates_alone() {
    let build = features("normal,build");
    let test = features("normal,build,dev");
    let differing: Vec<String> = build
        .iter()
        .filter_map(|(package, built)| {
            let tested = test.get(package)?;
            (tested != built).then(|| format!("{package}: build [{built}] test [{tested}]"))
        })
        .collect();
    assert!(
        differing.is_empty(),
        "`cargo test` would rebuild these crates with other features than `cargo build`; \
         add the test features to the crate's line in Cargo.toml (see regex-automata there):\n{}",
        differing.join("\n")
    );
}
