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
use crate::outgoing::{self, Outgoing};
use crate::owner::{Budget, Claim, Deadline, Scratch, StillOwner};
use crate::seal_key::Sealer;
use crate::settings::Settings;
use crate::{bindings, wire, Shared};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::alloc::flags::__GFP_ZERO;
use kernel::alloc::{VBox, VVec};
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
    /// Version 2's compressed log and the compressor's memory.
    zs: KBox<ZScratch>,
    /// Version 2's datagrams and what builds them.
    os: KBox<OutScratch>,
    /// What reading the log found (kept here, not on the stack).
    read: ReadLog,
    /// What compression and parity cost.
    costs: Costs,
}

/// Version 2's compressed log.
struct ZScratch {
    /// The DEFLATE compressor's tables (about 245 KiB).
    deflate: VBox<crate::deflate::Workspace>,
    /// The compressed pieces of the log, newest first.
    z: VVec<u8>,
    /// Their table.
    pieces: [wire::Piece; wire::MAX_PIECES],
}

/// Version 2's datagrams, built once per dump.
struct OutScratch {
    /// The parity shards, one after the other (at most 64 of at most 1460 bytes).
    parity: VVec<u8>,
    /// The AEAD's working memory.
    seal: KBox<crate::seal::SealScratch>,
    /// The dump's datagrams, built once for every target (see [`crate::outgoing`]).
    datagrams: VVec<u8>,
    /// Their lengths.
    lens: VVec<u16>,
}

impl ZScratch {
    fn new(log_bytes: usize) -> Result<KBox<Self>> {
        let deflate = VBox::<crate::deflate::Workspace>::new_uninit(GFP_KERNEL | __GFP_ZERO)?;
        // SAFETY: the memory is zeroed (`__GFP_ZERO`), and all-zero bytes are a valid
        // `Workspace` (its documented invariant: integer tables only).
        let deflate = unsafe { deflate.assume_init() };
        let pieces = wire::piece_count(log_bytes).max(1);
        let z = crate::deflate::max_compressed_len(wire::PIECE_LEN) * pieces;
        Ok(KBox::new(
            ZScratch {
                deflate,
                z: VVec::from_elem(0u8, z, GFP_KERNEL)?,
                pieces: [wire::Piece::default(); wire::MAX_PIECES],
            },
            GFP_KERNEL,
        )?)
    }
}

impl OutScratch {
    fn new(log_bytes: usize) -> Result<KBox<Self>> {
        Ok(KBox::new(
            OutScratch {
                parity: VVec::from_elem(
                    0u8,
                    crate::fec::MAX_PARITY_SHARDS * wire::MAX_PACKET_SIZE,
                    GFP_KERNEL,
                )?,
                seal: KBox::new(crate::seal::SealScratch::ZERO, GFP_KERNEL)?,
                datagrams: VVec::from_elem(0u8, datagram_bytes(log_bytes), GFP_KERNEL)?,
                lens: VVec::from_elem(0u16, datagram_count(log_bytes), GFP_KERNEL)?,
            },
            GFP_KERNEL,
        )?)
    }
}

/// The most version-2 datagrams a dump of `log_bytes` makes at packet size `size`: every fact
/// at its largest, an incompressible log, room for sealing, the most parity.
fn datagrams_at(log_bytes: usize, size: usize) -> usize {
    wire::Packetizer::max_packet_count_v2(
        log_bytes,
        size,
        true,
        crate::settings::MAX_FEC_PERCENT,
        crate::deflate::max_compressed_len,
    )
    .map_or(usize::from(u16::MAX), |n| n as usize)
}

/// Slots for a dump's datagrams: the most at the smallest packet size.
fn datagram_count(log_bytes: usize) -> usize {
    datagrams_at(log_bytes, wire::MIN_PACKET_SIZE)
}

