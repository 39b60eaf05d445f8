// SPDX-License-Identifier: GPL-2.0

//! netoops: send kernel oops and panic reports over the network.
//!
//! When the kernel oopses or panics, or an operator presses the SysRq key, netoops reads the
//! newest part of the kernel log into a buffer preallocated at load time, packs it with machine
//! facts into the packets of PROTOCOL.md and sends them through netpoll to every enabled target
//! configured under /sys/kernel/config/netoops/.
//!
//! This file is the module root: parameters, the state the pieces share, and the dump
//! orchestration. The kernel interfaces live in one file each, as safe wrappers over thin
//! unsafe cores: `kmsg_dumper.rs`, `netdev.rs`, `skb_pool.rs`, `sysrq.rs`, `deferred_work.rs`;
//! targets and their transmit path in `netpoll_targets.rs`; the configfs tree in `configfs.rs`.
//! The wire codec (`codec/src/wire`) and the frame builder and text parsers
//! (`frame/src/frame`) are shared, no_std crates that the host tests also compile.

#[cfg(CONFIG_X86_64)]
mod arch_x86;
mod bindings;
mod configfs;
mod deferred_work;
mod die_notifier;
mod facts;
mod kmsg_dumper;
mod netdev;
mod netpoll_targets;
mod notifier;
mod param_string;
mod skb_pool;
mod sysrq;

#[path = "frame/src/frame/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod frame;
#[path = "codec/src/wire/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod wire;

use core::sync::atomic::{AtomicU32, Ordering};
use deferred_work::{DeferredWork, WorkHandler};
use kernel::alloc::VVec;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::str::{BStr, CString};
use kernel::sync::{Arc, SpinLock};
use kmsg_dumper::{DumpHandler, LogReader, Reason};
use netdev::{Device, DeviceEvent, DeviceEvents, RtnlHeld};
use netpoll_targets::{PoolSizing, Registry};

module! {
    type: NetOops,
    name: "netoops",
    authors: ["netoops developers"],
    description: "Send kernel oops and panic reports as UDP packets through netpoll",
    license: "GPL",
    params: {
        log_kib: u32 {
            default: 64,
            description: "KiB of the newest kernel log sent per dump (4..=1024, default 64)",
        },
        dump_emerg: bool {
            default: false,
            description: "Also dump on emergency restart, halt and power-off (reason EMERG)",
        },
    },
}

/// The string parameters (`module!` has only integers and booleans).
mod string_params {
    crate::param_string::string_param!(
        targets,
        1024,
        b"",
        "Boot-time targets, netconsole syntax: [+][r][src-port]@[src-ip]/[dev],[tgt-port]@tgt-ip/[tgt-mac]; several separated by ';'"
    );
    crate::param_string::string_param!(
        sysrq_key,
        8,
        b"y",
        "SysRq key that runs a soft dump (default y; empty: none)"
    );
}

/// Lets the kernel's print macros show the shared crates' `core::fmt::Display` types.
macro_rules! kernel_display {
    ($($ty:ty),* $(,)?) => {$(
        impl kernel::fmt::Display for $ty {
            fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
                core::fmt::Display::fmt(self, f)
            }
        }
    )*};
}
kernel_display!(
    frame::IpDisplay,
    frame::Ipv4Display,
    frame::Ipv6Display,
    frame::MacDisplay,
    frame::UuidDisplay,
    wire::Reason,
    frame::SpecError,
);

/// Accepted `log_kib` values.
const LOG_KIB_RANGE: core::ops::RangeInclusive<u32> = 4..=1024;
/// Most copies of each packet (the `copies` attribute); skb pools are sized for this many.
pub(crate) const MAX_COPIES: u32 = 4;
/// Longest gap between packets, in microseconds (the `gap_us` attribute).
pub(crate) const MAX_GAP_US: u32 = 100_000;
/// How long a panic or emergency dump keeps polling the devices after its last packet.
const SETTLE_US: u32 = 200_000;
/// Copies of each packet sent by default.
const DEFAULT_COPIES: u32 = 2;

