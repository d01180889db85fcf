//! What a person reads, pinned as insta snapshots: `runs show` and the plain progress lines of a
//! run, with run ids, times, durations, digests and the temporary project path redacted.

use crate::support::{Project, SAMPLE};

/// insta filters for everything that differs between two identical runs.
fn redactions(p: &Project) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for root in [std::fs::canonicalize(p.root()).unwrap(), p.root().to_path_buf()] {
        settings.add_filter(&regex_escape(&root.display().to_string()), "[ROOT]");
    }
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[SHA256]");
    settings.add_filter(r"\b[0-9a-f]{32}\b", "[RUN]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}[T ][0-9:.]+Z?", "[TIME]");
    settings.add_filter(r"\b\d+m\d{2}s\b|\b\d+(\.\d+)?(ms|s)\b", "[DURATION]");
    settings.add_filter(r"write_seconds = \S+", "write_seconds = [SECONDS]");
    settings.add_filter(r"pmflow \d+\.\d+\.\d+", "pmflow [VERSION]");
    settings.add_filter(r"host \S+ \(pid \d+\)", "host [HOST] (pid [PID])");
    // The report's size follows the durations and times it prints.
    settings.add_filter(r"\s+\d+ B  (\S+/report\.html)", " [BYTES]  $1");
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

#[test]
fn plain_progress_and_runs_show_read_as_before() {
    let p = Project::new();
    p.write("pipelines/train.yaml", SAMPLE);
    let (code, _, progress) = p.output(&["run", "pipelines/train.yaml", "--progress", "plain"]);
    assert_eq!(code, 0, "{progress}");
    let _redacted = redactions(&p).bind_to_scope();
    insta::assert_snapshot!("run_plain_progress", progress);
    let (code, shown, err) = p.output(&["runs", "show", "latest"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("runs_show", shown);
}
