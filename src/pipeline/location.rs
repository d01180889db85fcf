//! Where a pipeline's registry and artifacts live: the `storage:` URLs, parsed and checked
//! without opening anything (the registry and artifact stores open them at run time), and
//! [`redact`], the one way any URL is shown to people.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// A `storage:` URL that pmflow cannot use, with what to write instead. A URL in a message is
/// always redacted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocationError {
    /// A user or password in the URL: it would reach the run header, errors, the registry and
    /// `pipeline.json`.
    #[error("`{redacted}` has credentials in it; pmflow refuses them, since URLs are printed and stored with every run. {advice}")]
    Credentials { redacted: String, advice: &'static str },
    /// `sqlite://HOST/...` or `sqlite://USER@...`: a SQLite registry is a file, with no host.
    #[error("`{redacted}` names a host or a user; sqlite URLs are `sqlite://relative/path.db` (against the project root) or `sqlite:///absolute/path.db`, and need no credentials")]
    SqliteHost { redacted: String },
    /// Anything else: an unknown scheme, a missing path or bucket.
    #[error("{0}")]
    Unusable(String),
}

/// Secrets pmflow was given in URLs this process parsed (a PostgreSQL password, in the URL's
/// spelling and decoded, and password-like query parameters). [`redact`] masks them wherever
/// they appear, so a message that quotes a password outside a URL's shape (a driver's error, a
/// URL cut at a quote) still shows none.
static SECRETS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Query parameters that carry a secret (`postgres://h/db?password=...`).
const SECRET_PARAMETERS: [&str; 5] = ["password", "passwd", "pwd", "sslpassword", "secret"];

/// Remembers `secret` (and its percent-decoded form) for [`redact`]. Very short values are not
/// masked as free text (every `a` of a message would go); inside a URL they still are.
fn remember_secret(secret: &str) {
    let decoded = percent_encoding::percent_decode_str(secret)
        .decode_utf8_lossy()
        .into_owned();
    let mut known = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for s in [secret.to_string(), decoded] {
        if s.chars().count() >= 3 && !known.contains(&s) {
            known.push(s);
        }
    }
    // Longest first: a secret that contains another is masked whole.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Remembers the password of the URL `text` and its password-like query parameters, read the
/// way a driver reads them (the user information runs to the URL's last `@`), before anything
/// can fail on it: a URL that does not parse is quoted in the error that says so.
fn remember_secrets_of(text: &str) {
    let Some((_, rest)) = text.split_once("://") else {
        return;
    };
    // `postgres://u:p/w@host/db`: the last `@` before the query ends the user information,
    // even where a `/` came first (a URL that will not parse, and is quoted in the error).
    let before_query = rest.split(['?', '#']).next().unwrap_or(rest);
    if let Some((userinfo, _)) = before_query.rsplit_once('@') {
        if let Some((_, password)) = userinfo.split_once(':') {
            remember_secret(password);
        }
    }
    if let Some((_, query)) = rest.split_once('?') {
        for pair in query.split('&') {
            if let Some((key, value)) = pair.split_once('=') {
                if SECRET_PARAMETERS.contains(&key.to_ascii_lowercase().as_str()) {
                    remember_secret(value.split('#').next().unwrap_or(value));
                }
            }
        }
    }
}

/// `text` with the password of every URL in it replaced by `***` (`s3://admin:***@bucket/x`),
/// a user given without a password (which may be a token) replaced whole (`***@host`), but for
/// PostgreSQL URLs, whose user is a login name that errors must show, password-like query
/// parameters masked (`?password=***`), and every secret of a URL pmflow parsed masked wherever
/// it appears.
///
/// Everything that shows a URL, or an error that may hold one, goes through this, whatever the
/// scheme: a URL that is refused still has to be shown in the refusal.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut shown = redact_userinfo(text);
    if let Cow::Owned(masked) = redact_parameters(&shown) {
        shown = Cow::Owned(masked);
    }
    let known = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    for secret in known.iter() {
        if shown.contains(secret.as_str()) {
            shown = Cow::Owned(shown.replace(secret.as_str(), "***"));
        }
    }
    shown
}