/// Bytes for a dump's datagrams, one packet size apart: the larger of the two extremes (more
/// packets at the smallest size, larger parity packets at the largest).
fn datagram_bytes(log_bytes: usize) -> usize {
    let small = datagram_count(log_bytes) * wire::MIN_PACKET_SIZE;
    let large = datagrams_at(log_bytes, wire::MAX_PACKET_SIZE) * wire::MAX_PACKET_SIZE;
    small.max(large)
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
    out: MaybeUninit<Outgoing<'static>>,
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
    v2: Option<wire::V2<'s>>,
    max_packet: usize,
) -> Option<&'s wire::Packetizer<'s>> {
    // SAFETY: as in `Rooms::place_dump_in`, for the plan, which borrows a dump placed there.
    let room = unsafe {
        &mut *room
            .as_mut_ptr()
            .cast::<MaybeUninit<wire::Packetizer<'s>>>()
    };
    match wire::Packetizer::place(room, dump, v2, max_packet) {
        Ok(plan) => Some(plan),
        Err(e) => {
            pr_err!("dump {}: cannot be encoded: {}\n", dump.seq, e);
            None
        }
    }
}

/// Moves `out` into its room, borrowed for `'s`.
fn place_out<'s>(
    room: &'s mut MaybeUninit<Outgoing<'static>>,
    out: Outgoing<'s>,
) -> &'s Outgoing<'s> {
    // SAFETY: as in `Rooms::place_dump_in`: `Outgoing<'static>` and `Outgoing<'s>` differ only
    // in a lifetime; the room is read only through the `'s` reference returned.
    let room = unsafe { &mut *room.as_mut_ptr().cast::<MaybeUninit<Outgoing<'s>>>() };
    room.write(out)
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
                    out: MaybeUninit::uninit(),
                },
                GFP_KERNEL,
            )?,
            zs: ZScratch::new(log_bytes)?,
            os: OutScratch::new(log_bytes)?,
            read: ReadLog::EMPTY,
            costs: Costs {
                compress_us: 0,
                parity_us: 0,
            },
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
    /// The kernel's build id, read at load time.
    build_id: Option<crate::build_id::BuildId>,
    /// Milliseconds a dump may take.
    budget_ms: u32,
    shared: Arc<Shared>,
}

/// A test-only fault: the next dump oopses inside the dump path (test kernel builds only).
#[cfg(netoops_test_hooks)]
pub(crate) static OOPS_IN_NEXT_DUMP: AtomicBool = AtomicBool::new(false);

/// Test kernels: the next dump that is not a panic's hands its last frame to netpoll's own
/// queue instead of sending it (`test_fault=defer-in-dump`).
#[cfg(netoops_test_hooks)]
pub(crate) static DEFER_IN_NEXT_DUMP: AtomicBool = AtomicBool::new(false);