/// Global settings, set through the configfs root.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    /// The boot id sent in every packet.
    pub(crate) boot_id: [u8; 16],
    /// The user blob: `user_blob[..user_blob_len]`.
    pub(crate) user_blob: [u8; wire::MAX_USER_BLOB_LEN],
    /// Bytes of `user_blob` in use.
    pub(crate) user_blob_len: usize,
    /// Copies sent of every packet.
    pub(crate) copies: u32,
    /// Microseconds between packets.
    pub(crate) gap_us: u32,
}

impl Settings {
    /// The defaults, with a zero boot id.
    const fn defaults() -> Self {
        Settings {
            boot_id: [0; 16],
            user_blob: [0; wire::MAX_USER_BLOB_LEN],
            user_blob_len: 0,
            copies: DEFAULT_COPIES,
            gap_us: 0,
        }
    }

    /// The defaults with a random boot id: a version 4 UUID, as the kernel's own boot_id.
    fn new() -> Self {
        let mut s = Self::defaults();
        // SAFETY: fills the 16 bytes of `boot_id`.
        unsafe { bindings::get_random_bytes(s.boot_id.as_mut_ptr().cast(), s.boot_id.len()) };
        s.boot_id[6] = (s.boot_id[6] & 0x0f) | 0x40;
        s.boot_id[8] = (s.boot_id[8] & 0x3f) | 0x80;
        s
    }

    /// The user blob in use.
    pub(crate) fn user_blob(&self) -> &[u8] {
        self.user_blob.get(..self.user_blob_len).unwrap_or(&[])
    }
}

/// What configfs, the dump path and the device notifier share.
#[pin_data]
pub(crate) struct Shared {
    /// The targets, with the deferred work that refills their skb pools after a dump.
    #[pin]
    targets: DeferredWork<Registry>,
    /// Global settings.
    #[pin]
    pub(crate) settings: SpinLock<Settings>,
    /// The most log bytes a dump carries.
    log_bytes: usize,
}

impl Shared {
    fn new(log_bytes: usize) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            targets <- DeferredWork::new(Registry::new(PoolSizing {
                log_bytes,
                copies: MAX_COPIES,
            })),
            settings <- new_spinlock!(Settings::new(), "netoops_settings"),
            log_bytes,
        })
    }

    /// The target registry.
    pub(crate) fn registry(&self) -> &Registry {
        self.targets.handler()
    }

    /// How large an enabled target's skb pool must be.
    pub(crate) fn pool_sizing(&self) -> PoolSizing {
        self.registry().sizing
    }
}

/// Deferred from a dump or a device event: top up the pools, resume targets whose device is
/// back.
impl WorkHandler for Registry {
    fn run(&self) {
        if let Ok(targets) = self.snapshot() {
            for t in targets.iter() {
                t.refill();
                t.try_resume(self.sizing);
            }
        }
    }
}

/// The faulting registers of an oops, as the die notifier saw them.
#[derive(Clone, Copy)]
struct FaultRecord {
    /// The CPU that oopsed.
    cpu: i32,
    regs: wire::RegsX86_64,
    /// The dump that carried them, once one did.
    dumped_in: Option<u32>,
}

/// The dump path: read the log, encode it, send it through every target.
#[pin_data]
struct Dumper {
    /// The log of one dump, allocated at load time so that the dump path never allocates.
    /// `try_lock` only: two CPUs oopsing at once, or an oops inside our own dump path, make the
    /// later dump skip instead of waiting on a CPU that may never release the lock.
    #[pin]
    log: SpinLock<VVec<u8>>,
    /// The sequence number of the next dump of this boot.
    seq: AtomicU32,
    /// The faulting registers of the latest oops, from the die notifier.
    #[pin]
    fault: SpinLock<Option<FaultRecord>>,
    /// The CPU's identity, read at load time.
    cpu: Option<facts::Cpu>,
    shared: Arc<Shared>,
}

