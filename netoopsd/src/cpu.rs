//! CPU time: of the calling thread, of this process, of its children, and by the role of
//! `listen`'s threads. Each long-lived thread of `listen` charges the time it spends to its
//! role (receive, report, store, checkpoint) as it works ([`meter`], [`tick`]), so that the
//! statistics say which stage the process's CPU went to: `netoopsd bench` prints it per
//! dump, and `/metrics` serves it.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use nix::sys::resource::{getrusage, UsageWho};

fn rusage(who: UsageWho) -> Duration {
    getrusage(who).map_or(Duration::ZERO, |u| {
        let t = |tv: nix::sys::time::TimeVal| {
            Duration::from_secs(tv.tv_sec() as u64) + Duration::from_micros(tv.tv_usec() as u64)
        };
        t(u.user_time()) + t(u.system_time())
    })
}

/// CPU time (user + system) the calling thread has spent.
pub fn thread() -> Duration {
    rusage(UsageWho::RUSAGE_THREAD)
}

/// CPU time (user + system) this process has spent.
pub fn process() -> Duration {
    rusage(UsageWho::RUSAGE_SELF)
}

/// CPU time (user + system) of the children this process has waited for.
pub fn children() -> Duration {
    rusage(UsageWho::RUSAGE_CHILDREN)
}

/// The roles of `listen`'s threads, in the pipeline's order: what `/metrics` and
/// `netoopsd bench` give the CPU time of.
pub const ROLES: [&str; 4] = ["receive", "report", "store", "checkpoint"];

/// CPU time charged to each role.
static LEDGER: Mutex<BTreeMap<&'static str, Duration>> = Mutex::new(BTreeMap::new());

fn add(role: &'static str, spent: Duration) {
    *LEDGER
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(role)
        .or_default() += spent;
}

thread_local! {
    /// The calling thread's role and the CPU time charged to it so far, while metered.
    static METER: Cell<Option<(&'static str, Duration)>> = const { Cell::new(None) };
}

/// Charges the calling thread's CPU time to `role` from now on: what it spends up to each
/// [`tick`] (called after each piece of work, so that the ledger, and `/metrics` with it,
/// lags by one piece at most), and what is left when the returned guard is dropped, which
/// ends the metering.
pub fn meter(role: &'static str) -> Metered {
    METER.set(Some((role, thread())));
    Metered(PhantomData)
}

/// Charges what the calling thread spent since it was last charged, if it is metered.
pub fn tick() {
    if let Some((role, charged)) = METER.get() {
        let now = thread();
        add(role, now.saturating_sub(charged));
        METER.set(Some((role, now)));
    }
}

/// A thread's metering ([`meter`]): dropping it charges what is left and ends it. Not
/// `Send`: it ends the metering of the thread that started it.
#[must_use = "dropping it ends the metering"]
pub struct Metered(PhantomData<*const ()>);

impl Drop for Metered {
    fn drop(&mut self) {
        tick();
        METER.set(None);
    }
}

/// CPU time charged so far, by role.
pub fn by_role() -> BTreeMap<&'static str, Duration> {
    LEDGER
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// What was charged to each role since [`by_role`] gave `before`, in seconds.
pub fn by_role_since(before: &BTreeMap<&'static str, Duration>) -> BTreeMap<&'static str, f64> {
    by_role()
        .into_iter()
        .map(|(role, t)| {
            let was = before.get(role).copied().unwrap_or_default();
            (role, t.saturating_sub(was).as_secs_f64())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spends `d` of the calling thread's CPU time (however long that takes on a busy
    /// machine).
    fn busy(d: Duration) {
        let t0 = thread();
        let mut x = 0u64;
        while thread() < t0 + d {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
    }

    #[test]
    fn a_thread_is_charged_as_it_goes() {
        let before = by_role();
        let (ticked, done) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let t = std::thread::spawn(move || {
            let metered = meter("test-meter");
            busy(Duration::from_millis(30));
            tick();
            ticked.0.send(()).unwrap();
            done.1.recv().unwrap();
            busy(Duration::from_millis(30));
            drop(metered);
            // No longer metered: not charged.
            busy(Duration::from_millis(30));
            tick();
        });
        ticked.1.recv().unwrap();
        // Charged at the tick, while the thread still runs.
        let at_tick = by_role_since(&before)["test-meter"];
        assert!((0.03..0.055).contains(&at_tick), "{at_tick}");
        done.0.send(()).unwrap();
        t.join().unwrap();
        // Then what it spent up to the end of its metering, and no more.
        let at_end = by_role_since(&before)["test-meter"];
        assert!(
            (0.03..0.055).contains(&(at_end - at_tick)),
            "{at_tick} then {at_end}"
        );
        assert!(thread() > Duration::ZERO && process() >= thread());
    }
}