/// Test kernels: the next dump that is not a panic's hands its first frame to netpoll's own
/// queue instead of sending it (`test_fault=defer-first-in-dump`): its later frames find the
/// queue not empty.
#[cfg(netoops_test_hooks)]
pub(crate) static DEFER_FIRST_IN_NEXT_DUMP: AtomicBool = AtomicBool::new(false);

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
            build_id: kernel_build_id(),
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
        #[cfg(netoops_test_hooks)]
        nmi_stack_probe();
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
        let sealer = self.shared.seal_key.read(&guard);
        // Sealed dumps are version 2 whatever `wire_version` says.
        let v2 = sealer.is_some() || settings.wire_version >= wire::VERSION_2;
        // The heavy steps (compression, parity, sealing) run from here, the shallowest frame
        // that owns the scratch slot, each out of line: not below the send loop.
        read_log(scratch, log, v2, &budget);
        let plan_payload = self.shared.registry().plan_payload(&guard);
        let Some((out, costs)) = self.prepare(
            scratch,
            settings,
            reason,
            seq,
            sealer.as_ref(),
            plan_payload,
            &budget,
        ) else {
            return;
        };
        let targets = self.shared.registry().read(&guard);
        let how = Send {
            out,
            copies: settings.copies,
            gap_us: settings.gap_us,
            panicking,
        };
        let (frames, reached) = send_all(&still_owner, &how, targets, &guard, &deadline, seq);
        report(
            out,
            frames,
            reached,
            &budget,
            self.budget_ms,
            took_over,
            costs,
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

    /// Collects the dump in `scratch`, plans it and (version 2) builds its datagrams: what
    /// every target sends, and what compression and parity cost. Out of line, and each step
    /// out of line below it: their temporaries are not on the stack while the packets go out.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn prepare<'s>(
        &'s self,
        scratch: &'s mut DumpScratch,
        settings: &'s Settings,
        reason: wire::Reason,
        seq: u32,
        sealer: Option<&Sealer<'_>>,
        plan_payload: usize,
        budget: &Budget,
    ) -> Option<(&'s Outgoing<'s>, &'s Costs)> {
        let DumpScratch {
            log,
            hostname,
            regs,
            rooms,
            zs,
            os,
            read,
            costs,
        } = scratch;
        let Rooms { dump, plan, out } = &mut **rooms;
        let facts = Facts {
            settings,
            reason,
            seq,
        };
        let dump = self.collect(&facts, log, hostname, regs, dump, read);
        let zlog = compressed_log(zs, read);
        let plan = plan_dump(plan, dump, zlog, sealer.is_some(), settings, plan_payload)?;
        costs.compress_us = read.compress_us;
        costs.parity_us = 0;
        let outgoing = if plan.v2().is_none() {
            Outgoing::planned(plan)
        } else {
            // Version 2: every datagram built, then sealed, now (each step out of line).
            let before = budget.elapsed_us();
            let OutScratch {
                parity,
                seal,
                datagrams,
                lens,
            } = &mut **os;
            let count = usize::from(plan.packet_count()) + usize::from(plan.parity_count());
            let stride = plan.max_packet_size();
            let sealed = match sealer {
                None => outgoing::build(plan, parity, datagrams, lens),
                Some(s) => outgoing::build(plan, parity, datagrams, lens)
                    .and_then(|()| outgoing::seal_all(s, seal, datagrams, lens, count, stride)),
            };
            costs.parity_us = budget.elapsed_us().saturating_sub(before);
            if sealed.is_none() {
                warn_unbuilt(seq);
                return None;
            }
            Outgoing::built(plan, outgoing::Built::new(plan, datagrams, lens))
        };
        let costs: &'s Costs = costs;
        Some((place_out(out, outgoing), costs))
    }

    /// Fills the dump in its room: the facts, this dump's registers and the log read.
    #[inline(never)]
    fn collect<'s>(
        &'s self,
        f: &Facts<'s>,
        buf: &'s VVec<u8>,
        hostname: &'s mut [u8; HOSTNAME_LEN],
        regs: &'s mut Option<wire::Regs<'static>>,
        room: &'s mut MaybeUninit<wire::Dump<'static>>,
        read: &ReadLog,
    ) -> &'s wire::Dump<'s> {
        let (settings, reason, seq) = (f.settings, f.reason, f.seq);
        self.regs(reason, seq, regs);
        let regs: &'s Option<wire::Regs<'static>> = regs;
        let log: &'s [u8] = buf.get(..read.len).unwrap_or(&[]);
        let log_truncated = read.truncated;
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
                self.build_id
                    .as_ref()
                    .map(crate::build_id::BuildId::as_bytes),
                settings.user_blob(),
                hostname,
            );
            d.facts.regs = regs.as_ref();
        };
        Rooms::place_dump_in(room, fill)
    }
}

/// The running kernel's build id, said in the log once; none if it cannot be read (dumps then
/// carry none, and the collector shows frames unsymbolized).
fn kernel_build_id() -> Option<crate::build_id::BuildId> {
    match crate::build_id::BuildId::read() {
        Ok(id) => {
            pr_info!("kernel build id {id}\n");
            Some(id)
        }
        Err(e) => {
            pr_warn!(
                "kernel build id not found in /sys/kernel/notes (error {}): dumps carry none\n",
                e.to_errno()
            );
            None
        }
    }
}

/// What the dump's facts come from.
struct Facts<'s> {
    settings: &'s Settings,
    reason: wire::Reason,
    seq: u32,
}

