//! systemd's readiness protocol (`Type=notify`): one datagram to the Unix socket named by
//! `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace), such as `READY=1`. Without
//! `$NOTIFY_SOCKET` (not started by systemd) nothing is sent. Errors are not fatal: systemd
//! then reports the unit as not started in time, which says enough.

use std::os::unix::net::UnixDatagram;

/// Sends `state` (newline-separated `KEY=VALUE` lines) to systemd, if it asked for it.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send(&path, state) {
        eprintln!(
            "netoopsd: cannot tell systemd {state:?} on NOTIFY_SOCKET {}: {e}",
            path.to_string_lossy()
        );
    }
}

fn send(path: &std::ffi::OsStr, state: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), path)?;
    }
    Ok(())
}

/// The process is ready: sockets bound, database open.
pub fn ready(status: &str) {
    notify(&format!("READY=1\nSTATUS={status}"));
}

/// A reload begins (followed by [`ready`] when it is done).
pub fn reloading() {
    notify("RELOADING=1");
}

/// Shutting down.
pub fn stopping() {
    notify("STOPPING=1");
}
