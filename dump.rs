// SPDX-License-Identifier: GPL-2.0

//! The dump: read the newest log, pack it with the machine's facts, send it through every
//! target — in whatever context the kernel crashes in.
//!
//! How the crash path holds (see also README "The crash path"):
//!
//! - **One dumper at a time, machine-wide, that can be taken over** ([`DumpLock`]): a dump
//!   owns the machine's dump state through an owner word, not a lock; a panicking CPU (whose
//!   `panic()` has stopped the other CPUs) or a dump nested on the owner's own CPU takes over.
//!   A dump on another CPU waits, within its budget, for the owner to finish.
//! - **Nothing a stopped CPU can hold**: the log buffer and what a dump builds live in the
//!   owner's scratch slot ([`Scratch`]); settings, the target list and each target's transmit
//!   state are read through RCU; pools are lock-free; the oops registers are per CPU.
//! - **A time budget per dump** (`dump_budget_ms`), on a clock that runs with interrupts off;
//!   each target gets a fair share of what is left, a dead device is skipped at once, and
//!   every loop touches the watchdogs.
//! - **Newest log first**: each target sends the fact packets, then the log packets from the
//!   newest, copy after copy.
//! - **Every context**: no allocation, no sleeping; the pool refill is queued through an
//!   irq_work from NMI.

use crate::facts::{self, HOSTNAME_LEN};
use crate::kmsg_dumper::LogReader;
use crate::netpoll_targets::{Outcome, Send, SendReport, Target};
use crate::owner::{Budget, Claim, Deadline, Scratch, StillOwner};
use crate::settings::Settings;
use crate::{bindings, wire, Shared};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::alloc::VVec;
use kernel::prelude::*;
use kernel::str::BStr;
use kernel::sync::{rcu, Arc};

/// How long a panic or emergency dump keeps polling the devices after its last packet (within
/// its budget), so that they put what they were given on the wire before the machine resets.
const SETTLE_US: u64 = 200_000;

/// What one dump builds, in memory set aside at load time (the owner's scratch slot), so that
/// the stack holds little more than references while packets go out: a hard-lockup panic runs
/// on the small NMI stack.
pub(crate) struct DumpScratch {
    /// The newest log.
    log: VVec<u8>,
    /// A copy of the hostname.
    hostname: [u8; HOSTNAME_LEN],
    /// The registers the dump carries.
    regs: Option<wire::Regs<'static>>,
    /// Room for the dump itself and its packet plan, see [`Rooms`].
    rooms: KBox<Rooms>,
}

/// Memory for a [`wire::Dump`] and its [`wire::Packetizer`] while one dump runs.
///
/// Both borrow what they describe (the log and hostname in the same scratch slot, the
/// settings under the RCU read lock), so they cannot be stored with their real lifetime in
/// long-lived memory; the rooms are only ever written and read through
/// [`Rooms::place_dump_in`] and [`place_plan`], which hand them out with the lifetime of the
/// borrow they were given, and are never read otherwise.
pub(crate) struct Rooms {
    dump: MaybeUninit<wire::Dump<'static>>,
    plan: MaybeUninit<wire::Packetizer<'static>>,
}

impl Rooms {
    /// Builds a dump in its room (an empty one, that `fill` completes in place: no copy of it
    /// on the stack) and returns it, borrowed for `'s`.
    fn place_dump_in<'s>(
        room: &'s mut MaybeUninit<wire::Dump<'static>>,
        fill: impl FnOnce(&mut wire::Dump<'s>),
    ) -> &'s wire::Dump<'s> {
        // SAFETY: `Dump<'static>` and `Dump<'s>` differ only in a lifetime, so they have the same
        // layout; the room is written here and read only through the `'s` reference returned,
        // so no reference in it is used after `'s` ends (what is left there afterwards is
        // never read: the next dump overwrites it).
        let room = unsafe { &mut *room.as_mut_ptr().cast::<MaybeUninit<wire::Dump<'s>>>() };
        let dump: &'s mut wire::Dump<'s> = room.write(wire::Dump {
            boot_id: [0; 16],
            seq: 0,
            reason: wire::Reason::Soft,
            facts: wire::DumpFacts::empty(),
            log: &[],
            log_truncated: false,
        });
        fill(dump);
        dump
    }
}

/// Plans `dump` for packets of `max_packet` bytes, in `room`. Out of line, beside the
/// collection of the dump rather than below it on the stack.
#[inline(never)]
fn place_plan<'s>(
    room: &'s mut MaybeUninit<wire::Packetizer<'static>>,
    dump: &'s wire::Dump<'s>,
    max_packet: usize,
) -> Option<&'s wire::Packetizer<'s>> {
    // SAFETY: as in `Rooms::place_dump_in`, for the plan, which borrows a dump placed there.
    let room = unsafe {
        &mut *room
            .as_mut_ptr()
            .cast::<MaybeUninit<wire::Packetizer<'s>>>()
    };
    match wire::Packetizer::place(room, dump, None, max_packet) {
        Ok(plan) => Some(plan),
        Err(e) => {
            pr_err!("dump {}: cannot be encoded: {}\n", dump.seq, e);
            None
        }
    }
}

