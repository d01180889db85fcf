//! Who takes an alias decision, as the alias history records it: `user@host`.

/// `user@host`, for the alias history.
pub fn who() -> String {
    format!("{}@{}", user_name(), super::liveness::this_host())
}

/// The user this process acts for: `$USER` (or `$LOGNAME`, `$USERNAME`) as a login shell sets
/// it, else the name the password database gives the effective uid, as `id -un` prints it: a
/// container's root or a systemd service often runs with no `$USER` at all.
fn user_name() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .map(|name| name.trim().to_string())
        .find(|name| !name.is_empty())
        .or_else(uid_name)
        .unwrap_or_else(|| "unknown".into())
}

/// The effective uid's name in the password database (`uid1234` when it has no entry).
#[cfg(unix)]
fn uid_name() -> Option<String> {
    let uid = unsafe { libc::geteuid() };
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `entry` and `buf` outlive the call, `buf.len()` is its true size, and the
        // strings `entry` points at live in `buf`, read before `buf` changes or is dropped.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr().cast(), buf.len(), &mut found) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return Some(format!("uid{uid}"));
        }
        let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

#[cfg(not(unix))]
fn uid_name() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    /// The uid's name, as `id -un` prints it: what the history shows when `$USER` is unset.
    #[test]
    fn the_uid_has_the_name_id_prints() {
        let id = std::process::Command::new("id").arg("-un").output().unwrap();
        let expected = String::from_utf8(id.stdout).unwrap();
        assert_eq!(super::uid_name().as_deref(), Some(expected.trim()));
    }
}
