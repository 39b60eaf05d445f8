//! The receiving thread first. Datagrams that arrive while it is not running wait in the
//! socket's buffer, a few milliseconds of them at a high rate, and beyond it are lost; what it
//! has received waits in queues that hold seconds of work. So the threads that work on what
//! it received (reports, storing, checkpoints) run at a lower scheduling priority: when
//! both want the CPU, the receiving thread gets it, and the others catch up when it sleeps.
//! They still get all the CPU the receiving thread leaves, so over time nothing is slower.

/// How much higher than the process's own nice value the working threads' is: the kernel
/// then weighs a working thread at about a third of the receiving thread.
pub const WORKER_NICE: i32 = 5;

/// Lowers the calling thread's priority by [`WORKER_NICE`] (on Linux a nice value belongs
/// to one thread). Best effort: lowering a priority is always allowed, and failing to only
/// leaves the thread as it was.
pub fn background() {
    let now = rustix::process::getpriority_process(None).unwrap_or(0);
    let _ = rustix::process::setpriority_process(None, (now + WORKER_NICE).min(19));
}

/// Starts a working thread named `name`, at the lower priority ([`background`]), its CPU
/// time charged to `role` as it works (`f` calls [`crate::cpu::tick`] after each piece of
/// work) and as it ends.
pub fn spawn_worker<T: Send + 'static>(
    name: &str,
    role: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            background();
            let _metered = crate::cpu::meter(role);
            f()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value of thread `tid` of this process, as the kernel reports it.
    fn nice_of(tid: i32) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        // Field 19, counted after the command name's closing parenthesis (field 2).
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn only_the_calling_thread_is_lowered() {
        let me = rustix::thread::gettid().as_raw_nonzero().get();
        let before = nice_of(me);
        let worker = std::thread::spawn(move || {
            background();
            let tid = rustix::thread::gettid().as_raw_nonzero().get();
            (nice_of(tid), nice_of(me))
        });
        let (worker_nice, mine_then) = worker.join().unwrap();
        assert_eq!(worker_nice, (before + WORKER_NICE).min(19));
        assert_eq!(mine_then, before);
        assert_eq!(nice_of(me), before);
    }
}