impl DumpScratch {
    fn new(log_bytes: usize) -> Result<Self> {
        Ok(DumpScratch {
            log: VVec::from_elem(0u8, log_bytes, GFP_KERNEL)?,
            hostname: [0; HOSTNAME_LEN],
            regs: None,
            rooms: KBox::new(
                Rooms {
                    dump: MaybeUninit::uninit(),
                    plan: MaybeUninit::uninit(),
                },
                GFP_KERNEL,
            )?,
        })
    }
}

/// The dump path.
pub(crate) struct Dumper {
    scratch: Scratch<DumpScratch>,
    /// The sequence number of the next dump of this boot.
    seq: AtomicU32,
    /// A panic dump was sent: an emergency restart after it sends no second one.
    panicked: AtomicBool,
    /// The faulting registers of oopses, per CPU.
    #[cfg(CONFIG_X86_64)]
    faults: crate::fault_regs::FaultRegs,
    /// The CPU's identity, read at load time.
    cpu: Option<facts::Cpu>,
    /// Milliseconds a dump may take.
    budget_ms: u32,
    shared: Arc<Shared>,
}

/// A test-only fault: the next dump oopses inside the dump path (test kernel builds only).
#[cfg(netoops_test_hooks)]
pub(crate) static OOPS_IN_NEXT_DUMP: AtomicBool = AtomicBool::new(false);

impl Dumper {
    /// The dump path's memory, allocated now (process context).
    pub(crate) fn new(shared: Arc<Shared>, budget_ms: u32) -> Result<Self> {
        let log_bytes = shared.log_bytes;
        Ok(Dumper {
            scratch: Scratch::new(DumpScratch::new(log_bytes)?, DumpScratch::new(log_bytes)?),
            seq: AtomicU32::new(0),
            panicked: AtomicBool::new(false),
            #[cfg(CONFIG_X86_64)]
            faults: crate::fault_regs::FaultRegs::new()?,
            cpu: facts::Cpu::probe(),
            budget_ms,
            shared,
        })
    }

    /// The die notifier: an oops's faulting registers, for the dumps of this crash.
    #[cfg(CONFIG_X86_64)]
    pub(crate) fn record_fault(&self, regs: &bindings::pt_regs) {
        self.faults.record(crate::arch_x86::regs_from(regs));
    }

    /// The registers dump `seq` for `reason` carries, written into `out`: for an oops, the
    /// faulting registers the die notifier recorded for this task on this CPU; for a panic,
    /// the same if it directly follows that oops's dump (panic_on_oops), else this CPU's own;
    /// for a soft dump, this CPU's own. Never another CPU's, never an older crash's.
    #[cfg(CONFIG_X86_64)]
    #[inline(never)]
    fn regs(&self, reason: wire::Reason, seq: u32, out: &mut Option<wire::Regs<'static>>) {
        use wire::RegsSource as S;
        let slot = out.insert(wire::Regs {
            source: S::Fault,
            regs: wire::ArchRegs::X86_64(wire::RegsX86_64::default()),
        });
        let wire::ArchRegs::X86_64(r) = &mut slot.regs else {
            return;
        };
        slot.source = match reason {
            wire::Reason::Oops if self.faults.for_oops(seq, r) => S::Fault,
            wire::Reason::Panic if self.faults.for_panic(seq, r) => S::Fault,
            wire::Reason::Panic => {
                crate::arch_x86::current_regs(r);
                S::PanicCpu
            }
            wire::Reason::Soft => {
                crate::arch_x86::current_regs(r);
                S::SysrqCpu
            }
            _ => {
                *out = None;
                return;
            }
        };
    }

