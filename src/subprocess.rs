//! Another program run as pmflow's child, in a process group of its own, so that a timeout,
//! Ctrl-C or SIGTERM stops it together with everything it started (a shell's children, a
//! Python program's worker processes), and nothing it left running outlives its step.

use std::io;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How long a stopped program has between SIGTERM and SIGKILL to clean up.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// Variables passed from pmflow's own environment to the programs it runs: what they need to
/// find tools and format text. Nothing else is (no S3 keys, no registry URL): what a program
/// needs besides is given to it explicitly.
const PASSED: [&str; 11] = [
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SHELL", "TERM",
];

/// The [`PASSED`] variables that are set, with their values.
pub fn passed_environment() -> Vec<(String, String)> {
    PASSED
        .iter()
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect()
}

/// Where `program` (a command's first word) is: a relative path with a `/` under `base`, else
/// as given (a bare name is looked up on PATH).
pub fn program_path(program: &str, base: &std::path::Path) -> std::path::PathBuf {
    let path = std::path::Path::new(program);
    match program.contains('/') && path.is_relative() {
        true => base.join(path),
        false => path.to_path_buf(),
    }
}

/// How often the watcher is asked whether to go on, and how often a finished child is noticed.
const TICK: Duration = Duration::from_millis(50);

/// What the watcher says on each tick while the program runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    GoOn,
    /// Stop the program (and its group), for this reason.
    Stop(String),
}

/// How the program ended.
#[derive(Debug)]
pub enum Ended {
    /// It exited by itself.
    Exited(ExitStatus),
    /// It was stopped on the watcher's word (the reason), then exited with this status.
    Stopped { reason: String, status: Option<ExitStatus> },
}

/// Starts `command` in a new process group and waits for it, calling `watch` every tick: when
/// it says stop, the whole group gets SIGTERM, then SIGKILL after [`KILL_GRACE`]. Whatever
/// of the group is still alive when the program ends is killed too.
pub fn run(mut command: Command, watch: &mut dyn FnMut() -> Watch) -> io::Result<Ended> {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec and only calls
    // async-signal-safe functions (prctl, getppid).
    unsafe {
        command.pre_exec(|| {
            // If pmflow itself is killed (SIGKILL gives it no chance to stop anything), the
            // program goes with it rather than run on unwatched.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = command.process_group(0).spawn()?;
    let group = child.id() as i32;
    let ended = loop {
        if let Some(status) = child.try_wait()? {
            break Ended::Exited(status);
        }
        if let Watch::Stop(reason) = watch() {
            let status = stop_group(&mut child, group)?;
            break Ended::Stopped { reason, status };
        }
        std::thread::sleep(TICK);
    };
    // A background process the program started and did not wait for would otherwise keep
    // running (and writing) after its step ended.
    signal_group(group, libc::SIGKILL);
    Ok(ended)
}

/// SIGTERM to the group, a grace period, then SIGKILL; the leader is reaped.
fn stop_group(child: &mut Child, group: i32) -> io::Result<Option<ExitStatus>> {
    signal_group(group, libc::SIGTERM);
    let deadline = Instant::now() + KILL_GRACE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        std::thread::sleep(TICK);
    }
    signal_group(group, libc::SIGKILL);
    child.wait().map(Some)
}

/// Sends `signal` to every process of `group`; a group already gone is not an error.
fn signal_group(group: i32, signal: i32) {
    // SAFETY: killpg has no memory effects; a stale group id gives ESRCH, which is ignored.
    unsafe {
        libc::killpg(group, signal);
    }
}

/// Whether process `pid` is running: it exists and is not a zombie waiting to be reaped (in a
/// container without an init, an orphan's zombie may stay). For tests that a stop left nothing
/// behind.
pub fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

/// A short description of how a program ended, for errors: `exit code 3`, `killed by signal 9`.
pub fn describe(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "an unknown status".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_program_takes_its_whole_group_with_it() {
        // The shell starts a sleeper in the background, says its pid, then waits: stopping
        // the shell must stop the sleeper too.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let mut command = Command::new("sh");
        command.args(["-c", &format!("sleep 30 & echo $! > {}; wait", pid_file.display())]);
        let started = Instant::now();
        let mut ticks = 0;
        let ended = run(command, &mut || {
            ticks += 1;
            match pid_file.exists() && ticks > 4 {
                true => Watch::Stop("test".into()),
                false => Watch::GoOn,
            }
        })
        .unwrap();
        assert!(
            matches!(ended, Ended::Stopped { ref reason, .. } if reason == "test"),
            "{ended:?}"
        );
        assert!(started.elapsed() < KILL_GRACE, "SIGTERM was enough");
        let sleeper: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !running(sleeper),
            "the background sleeper {sleeper} survived its group's stop"
        );
    }

    #[test]
    fn a_program_that_ends_is_reported_with_its_exit_code() {
        let mut command = Command::new("sh");
        command.args(["-c", "exit 3"]);
        match run(command, &mut || Watch::GoOn).unwrap() {
            Ended::Exited(status) => assert_eq!(describe(&status), "exit code 3"),
            other => panic!("{other:?}"),
        }
    }
}