/// `?password=VALUE` (and the other [`SECRET_PARAMETERS`]) with VALUE masked, up to the `&`,
/// `#`, white space or backtick that ends it (a quote may be part of a password: a closing
/// quote after it is masked too).
fn redact_parameters(text: &str) -> Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for name in SECRET_PARAMETERS {
        let needle = format!("{name}=");
        let mut from = 0;
        while let Some(found) = lower[from..].find(&needle) {
            let start = from + found;
            from = start + needle.len();
            if start == 0 || !matches!(text.as_bytes()[start - 1], b'?' | b'&' | b';') {
                continue;
            }
            let value_end = text[from..]
                .find(|c: char| c == '&' || c == '#' || c.is_whitespace() || matches!(c, '`' | '<' | '>'))
                .map_or(text.len(), |i| from + i);
            if value_end > from {
                cuts.push((from, value_end));
            }
        }
    }
    if cuts.is_empty() {
        return Cow::Borrowed(text);
    }
    cuts.sort();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in cuts {
        if start < copied {
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str("***");
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The user information of every URL in `text` redacted (see [`redact`]).
fn redact_userinfo(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let start = from + found + "://".len();
        from = start;
        let Some(info) = userinfo(&text[start..]) else {
            continue;
        };
        if !info.has_password && login_scheme(&text[..start - "://".len()]) {
            continue;
        }
        out.push_str(&text[copied..start]);
        if info.has_password {
            out.push_str(&text[start..start + info.user_end]);
            out.push_str(":***@");
        } else {
            out.push_str("***@");
        }
        copied = start + info.at + 1;
        from = copied;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Whether the URL scheme that ends `before` names a user, not a token, in `USER@HOST`.
fn login_scheme(before: &str) -> bool {
    let scheme_start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
        .map_or(0, |i| i + 1);
    matches!(
        before[scheme_start..].to_ascii_lowercase().as_str(),
        "postgres" | "postgresql"
    )
}

/// Whether `url` carries a user or password (`scheme://USER[:PASSWORD]@...`).
pub fn has_credentials(url: &str) -> bool {
    url.find("://").is_some_and(|i| userinfo(&url[i + 3..]).is_some())
}

/// Refuses a URL that carries credentials, with advice for its scheme; the error shows the URL
/// redacted.
pub fn refuse_credentials(url: &str) -> Result<(), LocationError> {
    if !has_credentials(url) {
        return Ok(());
    }
    let scheme = url
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    let advice = match scheme.as_str() {
        "s3" | "s3a" => {
            "Remove them from the URL and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment instead"
        }
        "file" => "A `file://` folder needs no credentials; write `file://DIR` or `file:///abs/dir`",
        _ => "Remove them from the URL and give them through the environment (for S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    };
    Err(LocationError::Credentials {
        redacted: redact(url).into_owned(),
        advice,
    })
}

/// Where the user information of a URL ends, given the text after `://`.
struct UserInfo {
    /// The end of the user name.
    user_end: usize,
    /// `USER:PASSWORD@` rather than `USER@`.
    has_password: bool,
    /// The `@` that closes the user information.
    at: usize,
}

/// The `USER[:PASSWORD]@` at the start of `rest` (the text after `://`), if any.
///
/// Secrets may hold `/` (AWS secret keys often do) and `@`, so the user information runs to
/// the last `@` of the URL, not to the first `/`: a URL with `@` in its path may be redacted
/// more than needed, but a password is never shown. `host:port` is not a password.
fn userinfo(rest: &str) -> Option<UserInfo> {
    // A URL in a message ends at white space or a quote.
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | '<' | '>'))
        .unwrap_or(rest.len());
    let url = &rest[..end];
    let user_end = url.find([':', '@', '/', '?', '#']).unwrap_or(url.len());
    match url.as_bytes().get(user_end) {
        Some(b'@') => Some(UserInfo {
            user_end,
            has_password: false,
            at: url.rfind('@')?,
        }),
        Some(b':') => {
            let after = &url[user_end + 1..];
            let port_end = after.find(['/', '?', '#']).unwrap_or(after.len());
            let port = &after[..port_end];
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // A password may hold a quote (`u:ab'cd@host`), which ends the URL above: the
            // user information then runs to the last `@` before white space.
            let at = url.rfind('@').or_else(|| {
                let word = rest.find(char::is_whitespace).unwrap_or(rest.len());
                rest[..word].rfind('@')
            })?;
            Some(UserInfo {
                user_end,
                has_password: true,
                at,
            })
        }
        _ => None,
    }
}

/// Whether the first segment of a `sqlite://` URL is a host (`localhost`, `db:5432`) rather
/// than a folder of the project.
fn names_a_host(rest: &str) -> bool {
    let first = rest.split('/').next().unwrap_or("");
    let port = first
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    first.eq_ignore_ascii_case("localhost") || port
}

/// Where the registry lives, parsed from `storage.registry` or `--registry`.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryLocation {
    /// `sqlite://PATH` (relative to the project root) or `sqlite:///abs/path.db`.
    Sqlite(PathBuf),
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...]`, shared by many hosts.
    Postgres(PostgresUrl),
}

/// A PostgreSQL URL as given, password included (the driver needs it), which only
/// [`PostgresUrl::connect_url`] hands out: `Debug` and [`PostgresUrl::shown`] are redacted, so a
/// password in `--registry` or `PMFLOW_REGISTRY` reaches no log, error or registry row.
#[derive(Clone, PartialEq)]
pub struct PostgresUrl {
    url: String,
    /// `host:port` (or the socket folder) for messages about connection trouble.
    pub host: String,
    pub user: Option<String>,
    pub database: Option<String>,
    pub has_password: bool,
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresUrl({})", self.shown())
    }
}

impl PostgresUrl {
    /// The URL with its password, for the database driver only.
    pub fn connect_url(&self) -> &str {
        &self.url
    }

    /// The URL as people see it, rebuilt from its parsed parts: the password and any
    /// password-like query parameter replaced by `***`, whatever characters they hold.
    pub fn shown(&self) -> String {
        let Ok(mut url) = url::Url::parse(&self.url) else {
            return redact(&self.url).into_owned();
        };
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let secret = SECRET_PARAMETERS.contains(&k.to_ascii_lowercase().as_str());
                    (k.into_owned(), if secret { "***".to_string() } else { v.into_owned() })
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        // `set_password` and the query writer encode `*`; people read `***`.
        url.to_string().replace("%2A%2A%2A", "***")
    }

    fn parse(text: &str) -> Result<PostgresUrl, LocationError> {
        remember_secrets_of(text);
        let url = url::Url::parse(text).map_err(|e| {
            LocationError::Unusable(format!(
                "`{}` is not a PostgreSQL URL ({e}); write `postgres://USER@HOST:5432/DATABASE`",
                redact(text)
            ))
        })?;
        let decoded = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) if !h.is_empty() => format!("{h}:{p}"),
            (Some(h), None) if !h.is_empty() => format!("{h}:5432"),
            // No host: the driver uses PGHOST or the local socket, as psql does.
            _ => std::env::var("PGHOST").unwrap_or_else(|_| "the local socket (PGHOST unset)".into()),
        };
        let user = (!url.username().is_empty()).then(|| decoded(url.username()));
        let database = Some(url.path().trim_start_matches('/'))
            .filter(|d| !d.is_empty())
            .map(decoded);
        Ok(PostgresUrl {
            url: text.to_string(),
            host,
            user,
            database,
            has_password: url.password().is_some(),
        })
    }
}