    #[cfg(not(CONFIG_X86_64))]
    fn regs(&self, _reason: wire::Reason, _seq: u32, out: &mut Option<wire::Regs<'static>>) {
        *out = None;
    }

    /// One dump. Runs in the crashing context: no allocation, no sleeping, every wait bounded
    /// by the budget.
    pub(crate) fn dump(&self, reason: wire::Reason, log: &mut LogReader<'_>) {
        let budget = Budget::new(u64::from(self.budget_ms) * 1000);
        let deadline = budget.all();
        // SAFETY: reads the kernel's panic CPU word.
        let panicking = reason == wire::Reason::Panic && unsafe { bindings::panic_on_this_cpu() };
        if reason == wire::Reason::Emerg && self.panicked.load(Ordering::Acquire) {
            // panic() with panic_timeout set ends in an emergency restart: its dump went.
            return;
        }
        let claim = if panicking { Claim::Panic } else { Claim::Wait };
        let Some(mut owner) = self.shared.dump_lock.acquire(claim, &deadline) else {
            warn_skipped(reason, self.budget_ms);
            return;
        };
        if panicking {
            self.panicked.store(true, Ordering::Release);
        }
        let took_over = owner.took_over();
        let still_owner = owner.check();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let scratch = self.scratch.get(&mut owner);
        let guard = rcu::read_lock();
        let settings = self.shared.settings.read(&guard);
        let targets = self.shared.registry().read(&guard);
        let plan_payload = self.shared.registry().plan_payload(&guard);
        let (dump, plan_room) = self.collect(scratch, settings, reason, seq, log);
        let Some(plan) = place_plan(plan_room, dump, plan_payload) else {
            return;
        };
        let how = Send {
            plan,
            copies: settings.copies,
            gap_us: settings.gap_us,
            panicking,
        };
        let (frames, reached) = send_all(&still_owner, &how, targets, &guard, &deadline, seq);
        report(
            plan.dump(),
            frames,
            reached,
            &budget,
            self.budget_ms,
            took_over,
        );
        if matches!(reason, wire::Reason::Panic | wire::Reason::Emerg) {
            // The machine stops or resets next: let the devices send what they were given.
            let settle = deadline.within_us(SETTLE_US);
            targets.iter().for_each(|t| t.settle(&settle));
        } else {
            // The machine carries on: top the pools up for the next dump (from NMI through
            // an irq_work).
            self.shared.schedule_upkeep();
        }
    }

    /// Reads the newest log and the facts into `scratch` and builds the dump they make there;
    /// returns it and the room for its plan. Out of line: its temporaries are not on the stack
    /// while the packets go out.
    #[inline(never)]
    fn collect<'s>(
        &'s self,
        scratch: &'s mut DumpScratch,
        settings: &'s Settings,
        reason: wire::Reason,
        seq: u32,
        log_reader: &mut LogReader<'_>,
    ) -> (
        &'s wire::Dump<'s>,
        &'s mut MaybeUninit<wire::Packetizer<'static>>,
    ) {
        let DumpScratch {
            log: buf,
            hostname,
            regs,
            rooms,
        } = scratch;
        let len = log_reader.read_newest(&mut buf[..]);
        self.regs(reason, seq, regs);
        let regs: &'s Option<wire::Regs<'static>> = regs;
        let log: &'s [u8] = buf.get(..len).unwrap_or(&[]);
        let log_truncated = log_reader.has_older();
        let fill = move |d: &mut wire::Dump<'s>| {
            d.boot_id = settings.boot_id;
            d.seq = seq;
            d.reason = reason;
            d.log = log;
            d.log_truncated = log_truncated;
            // Moved out of the closure (a reborrow of the capture would end with the call).
            let hostname = hostname;
            facts::collect(
                &mut d.facts,
                self.cpu.as_ref(),
                settings.user_blob(),
                hostname,
            );
            d.facts.regs = regs.as_ref();
        };
        let Rooms { dump, plan } = &mut **rooms;
        let dump = Rooms::place_dump_in(dump, fill);
        (dump, plan)
    }
}