impl Dumper {
    fn new(shared: Arc<Shared>) -> impl PinInit<Self, Error> {
        let log_bytes = shared.log_bytes;
        try_pin_init!(Self {
            log <- new_spinlock!(VVec::from_elem(0u8, log_bytes, GFP_KERNEL)?, "netoops_log"),
            seq: AtomicU32::new(0),
            fault <- new_spinlock!(None, "netoops_fault"),
            cpu: facts::Cpu::probe(),
            shared,
        })
    }

    /// The registers dump `seq` for `reason` carries: for an oops, the faulting registers the
    /// die notifier recorded on this CPU; for a panic, the same if it follows the dump of that
    /// oops directly (panic_on_oops), else this CPU's own; for a soft dump, this CPU's own.
    /// Never another CPU's, never an older crash's.
    fn regs(&self, reason: wire::Reason, seq: u32) -> Option<wire::Regs<'static>> {
        // SAFETY: reads this CPU's number; a dump runs on the crashing CPU, and a stale number
        // only makes the match below fail.
        let cpu = unsafe { bindings::netoops_this_cpu() };
        let fault = self.fault.try_lock().and_then(|mut slot| {
            let rec = (*slot).filter(|r| r.cpu == cpu)?;
            match reason {
                wire::Reason::Oops if rec.dumped_in.is_none() => {
                    *slot = Some(FaultRecord {
                        dumped_in: Some(seq),
                        ..rec
                    });
                    Some(rec.regs)
                }
                wire::Reason::Panic
                    if rec.dumped_in.is_none() || rec.dumped_in == seq.checked_sub(1) =>
                {
                    *slot = None;
                    Some(rec.regs)
                }
                _ => None,
            }
        });
        let (source, regs) = match (reason, fault) {
            (_, Some(r)) => (wire::RegsSource::Fault, r),
            #[cfg(CONFIG_X86_64)]
            (wire::Reason::Panic, None) => (wire::RegsSource::PanicCpu, arch_x86::current_regs()),
            #[cfg(CONFIG_X86_64)]
            (wire::Reason::Soft, None) => (wire::RegsSource::SysrqCpu, arch_x86::current_regs()),
            _ => return None,
        };
        Some(wire::Regs {
            source,
            regs: wire::ArchRegs::X86_64(regs),
        })
    }

    /// One dump. Runs in the crashing context: no allocation, no sleeping, no waiting.
    fn dump(&self, reason: wire::Reason, log: &mut LogReader<'_>) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let Some(mut buf) = self.log.try_lock() else {
            pr_warn!("dump {}: reason={:?} skipped: another dump is in progress\n", seq, reason);
            return;
        };
        let len = log.read_newest(&mut buf[..]);
        let truncated = log.has_older();
        let settings = match self.shared.settings.try_lock() {
            Some(s) => *s,
            None => {
                pr_warn!("dump {}: settings busy, sending with defaults\n", seq);
                Settings::defaults()
            }
        };
        let captured = buf.get(..len).unwrap_or(&[]);
        let mut facts = facts::collect(self.cpu.as_ref(), settings.user_blob());
        facts.regs = self.regs(reason, seq);
        let dump = wire::Dump {
            boot_id: settings.boot_id,
            seq,
            reason,
            facts,
            log: captured,
            log_truncated: truncated,
        };
        // One packet plan for every target (the smallest MTU decides), so that a collector
        // that hears several targets sees the same packets.
        let mut max_packet = wire::MAX_PACKET_SIZE;
        self.shared.registry().try_for_each(|t| {
            if let Some(m) = t.max_payload() {
                max_packet = max_packet.min(m);
            }
        });
        let (mut packets, mut targets) = (0u64, 0u32);
        let walked = self.shared.registry().try_for_each(|t| {
            let n = t.send_dump_sized(&dump, settings.copies, settings.gap_us, max_packet);
            if n > 0 {
                targets += 1;
                packets += n;
            }
        });
        if !walked {
            pr_warn!("dump {}: target list busy, nothing sent\n", seq);
        }
        pr_info!(
            "dump {}: reason={}, read {} bytes of log, sent {} packets to {} targets, newest line: {}\n",
            seq,
            reason_name(reason),
            len,
            packets,
            targets,
            BStr::from_bytes(newest_line(captured, 160))
        );
        if matches!(reason, wire::Reason::Panic | wire::Reason::Emerg) {
            // The machine stops or resets next: let the devices send what they were given.
            self.shared.registry().try_for_each(|t| t.settle(SETTLE_US));
        } else {
            // The machine carries on: top the pools up for the next dump.
            self.shared.targets.schedule();
        }
    }
}