/// The compressed log read into `zs`, if it was compressed (version 2).
fn compressed_log<'s>(zs: &'s ZScratch, read: &ReadLog) -> Option<wire::CompressedLog<'s>> {
    let (n, used) = read.compressed?;
    Some(wire::CompressedLog {
        pieces: zs.pieces.get(..n)?,
        z: zs.z.get(..used)?,
    })
}

/// Plans `dump` in its room: version 2 if its log was compressed.
#[inline(never)]
fn plan_dump<'s>(
    room: &'s mut MaybeUninit<wire::Packetizer<'static>>,
    dump: &'s wire::Dump<'s>,
    zlog: Option<wire::CompressedLog<'s>>,
    sealed: bool,
    settings: &Settings,
    plan_payload: usize,
) -> Option<&'s wire::Packetizer<'s>> {
    let v2 = zlog.map(|log| wire::V2 {
        log,
        sealed,
        parity_percent: settings.fec_percent,
    });
    place_plan(room, dump, v2, plan_payload)
}

/// The log as read into the scratch slot: its length, whether older log existed, and (version
/// 2) its compressed pieces' count and bytes.
struct ReadLog {
    len: usize,
    truncated: bool,
    compressed: Option<(usize, usize)>,
    compress_us: u64,
}

impl ReadLog {
    const EMPTY: ReadLog = ReadLog {
        len: 0,
        truncated: false,
        compressed: None,
        compress_us: 0,
    };
}

/// Reads the newest log into `scratch` and, for version 2, compresses it there. Out of line,
/// called from the dump's shallowest frame: compression is the deepest chain of the dump path.
#[inline(never)]
fn read_log(scratch: &mut DumpScratch, log_reader: &mut LogReader<'_>, v2: bool, budget: &Budget) {
    let len = log_reader.read_newest(&mut scratch.log[..]);
    let truncated = log_reader.has_older();
    let before = budget.elapsed_us();
    let compressed = if v2 {
        let ZScratch { deflate, z, pieces } = &mut *scratch.zs;
        let log = scratch.log.get_mut(..len).unwrap_or_default();
        compress(log, z, pieces, deflate)
    } else {
        None
    };
    scratch.read = ReadLog {
        len,
        truncated,
        compressed,
        compress_us: budget.elapsed_us().saturating_sub(before),
    };
}

/// Compresses `log` into pieces (version 2); `None` (the dump goes out as version 1) if it
/// cannot, which a log within the configured size never causes.
#[inline(never)]
fn compress(
    log: &mut [u8],
    z: &mut [u8],
    pieces: &mut [wire::Piece; wire::MAX_PIECES],
    ws: &mut crate::deflate::Workspace,
) -> Option<(usize, usize)> {
    let compress = |input: &[u8], out: &mut [u8]| crate::deflate::compress(input, out, ws).ok();
    match wire::compress_log(log, z, pieces, compress) {
        Ok(counts) => Some(counts),
        Err(e) => {
            warn_encode("cannot compress the log", e);
            None
        }
    }
}

/// What compression and parity cost one dump.
struct Costs {
    compress_us: u64,
    parity_us: u64,
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

/// Test kernels: in NMI context, how much of the NMI stack's page is in use at the dumper's
/// entry (the NMI stack is one 4 KiB page without KASAN).
#[cfg(netoops_test_hooks)]
#[inline(never)]
fn nmi_stack_probe() {
    // SAFETY: reads the preempt count.
    if unsafe { bindings::netoops_in_nmi() } {
        let sp: usize;
        // SAFETY: reads the stack pointer, nothing else.
        unsafe { core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack)) };
        pr_info!(
            "dump: NMI stack: {} bytes of its page in use at the dumper\n",
            4096 - (sp & 0xfff)
        );
    }
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
fn warn_encode(what: &str, e: wire::EncodeError) {
    pr_err!("dump: {}: {}\n", what, e);
}