/// Sends the dump through every enabled target, each with a fair share of the time left.
/// Returns the frames sent and the targets that sent any.
#[inline(never)]
fn send_all(
    owner: &StillOwner<'_>,
    how: &Send<'_, '_>,
    targets: &[Arc<Target>],
    guard: &rcu::Guard,
    deadline: &Deadline<'_>,
    seq: u32,
) -> (u64, u32) {
    let mut enabled = targets
        .iter()
        .filter(|t| t.max_payload(guard).is_some())
        .count();
    let (mut frames, mut reached) = (0u64, 0u32);
    for t in targets.iter() {
        if t.max_payload(guard).is_none() {
            continue;
        }
        let share = deadline.share(enabled);
        enabled -= 1;
        let r = t.send_dump(owner, how, &share);
        frames += u64::from(r.sent);
        reached += u32::from(r.sent > 0);
        if r.outcome != Outcome::Complete {
            warn_incomplete(seq, t, &r);
        }
        #[cfg(netoops_test_hooks)]
        if OOPS_IN_NEXT_DUMP.swap(false, Ordering::AcqRel) {
            oops_on_purpose(seq);
        }
    }
    (frames, reached)
}

/// The test kernels' fault: an oops inside the dump path, with the dump owned and half sent.
#[cfg(netoops_test_hooks)]
#[inline(never)]
fn oops_on_purpose(seq: u32) -> ! {
    pr_info!("dump {}: test fault: oopsing inside the dump path\n", seq);
    // SAFETY: an invalid opcode on purpose: the kernel handles it as an oops.
    unsafe { core::arch::asm!("ud2", options(noreturn)) }
}

#[inline(never)]
fn warn_skipped(reason: wire::Reason, budget_ms: u32) {
    pr_warn!(
        "dump: reason={} skipped: another CPU's dump still runs after {} ms\n",
        reason_name(reason),
        budget_ms
    );
}

#[inline(never)]
fn warn_incomplete(seq: u32, t: &Target, r: &SendReport) {
    pr_warn!(
        "dump {}: target {}: {} of {} frames sent: {}\n",
        seq,
        t.name(),
        r.sent,
        r.planned,
        r.outcome.as_str()
    );
}

/// The dump's summary lines (the tests read them).
#[inline(never)]
fn report(
    dump: &wire::Dump<'_>,
    frames: u64,
    reached: u32,
    budget: &Budget,
    budget_ms: u32,
    took_over: bool,
) {
    pr_info!(
        "dump {}: reason={}, read {} bytes of log, sent {} packets to {} targets, newest line: {}\n",
        dump.seq,
        reason_name(dump.reason),
        dump.log.len(),
        frames,
        reached,
        BStr::from_bytes(newest_line(dump.log, 160))
    );
    pr_info!(
        "dump {}: {} us of its {} ms budget, {} us waiting for busy devices{}\n",
        dump.seq,
        budget.elapsed_us(),
        budget_ms,
        budget.busy_us(),
        if took_over {
            ", taken over from another dump"
        } else {
            ""
        }
    );
}

/// Sends a fixed dump (a golden vector) once through every enabled target, as the dump owner
/// (process context, for tests).
pub(crate) fn send_fixed(shared: &Shared, dump: &wire::Dump<'_>, max_packet: usize) {
    let budget = Budget::new(1_000_000);
    let deadline = budget.all();
    let Some(owner) = shared.dump_lock.acquire(Claim::Wait, &deadline) else {
        return;
    };
    let Ok(plan) = wire::Packetizer::new(dump, max_packet) else {
        return;
    };
    let how = Send {
        plan: &plan,
        copies: 1,
        gap_us: 0,
        panicking: false,
    };
    let guard = rcu::read_lock();
    for t in shared.registry().read(&guard) {
        t.send_dump(&owner.check(), &how, &deadline);
    }
}

/// The name of a reason, as the kernel log line shows it.
pub(crate) fn reason_name(r: wire::Reason) -> &'static str {
    match r {
        wire::Reason::Oops => "OOPS",
        wire::Reason::Panic => "PANIC",
        wire::Reason::Soft => "SOFT",
        wire::Reason::Emerg => "EMERG",
        _ => "UNKNOWN",
    }
}

/// The last line of `log` (without its newline), at most `max` bytes of its end.
fn newest_line(log: &[u8], max: usize) -> &[u8] {
    let log = log.strip_suffix(b"\n").unwrap_or(log);
    let start = log.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = log.get(start..).unwrap_or(&[]);
    line.get(line.len().saturating_sub(max)..).unwrap_or(line)
}