impl RegistryLocation {
    pub fn parse(text: &str, root: &Path) -> Result<Self, LocationError> {
        if let Some(rest) = text.strip_prefix("sqlite://") {
            let rest = rest.split('?').next().unwrap_or(rest);
            // `sqlite://admin:pw@localhost/r.db` would otherwise become a folder named
            // `admin:pw@localhost` in the project, password and all.
            if has_credentials(text) || names_a_host(rest) {
                return Err(LocationError::SqliteHost {
                    redacted: redact(text).into_owned(),
                });
            }
            if rest.is_empty() {
                return Err(LocationError::Unusable(
                    "`sqlite://` needs a file path, e.g. `sqlite://experiments/registry.db`".into(),
                ));
            }
            return Ok(RegistryLocation::Sqlite(root.join(rest)));
        }
        let scheme = text.split_once("://").map(|(s, _)| s).unwrap_or("");
        Err(LocationError::Unusable(match scheme {
            "postgres" | "postgresql" => return PostgresUrl::parse(text).map(RegistryLocation::Postgres),
            "" => format!(
                "`{}` is not a URL; use `sqlite://PATH` or `postgres://USER@HOST:5432/DATABASE`",
                redact(text)
            ),
            other => format!(
                "unsupported registry `{other}://`; use `sqlite://PATH` or `postgres://USER@HOST:5432/DATABASE`"
            ),
        }))
    }

    /// The URL as shown to users (through [`redact`], so a future scheme that carries a
    /// password cannot show it).
    pub fn url(&self) -> String {
        let url = match self {
            RegistryLocation::Sqlite(p) => format!("sqlite://{}", p.display()),
            RegistryLocation::Postgres(pg) => pg.shown(),
        };
        redact(&url).into_owned()
    }
}