#[inline(never)]
fn warn_unbuilt(seq: u32) {
    pr_err!(
        "dump {}: its datagrams do not fit the memory set aside\n",
        seq
    );
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
    out: &Outgoing<'_>,
    frames: u64,
    reached: u32,
    budget: &Budget,
    budget_ms: u32,
    took_over: bool,
    costs: &Costs,
) {
    let plan = out.plan();
    let dump = plan.dump();
    if let Some(v2) = plan.v2() {
        pr_info!(
            "dump {}: version 2: log {} bytes compressed to {} in {} us, {} data + {} parity packets ({} us){}\n",
            dump.seq,
            dump.log.len(),
            v2.log.z.len(),
            costs.compress_us,
            plan.packet_count(),
            plan.parity_count(),
            costs.parity_us,
            if v2.sealed { ", sealed" } else { "" }
        );
    }
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
    let Ok(plan) = wire::Packetizer::new(dump, max_packet) else {
        return;
    };
    send_fixed_out(shared, &Outgoing::planned(&plan));
}

/// Sends a fixed version-2 dump (a golden vector: compressed, with parity, sealed under the
/// published test key with the test salt and counters from 0) once through every enabled
/// target (process context, for tests). Allocates what it needs.
pub(crate) fn send_fixed_v2(shared: &Shared, v: &wire::golden::VectorV2) -> Result {
    let dump = &v.dump;
    let deflate = VBox::<crate::deflate::Workspace>::new_uninit(GFP_KERNEL | __GFP_ZERO)?;
    // SAFETY: zeroed memory is a valid `Workspace` (see `ZScratch::new`).
    let mut deflate = unsafe { deflate.assume_init() };
    let mut log = KVec::new();
    log.extend_from_slice(dump.log, GFP_KERNEL)?;
    let pieces_needed = wire::piece_count(log.len()).max(1);
    let mut z = VVec::from_elem(
        0u8,
        crate::deflate::max_compressed_len(wire::PIECE_LEN) * pieces_needed,
        GFP_KERNEL,
    )?;
    let mut pieces = [wire::Piece::default(); wire::MAX_PIECES];
    let (n, used) = compress(&mut log[..], &mut z, &mut pieces, &mut deflate).ok_or(EINVAL)?;
    let v2 = wire::V2 {
        log: wire::CompressedLog {
            pieces: pieces.get(..n).ok_or(EINVAL)?,
            z: z.get(..used).ok_or(EINVAL)?,
        },
        sealed: v.sealed,
        parity_percent: v.parity_percent,
    };
    let plan = wire::Packetizer::new_v2(dump, v2, v.max_packet).map_err(|_| EINVAL)?;
    let mut parity_buf = VVec::from_elem(
        0u8,
        crate::fec::MAX_PARITY_SHARDS * wire::MAX_PACKET_SIZE,
        GFP_KERNEL,
    )?;
    let key = wire::SealingKey::new(
        wire::golden::TEST_KEY_ID,
        &wire::golden::TEST_KEY,
        wire::golden::TEST_SALT,
    );
    let counter = AtomicU64::new(0);
    let sealer = v.sealed.then(|| Sealer::new(&key, &counter));
    let count = usize::from(plan.packet_count()) + usize::from(plan.parity_count());
    let mut bytes = VVec::from_elem(0u8, count * plan.max_packet_size(), GFP_KERNEL)?;
    let mut lens = VVec::from_elem(0u16, count, GFP_KERNEL)?;
    let mut seal_scratch = KBox::new(crate::seal::SealScratch::ZERO, GFP_KERNEL)?;
    outgoing::build(&plan, &mut parity_buf, &mut bytes, &mut lens).ok_or(EINVAL)?;
    if let Some(s) = &sealer {
        let stride = plan.max_packet_size();
        outgoing::seal_all(s, &mut seal_scratch, &mut bytes, &mut lens, count, stride)
            .ok_or(EINVAL)?;
    }
    send_fixed_out(
        shared,
        &Outgoing::built(&plan, outgoing::Built::new(&plan, &bytes, &lens)),
    );
    Ok(())
}

fn send_fixed_out(shared: &Shared, out: &Outgoing<'_>) {
    let budget = Budget::new(1_000_000);
    let deadline = budget.all();
    let Some(owner) = shared.dump_lock.acquire(Claim::Wait, &deadline) else {
        return;
    };
    let how = Send {
        out,
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