fn reason_name(r: wire::Reason) -> &'static str {
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

/// The kmsg dumper's handler: oopses and panics.
struct OnKmsgDump(Arc<Dumper>);

impl DumpHandler for OnKmsgDump {
    fn dump(&self, reason: Reason, log: &mut LogReader<'_>) {
        let reason = match reason {
            Reason::Panic => wire::Reason::Panic,
            Reason::Oops => wire::Reason::Oops,
            Reason::Emerg => wire::Reason::Emerg,
            // Shutdown (and anything undefined) is not a crash.
            Reason::Shutdown | Reason::Undef => return,
        };
        self.0.dump(reason, log);
    }
}

/// The die notifier's handler: remember the faulting registers for the dump that follows.
struct OnOops(Arc<Dumper>);

impl die_notifier::OopsHandler for OnOops {
    fn oops(&self, regs: &bindings::pt_regs) {
        #[cfg(CONFIG_X86_64)]
        {
            // SAFETY: reads this CPU's number (the oopsing CPU, preemption off).
            let cpu = unsafe { bindings::netoops_this_cpu() };
            if let Some(mut slot) = self.0.fault.try_lock() {
                *slot = Some(FaultRecord {
                    cpu,
                    regs: arch_x86::regs_from(regs),
                    dumped_in: None,
                });
            }
        }
    }
}

/// The SysRq key's handler: a soft dump; the machine carries on.
struct OnSysrq(Arc<Dumper>);

impl sysrq::SysrqHandler for OnSysrq {
    fn handle(&self) {
        self.0.dump(wire::Reason::Soft, &mut LogReader::new());
    }
}

/// Follows devices going and coming back for the targets bound to them.
struct OnDeviceEvent(Arc<Shared>);

impl DeviceEvents for OnDeviceEvent {
    fn event(&self, event: DeviceEvent, dev: Device<'_>, rtnl: &RtnlHeld) {
        match event {
            DeviceEvent::Unregister => {
                if let Ok(targets) = self.0.registry().snapshot() {
                    targets.iter().for_each(|t| t.device_gone(dev, rtnl));
                }
            }
            // Resuming opens the device and allocates: do it in the deferred work, not inside
            // the notifier.
            DeviceEvent::Register | DeviceEvent::ChangeName => self.0.targets.schedule(),
        }
    }
}

#[pin_data(PinnedDrop)]
struct NetOops {
    // Dropped in this order: first nothing can start a dump any more, then devices are no
    // longer followed, then the configfs tree goes, then the targets.
    #[pin]
    sysrq: Option<Pin<KBox<sysrq::Registration<OnSysrq>>>>,
    #[pin]
    kmsg: kmsg_dumper::Registration<OnKmsgDump>,
    #[pin]
    die: die_notifier::Registration<OnOops>,
    #[pin]
    devices: netdev::NotifierRegistration<OnDeviceEvent>,
    boot_dirs: KVec<configfs::BootDir>,
    #[pin]
    config: kernel::configfs::Subsystem<configfs::Root>,
    dumper: Arc<Dumper>,
    shared: Arc<Shared>,
}

/// The log buffer size for `log_kib`, or EINVAL (with a message naming the parameter).
fn log_bytes(log_kib: u32) -> Result<usize> {
    if !LOG_KIB_RANGE.contains(&log_kib) {
        pr_err!(
            "log_kib={} is out of range {}..={}\n",
            log_kib,
            LOG_KIB_RANGE.start(),
            LOG_KIB_RANGE.end()
        );
        return Err(EINVAL);
    }
    Ok(log_kib as usize * 1024)
}