/// Where artifacts live, parsed from `storage.artifacts`.
#[derive(Debug, Clone, PartialEq)]
pub enum ArtifactLocation {
    /// `file://DIR` (relative to the project root) or `file:///abs/dir`.
    Local(PathBuf),
    /// `s3://bucket/prefix`, configured by the usual AWS_* environment variables.
    S3 { bucket: String, prefix: String },
}

impl ArtifactLocation {
    pub fn parse(text: &str, root: &Path) -> Result<Self, LocationError> {
        if let Some(rest) = text.strip_prefix("file://") {
            refuse_credentials(text)?;
            if rest.is_empty() {
                return Err(LocationError::Unusable(
                    "`file://` needs a directory, e.g. `file://artifacts`".into(),
                ));
            }
            return Ok(ArtifactLocation::Local(root.join(rest)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            refuse_credentials(text)?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(LocationError::Unusable(
                    "`s3://` needs a bucket, e.g. `s3://my-bucket/pmflow`".into(),
                ));
            }
            return Ok(ArtifactLocation::S3 {
                bucket: bucket.into(),
                prefix: prefix.trim_matches('/').into(),
            });
        }
        let scheme = text.split_once("://").map(|(s, _)| s).unwrap_or("");
        Err(LocationError::Unusable(if scheme.is_empty() {
            format!(
                "`{}` is not a URL; use `file://DIR` or `s3://BUCKET/PREFIX`",
                redact(text)
            )
        } else {
            format!("unsupported artifact store `{scheme}://`; use `file://DIR` or `s3://BUCKET/PREFIX`")
        }))
    }

    /// The URL as shown to users and stored in the registry. It never holds credentials
    /// (`parse` refuses them); it goes through [`redact`] all the same.
    pub fn url(&self) -> String {
        let url = match self {
            ArtifactLocation::Local(dir) => format!("file://{}", dir.display()),
            ArtifactLocation::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            ArtifactLocation::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        };
        redact(&url).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords_and_bare_users_and_keeps_the_rest() {
        assert_eq!(redact("s3://admin:SECRETPW@bucket/x"), "s3://admin:***@bucket/x");
        assert_eq!(
            redact("postgres://app:SECRETPW@db:5432/registry?sslmode=require"),
            "postgres://app:***@db:5432/registry?sslmode=require"
        );
        assert_eq!(redact("https://TOKEN@github.com/o/r"), "https://***@github.com/o/r");
        // A PostgreSQL user is a login name, shown; its password is not.
        assert_eq!(redact("postgres://app@db:5432/pmflow"), "postgres://app@db:5432/pmflow");
        assert_eq!(redact("see postgresql://app:pw@db/x"), "see postgresql://app:***@db/x");
        // AWS secret keys hold `/`: the password runs to the last `@`, not to the first `/`.
        assert_eq!(
            redact("s3://AKIA:wJalr/K7MDENG/bPxRfi@bucket/runs"),
            "s3://AKIA:***@bucket/runs"
        );
        assert_eq!(redact("s3://u:p@ss@bucket/k"), "s3://u:***@bucket/k");
        // Every URL of a message, up to the quote or space that ends it.
        assert_eq!(
            redact("cannot open `s3://a:SECRETPW@b/k`: see sqlite://u:SECRETPW@h/r.db now"),
            "cannot open `s3://a:***@b/k`: see sqlite://u:***@h/r.db now"
        );
    }

    #[test]
    fn redact_masks_passwords_with_quotes_and_password_parameters() {
        // A quote ends a URL in a message, but not its user information.
        assert_eq!(
            redact("cannot connect to `postgres://app:ab'cd@db:5432/x`: refused"),
            "cannot connect to `postgres://app:***@db:5432/x`: refused"
        );
        assert_eq!(redact("postgres://app:ab\"cd@db/x"), "postgres://app:***@db/x");
        assert_eq!(
            redact("postgres://app@db/x?sslmode=require&password=s'3cr3t&application_name=y"),
            "postgres://app@db/x?sslmode=require&password=***&application_name=y"
        );
        assert_eq!(
            redact("see `postgres://db/x?PassWord=abc`"),
            "see `postgres://db/x?PassWord=***`"
        );
        // Not a parameter: left alone.
        assert_eq!(redact("the password= setting"), "the password= setting");
    }

    #[test]
    fn secrets_of_a_parsed_postgres_url_are_masked_anywhere() {
        let root = Path::new("/p");
        let text = "postgres://app:Uq7xy%20z'w@db:5432/x?password=Uq7param";
        let RegistryLocation::Postgres(pg) = RegistryLocation::parse(text, root).unwrap() else {
            panic!("not postgres")
        };
        let shown = pg.shown();
        assert_eq!(shown, "postgres://app:***@db:5432/x?password=***");
        // A driver's message quoting the decoded password, outside any URL.
        let message = "password authentication failed (sent \"Uq7xy z'w\"); Uq7param rejected";
        let masked = redact(message);
        assert!(!masked.contains("Uq7"), "{masked}");
        // A URL that does not parse still gives up its password first.
        let e = RegistryLocation::parse("postgres://app:Uq7raw/slash@db/x", root)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("Uq7"), "{e}");
        assert!(!redact("the password was Uq7raw/slash").contains("Uq7"));
    }

    #[test]
    fn redact_leaves_urls_without_credentials_alone() {
        for text in [
            "s3://bucket/prefix",
            "sqlite://experiments/registry.db",
            "sqlite:///abs/registry.db",
            "http://127.0.0.1:8333",
            "http://[::1]:8333/bucket",
            "s3://bucket/folder/someone@example.com.csv",
            "s3://bucket/a:b@c.csv",
            "file:///tmp/x",
            "no url here: a@b",
        ] {
            assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
            assert!(!has_credentials(text), "{text}");
        }
    }

    #[test]
    fn credentials_in_storage_urls_are_refused_with_the_url_redacted() {
        let root = Path::new("/p");
        let e = ArtifactLocation::parse("s3://admin:SECRETPW@bucket/x", root).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("`s3://admin:***@bucket/x` has credentials"), "{text}");
        assert!(text.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "{text}");
        assert!(!text.contains("SECRETPW"), "{text}");
        let e = ArtifactLocation::parse("file://u:SECRETPW@host/dir", root).unwrap_err();
        assert!(!e.to_string().contains("SECRETPW"), "{e}");
        assert!(matches!(e, LocationError::Credentials { .. }));
    }

