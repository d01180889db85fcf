//! Starting the user's program with a declared environment, following its messages while it
//! runs, and stopping it (with its whole process group) on a timeout or a cancel.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::messages::Follower;
use super::workdir::Workdir;
use super::{CommandParams, Program};
use crate::steps::context::{StepContext, StepError};
use crate::subprocess::{self, Ended, Watch};

/// Thread-count variables set to `threads` unless `env` sets them.
const THREAD_VARIABLES: [&str; 3] = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"];

/// How many lines of stderr an error shows.
const TAIL_LINES: usize = 20;

/// What a program that exited 0 left: its log (stdout, then stderr).
pub struct Ran {
    pub log: Vec<u8>,
}

/// Runs the program to its end; an error for a non-zero exit, a timeout or a stop.
pub fn run(p: &CommandParams, ctx: &StepContext, work: &Workdir) -> Result<Ran, StepError> {
    let stdout_path = work.dir.join("stdout.txt");
    let stderr_path = work.dir.join("stderr.txt");
    let open = |path: &std::path::Path| {
        std::fs::File::create(path).map_err(|e| StepError::new(format!("cannot make {}: {e}", path.display())))
    };
    let mut command = command(p, ctx)?;
    command
        .current_dir(&ctx.root)
        .env_clear()
        .envs(environment(p, work)?)
        .stdin(Stdio::null())
        .stdout(open(&stdout_path)?)
        .stderr(open(&stderr_path)?);
    let started = Instant::now();
    let mut follower = Follower::new(work.messages.clone());
    let mut watch = || {
        follower.read(ctx, false);
        if ctx.cancel.is_raised() {
            return Watch::Stop("the step was cancelled".into());
        }
        match p.timeout_secs {
            Some(limit) if started.elapsed().as_secs() >= limit => Watch::Stop(format!("timed out after {limit} s")),
            _ => Watch::GoOn,
        }
    };
    let ended = subprocess::run(command, &mut watch)
        .map_err(|e| StepError::new(format!("cannot start {}: {e}", shown(&p.program))));
    follower.read(ctx, true);
    let ended = ended?;
    let stdout = std::fs::read(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read(&stderr_path).unwrap_or_default();
    let tail = tail(&stderr);
    let failed = |what: String| {
        let tail = match tail.is_empty() {
            true => " (it printed nothing on stderr)".to_string(),
            false => format!("; the last lines of its stderr:\n{tail}"),
        };
        StepError::new(format!("{} {what}{tail}", shown(&p.program)))
    };
    match ended {
        Ended::Exited(status) if status.success() => Ok(Ran {
            log: log(&stdout, &stderr),
        }),
        Ended::Exited(status) => Err(failed(format!(
            "failed with {}; fix the program (its log says why) and run again",
            subprocess::describe(&status)
        ))),
        Ended::Stopped { reason, .. } => Err(failed(format!("was stopped: {reason} (with every process it started)"))),
    }
}

/// The program as a command: argv, or `sh -c LINE`. A program path with a `/` is relative to
/// the project root; a bare name is looked up on PATH.
fn command(p: &CommandParams, ctx: &StepContext) -> Result<Command, StepError> {
    Ok(match &p.program {
        Program::Shell(line) => {
            let mut command = Command::new("sh");
            command.arg("-c").arg(line);
            command
        }
        Program::Argv(argv) => {
            let mut command = Command::new(subprocess::program_path(&argv[0], &ctx.root));
            command.args(&argv[1..]);
            command
        }
    })
}

/// The program's whole environment: the passed variables, the thread counts, where its files
/// are, the declared `env`, and the `secrets` by name (an error names one that is not set).
fn environment(p: &CommandParams, work: &Workdir) -> Result<BTreeMap<String, String>, StepError> {
    // pmflow's own variables stay out (S3 keys, the registry URL): what a program needs
    // besides is declared under `env` or, by name, `secrets`.
    let mut env: BTreeMap<String, String> = subprocess::passed_environment().into_iter().collect();
    for name in THREAD_VARIABLES {
        env.insert(name.into(), p.threads.to_string());
    }
    env.extend(work.variables(p));
    env.extend(p.env.clone());
    for name in &p.secrets {
        let value = std::env::var(name).map_err(|_| {
            StepError::new(format!(
                "secret `{name}` is not set in pmflow's environment; export it before `pmflow run` (its value is passed to the program, never recorded)"
            ))
        })?;
        env.insert(name.clone(), value);
    }
    Ok(env)
}

/// How the program is named in messages.
pub fn shown(program: &Program) -> String {
    match program {
        Program::Argv(argv) => format!("`{}`", argv.join(" ")),
        Program::Shell(line) => format!("`sh -c {line:?}`"),
    }
}

/// The last lines of `text`, indented.
fn tail(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The step's `log.txt`: what the program printed on stdout, then on stderr.
fn log(stdout: &[u8], stderr: &[u8]) -> Vec<u8> {
    let mut log = b"--- stdout ---\n".to_vec();
    log.extend_from_slice(stdout);
    log.extend_from_slice(b"\n--- stderr ---\n");
    log.extend_from_slice(stderr);
    log
}