/// Creates, shows in configfs and enables the boot-time targets of the `targets` parameter.
fn boot_targets(
    subsys: &kernel::configfs::Subsystem<configfs::Root>,
    shared: &Arc<Shared>,
    specs: &[u8],
) -> Result<KVec<configfs::BootDir>> {
    let mut dirs = KVec::new();
    for (i, spec) in frame::parse_targets(specs).enumerate() {
        let spec = spec.map_err(|e| {
            pr_err!("targets: {}\n", e);
            EINVAL
        })?;
        let frame::Device::Name(dev_name) = spec.dev else {
            pr_err!("targets: target {}: give the device by name, not by MAC address\n", i);
            return Err(EINVAL);
        };
        let name = CString::try_from_fmt(fmt!("boot{}", i))?;
        let target = Arc::pin_init(netpoll_targets::Target::new(name.to_bytes()), GFP_KERNEL)?;
        target.set_config(netpoll_targets::TargetConfig {
            dev_name: Some(dev_name),
            local_ip: spec.src_ip,
            remote_ip: Some(spec.tgt_ip),
            local_port: spec.src_port,
            remote_port: spec.tgt_port,
            remote_mac: spec.tgt_mac,
        });
        dirs.push(configfs::BootDir::register(subsys, shared, target.clone(), &name)?, GFP_KERNEL)?;
        target.enable_or_wait(shared.pool_sizing());
    }
    Ok(dirs)
}

/// Binds the SysRq key, or refuses to load with a message if it is taken.
fn bind_sysrq(
    key: &[u8],
    dumper: &Arc<Dumper>,
) -> Result<Option<Pin<KBox<sysrq::Registration<OnSysrq>>>>> {
    let key = match key {
        [] => return Ok(None),
        [k] if k.is_ascii_alphanumeric() => *k,
        _ => {
            pr_err!("sysrq_key=\"{}\" is not one letter or digit\n", BStr::from_bytes(key));
            return Err(EINVAL);
        }
    };
    KBox::pin_init(
        sysrq::Registration::new(key, Ok::<_, Error>(OnSysrq(dumper.clone()))),
        GFP_KERNEL,
    )
        .map(Some)
        .inspect_err(|_| {
            pr_err!(
                "sysrq_key={} is already taken by another SysRq action; choose another key\n",
                key as char
            )
        })
}

impl kernel::InPlaceModule for NetOops {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let log_kib = module_parameters::log_kib.value();
        let key = string_params::sysrq_key.value();
        pr_info!("loading: sending up to {} KiB of log per dump\n", log_kib);
        try_pin_init!(Self {
            shared: Arc::pin_init(Shared::new(log_bytes(log_kib)?), GFP_KERNEL)?,
            dumper: Arc::pin_init(Dumper::new(shared.clone()), GFP_KERNEL)?,
            sysrq: bind_sysrq(key, &dumper)?,
            die <- die_notifier::Registration::new(Ok::<_, Error>(OnOops(dumper.clone()))),
            kmsg <- kmsg_dumper::Registration::new(
                if module_parameters::dump_emerg.value() { Reason::Emerg } else { Reason::Oops },
                Ok::<_, Error>(OnKmsgDump(dumper.clone()))
            ),
            devices <- netdev::NotifierRegistration::new(Ok::<_, Error>(OnDeviceEvent(shared.clone()))),
            config <- configfs::subsystem(shared.clone()),
            boot_dirs: boot_targets(&config, &shared, string_params::targets.value())?,
        })
    }
}

#[pinned_drop]
impl PinnedDrop for NetOops {
    fn drop(self: Pin<&mut Self>) {
        // Targets made with mkdir pin the module, so any left are boot-time ones: stop them.
        if let Ok(targets) = self.shared.registry().snapshot() {
            targets.iter().for_each(|t| t.disable());
        }
        pr_info!("unloaded\n");
    }
}