    #[test]
    fn sqlite_urls_are_paths_not_hosts() {
        let root = Path::new("/p");
        for bad in [
            "sqlite://admin:SECRETPW@localhost/r.db",
            "sqlite://admin@localhost/r.db",
            "sqlite://localhost/r.db",
            "sqlite://LOCALHOST",
            "sqlite://db.internal:5432/r.db",
        ] {
            let e = RegistryLocation::parse(bad, root).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, LocationError::SqliteHost { .. }), "{bad}: {text}");
            assert!(text.contains("`sqlite:///absolute/path.db`"), "{text}");
            assert!(!text.contains("SECRETPW"), "{text}");
        }
        let ok = |url: &str| RegistryLocation::parse(url, root).unwrap();
        assert_eq!(
            ok("sqlite://experiments/registry.db"),
            RegistryLocation::Sqlite("/p/experiments/registry.db".into())
        );
        assert_eq!(ok("sqlite:///abs/r.db"), RegistryLocation::Sqlite("/abs/r.db".into()));
        assert_eq!(ok("sqlite://r.db?mode=rwc"), RegistryLocation::Sqlite("/p/r.db".into()));
    }

    #[test]
    fn postgres_urls_keep_their_password_for_the_driver_only() {
        let root = Path::new("/p");
        let RegistryLocation::Postgres(pg) = RegistryLocation::parse(
            "postgres://app:S3CRET%2Fx@db.internal:6432/pmflow?sslmode=require",
            root,
        )
        .unwrap() else {
            panic!("not postgres")
        };
        assert_eq!(pg.host, "db.internal:6432");
        assert_eq!(
            (pg.user.as_deref(), pg.database.as_deref()),
            (Some("app"), Some("pmflow"))
        );
        assert!(pg.has_password);
        assert!(pg.connect_url().contains("S3CRET"));
        let shown = format!("{pg:?} {} {}", pg.shown(), RegistryLocation::Postgres(pg.clone()).url());
        assert!(!shown.contains("S3CRET"), "{shown}");
        assert!(shown.contains("postgres://app:***@db.internal:6432/pmflow"), "{shown}");
        let RegistryLocation::Postgres(plain) = RegistryLocation::parse("postgresql://db/pmflow", root).unwrap() else {
            panic!("not postgres")
        };
        assert_eq!((plain.host.as_str(), plain.user.as_deref()), ("db:5432", None));
        let e = RegistryLocation::parse("postgres://app:pw@[bad/x", root)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a PostgreSQL URL") && !e.contains(":pw@"), "{e}");
    }
}
