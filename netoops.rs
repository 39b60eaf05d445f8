// SPDX-License-Identifier: GPL-2.0

//! netoops: send kernel oops and panic reports over the network.
//!
//! When the kernel oopses or panics, or an operator presses the SysRq key, netoops reads the
//! newest part of the kernel log into a buffer preallocated at load time, packs it with machine
//! facts into the packets of PROTOCOL.md and sends them through netpoll to every enabled target
//! configured under /sys/kernel/config/netoops/.
//!
//! This file is the module root: parameters, the state the pieces share, and the glue from the
//! kernel's hooks (kmsg dumper, die notifier, SysRq key, device and address notifiers) to the
//! dump path in `dump.rs`. The kernel interfaces live in one file each, as safe wrappers over
//! thin unsafe cores: `kmsg_dumper.rs`, `netdev.rs`, `netpoll.rs`, `skb_pool.rs`, `sysrq.rs`,
//! `deferred_work.rs`, `notifier.rs`; dump ownership and the time budget in `owner.rs`; RCU
//! publication in `rcu_cell.rs`; targets in `netpoll_targets.rs`; the configfs tree in
//! `configfs.rs`. The wire codec (`codec/src/wire`) and the frame builder and text parsers
//! (`frame/src/frame`) are shared, no_std crates that the host tests also compile.

#[cfg(CONFIG_X86_64)]
mod arch_x86;
mod bindings;
mod build_id;
mod configfs;
mod deferred_work;
mod die_notifier;
mod dump;
mod facts;
#[cfg(CONFIG_X86_64)]
mod fault_regs;
mod kmsg_dumper;
mod netdev;
mod netpoll;
mod netpoll_targets;
mod notifier;
mod outgoing;
mod owner;
mod param_string;
mod rcu_cell;
mod seal_key;
mod settings;
mod skb_pool;
mod sysrq;

#[path = "frame/src/frame/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod frame;
#[path = "codec/src/wire/mod.rs"]
#[allow(dead_code, unreachable_pub)]
#[expect(
    clippy::wrong_self_convention,
    reason = "`RegsX86_64::to_array(&self)` is the codec crate's exported API, which clippy's \
              avoid-breaking-exported-api leaves alone there; included here it is crate-private"
)]
mod wire;
// The wire format's building blocks (version 2): the erasure code and the AEAD.
#[path = "codec/src/deflate/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod deflate;
#[path = "codec/src/fec/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod fec;
#[path = "codec/src/seal/mod.rs"]
#[allow(dead_code, unreachable_pub)]
mod seal;

use deferred_work::{DeferredWork, WorkHandler};
use kernel::prelude::*;
use kernel::str::{BStr, CString};
use kernel::sync::{rcu, Arc};
use kmsg_dumper::{DumpHandler, LogReader, Reason};
use netdev::{AddressEvents, Device, DeviceEvent, DeviceEvents, RtnlHeld};
use netpoll_targets::{PoolSizing, Registry};
use settings::SettingsCell;

/// `module!` with the flag parameters' type and off value: `bool` where the kernel's `module!`
/// takes it (since 7.3; Kbuild's probe sets `netoops_param_bool`), otherwise `u8` (0 or 1, which
/// both kernels parse). Read the values through [`params`].
macro_rules! netoops_module {
    ($flag:ident, $off:tt) => {
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
                dump_emerg: $flag {
                    default: $off,
                    description: "Also dump on an emergency restart, e.g. SysRq b (reason EMERG); never after a panic's own dump",
                },
                dump_budget_ms: u32 {
                    default: 5000,
                    description: "Milliseconds one dump may take, all targets together (100..=60000, default 5000)",
                },
                test_vectors: $flag {
                    default: $off,
                    description: "Allow the test_vector attribute to send the codec's golden dumps (for tests)",
                },
            },
        }
    };
}
#[cfg(netoops_param_bool)]
netoops_module!(bool, false);
#[cfg(not(netoops_param_bool))]
netoops_module!(u8, 0);

/// The integer and flag parameters' values, whatever the kernel's `module!`: since 7.3
/// `ModuleParamAccess::value` returns the value, before it returns a reference (both are
/// `Borrow<T>`); flags are `bool` or `u8` (see [`netoops_module`]).
mod params {
    use crate::module_parameters as p;
    use core::borrow::Borrow;

    fn get<T: Copy>(value: impl Borrow<T>) -> T {
        *value.borrow()
    }

    #[cfg(netoops_param_bool)]
    fn flag(value: impl Borrow<bool>) -> bool {
        get(value)
    }

    #[cfg(not(netoops_param_bool))]
    fn flag(value: impl Borrow<u8>) -> bool {
        get::<u8>(value) != 0
    }

    pub(crate) fn log_kib() -> u32 {
        get(p::log_kib.value())
    }

    pub(crate) fn dump_budget_ms() -> u32 {
        get(p::dump_budget_ms.value())
    }

    pub(crate) fn dump_emerg() -> bool {
        flag(p::dump_emerg.value())
    }

    pub(crate) fn test_vectors() -> bool {
        flag(p::test_vectors.value())
    }
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
    #[cfg(netoops_test_hooks)]
    crate::param_string::string_param!(
        test_fault,
        32,
        b"",
        "Test kernels only: oops-in-dump makes the first dump oops inside the dump path; \
         defer-in-dump hands the first dump's last frame to netpoll's queue"
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
    wire::EncodeError,
);

/// Accepted `log_kib` values.
const LOG_KIB_RANGE: core::ops::RangeInclusive<u32> = 4..=1024;
/// Accepted `dump_budget_ms` values.
const BUDGET_MS_RANGE: core::ops::RangeInclusive<u32> = 100..=60_000;
/// Most copies of each packet (the `copies` attribute).
pub(crate) const MAX_COPIES: u32 = 4;
/// Longest gap between packets, in microseconds (the `gap_us` attribute).
pub(crate) const MAX_GAP_US: u32 = 100_000;

/// What configfs, the dump path and the notifiers share.
#[pin_data]
pub(crate) struct Core {
    /// The targets.
    #[pin]
    registry: Registry,
    /// Global settings.
    #[pin]
    pub(crate) settings: SettingsCell,
    /// The sealing key, if one is installed.
    #[pin]
    pub(crate) seal_key: seal_key::SealKey,
    /// The most log bytes a dump carries.
    pub(crate) log_bytes: usize,
    /// Whether `test_vector` may send.
    pub(crate) test_vectors: bool,
    /// Machine-wide dump ownership.
    pub(crate) dump_lock: owner::DumpLock,
}

impl Core {
    /// The target registry.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// How large enabled targets' skb pools are now (process context).
    pub(crate) fn pool_sizing(&self) -> PoolSizing {
        let settings = self.settings.get();
        PoolSizing {
            log_bytes: self.log_bytes,
            copies: settings.copies,
            plan_payload: self.registry.plan_payload(&rcu::read_lock()),
            v2_fec_percent: (settings.wire_version >= wire::VERSION_2
                || self.seal_key.read(&rcu::read_lock()).is_some())
            .then_some(settings.fec_percent),
        }
    }

    /// Fills every enabled target's pool to the level the settings need now (process context:
    /// after a target is enabled, `copies` changed, or a dump the machine survived). Returns
    /// whether every pool reached it.
    pub(crate) fn refill_pools(&self) -> bool {
        let sizing = self.pool_sizing();
        let Some(targets) = self.registry.snapshot() else {
            return true;
        };
        // Every target's pool, also after one fell short.
        let mut all = true;
        for t in targets.iter() {
            all &= t.refill(sizing);
        }
        all
    }
}

/// Deferred upkeep, from a dump or a device or address event: resume targets waiting for
/// their device or an address, bind again after MTU and MAC changes, top up the pools.
impl WorkHandler for Core {
    fn run(&self) {
        if let Some(targets) = self.registry.snapshot() {
            for t in targets.iter() {
                t.retry(self.pool_sizing());
            }
        }
        self.refill_pools();
    }
}

/// [`Core`] with the work item that runs its upkeep.
#[pin_data]
pub(crate) struct Shared {
    #[pin]
    upkeep: DeferredWork<Core>,
}

impl core::ops::Deref for Shared {
    type Target = Core;
    fn deref(&self) -> &Core {
        self.upkeep.handler()
    }
}

impl Shared {
    fn new(log_bytes: usize) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            upkeep <- DeferredWork::new(try_pin_init!(Core {
                registry <- Registry::new(),
                settings <- SettingsCell::new(),
                seal_key <- seal_key::SealKey::new(),
                log_bytes,
                test_vectors: params::test_vectors(),
                dump_lock: owner::DumpLock::new(),
            })),
        })
    }

    /// Queues the upkeep work. Any context, NMI included.
    pub(crate) fn schedule_upkeep(&self) {
        self.upkeep.schedule();
    }
}

/// The kmsg dumper's handler: oopses and panics (and emergency restarts with `dump_emerg`).
struct OnKmsgDump(Arc<dump::Dumper>);

impl DumpHandler for OnKmsgDump {
    fn dump(&self, reason: Reason, log: &mut LogReader<'_>) {
        let reason = match reason {
            Reason::Panic => wire::Reason::Panic,
            Reason::Oops => wire::Reason::Oops,
            Reason::Emerg => wire::Reason::Emerg,
            // Shutdown (orderly reboot, halt, power-off) and anything undefined: no crash.
            Reason::Shutdown | Reason::Undef => return,
        };
        self.0.dump(reason, log);
    }
}

/// The die notifier's handler: remember the faulting registers for the dumps that follow.
struct OnOops(Arc<dump::Dumper>);

impl die_notifier::OopsHandler for OnOops {
    fn oops(&self, _regs: &bindings::pt_regs) {
        #[cfg(CONFIG_X86_64)]
        self.0.record_fault(_regs);
    }
}

/// The SysRq key's handler: a soft dump; the machine carries on.
///
/// From a keyboard or serial interrupt (hard-irq context) the dump is deferred to process
/// context: the machine is healthy, and sending from hard-irq context would poll the device
/// there, whose locks are not meant for it.
#[pin_data]
struct OnSysrq {
    #[pin]
    deferred: DeferredWork<SoftDump>,
}

/// A soft dump, run from the work item.
struct SoftDump(Arc<dump::Dumper>);

impl WorkHandler for SoftDump {
    fn run(&self) {
        self.0.dump(wire::Reason::Soft, &mut LogReader::new());
    }
}

impl sysrq::SysrqHandler for OnSysrq {
    fn handle(&self) {
        // SAFETY: reads this CPU's preempt count.
        if unsafe { bindings::netoops_in_hardirq() || bindings::netoops_in_nmi() } {
            self.deferred.schedule();
        } else {
            self.deferred.handler().run();
        }
    }
}

/// Follows the devices of the targets: going away, coming back, being enslaved, changing
/// MTU or MAC address, coming up.
struct OnDeviceEvent(Arc<Shared>);

impl DeviceEvents for OnDeviceEvent {
    fn event(&self, event: DeviceEvent, dev: Device<'_>, rtnl: &RtnlHeld) {
        // The list is shared, not copied: nothing here allocates.
        let Some(targets) = self.0.registry().snapshot() else {
            return;
        };
        match event {
            DeviceEvent::Unregister => targets.iter().for_each(|t| t.device_gone(dev, rtnl)),
            DeviceEvent::Join => targets.iter().for_each(|t| t.device_joined(dev, rtnl)),
            DeviceEvent::ChangeMtu | DeviceEvent::ChangeAddr => {
                // Every target sees the change, also after one that needs the upkeep.
                let mut any = false;
                for t in targets.iter() {
                    any |= t.device_changed(dev);
                }
                if any {
                    self.0.schedule_upkeep();
                }
            }
            // Resuming opens the device and allocates: in the deferred work, not here.
            DeviceEvent::Register | DeviceEvent::ChangeName | DeviceEvent::Up => {
                self.0.schedule_upkeep()
            }
        }
    }
}

/// An address appeared: a target waiting for one may resume.
struct OnAddress(Arc<Shared>);

impl AddressEvents for OnAddress {
    fn address_added(&self) {
        self.0.schedule_upkeep();
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
    #[pin]
    addrs4: netdev::Inet4Registration<OnAddress>,
    #[cfg(CONFIG_IPV6)]
    #[pin]
    addrs6: netdev::Inet6Registration<OnAddress>,
    boot_dirs: KVec<configfs::BootDir>,
    #[pin]
    config: kernel::configfs::Subsystem<configfs::Root>,
    dumper: Arc<dump::Dumper>,
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

/// The dump budget, or EINVAL (with a message naming the parameter).
fn budget_ms(ms: u32) -> Result<u32> {
    if !BUDGET_MS_RANGE.contains(&ms) {
        pr_err!(
            "dump_budget_ms={} is out of range {}..={}\n",
            ms,
            BUDGET_MS_RANGE.start(),
            BUDGET_MS_RANGE.end()
        );
        return Err(EINVAL);
    }
    Ok(ms)
}

/// Arms the test kernels' fault injection (`test_fault`).
#[cfg(netoops_test_hooks)]
fn arm_test_fault(fault: &[u8]) -> Result {
    match fault {
        [] => Ok(()),
        b"oops-in-dump" => {
            pr_info!("test_fault=oops-in-dump: the next dump oopses inside the dump path\n");
            dump::OOPS_IN_NEXT_DUMP.store(true, core::sync::atomic::Ordering::Release);
            Ok(())
        }
        b"defer-in-dump" => {
            pr_info!("test_fault=defer-in-dump: the next dump defers its last frame to netpoll\n");
            dump::DEFER_IN_NEXT_DUMP.store(true, core::sync::atomic::Ordering::Release);
            Ok(())
        }
        b"defer-first-in-dump" => {
            pr_info!(
                "test_fault=defer-first-in-dump: the next dump defers its first frame to netpoll\n"
            );
            dump::DEFER_FIRST_IN_NEXT_DUMP.store(true, core::sync::atomic::Ordering::Release);
            Ok(())
        }
        _ => {
            pr_err!(
                "test_fault=\"{}\" is not a known fault (oops-in-dump, defer-in-dump, defer-first-in-dump)\n",
                BStr::from_bytes(fault)
            );
            Err(EINVAL)
        }
    }
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
            pr_err!(
                "targets: target {}: give the device by name, not by MAC address\n",
                i
            );
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
        dirs.push(
            configfs::BootDir::register(subsys, shared, target.clone(), &name)?,
            GFP_KERNEL,
        )?;
        target.enable_or_wait(shared.pool_sizing());
    }
    shared.refill_pools();
    Ok(dirs)
}

/// Binds the SysRq key, or refuses to load with a message if it is taken.
fn bind_sysrq(
    key: &[u8],
    dumper: &Arc<dump::Dumper>,
) -> Result<Option<Pin<KBox<sysrq::Registration<OnSysrq>>>>> {
    let key = match key {
        [] => return Ok(None),
        [k] if k.is_ascii_alphanumeric() => *k,
        _ => {
            pr_err!(
                "sysrq_key=\"{}\" is not one letter or digit\n",
                BStr::from_bytes(key)
            );
            return Err(EINVAL);
        }
    };
    KBox::pin_init(
        sysrq::Registration::new(
            key,
            try_pin_init!(OnSysrq {
                deferred <- DeferredWork::new(Ok::<_, Error>(SoftDump(dumper.clone()))),
            }? Error),
        ),
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
        let log_kib = params::log_kib();
        let key = string_params::sysrq_key.value();
        pr_info!("loading: sending up to {} KiB of log per dump\n", log_kib);
        try_pin_init!(Self {
            shared: Arc::pin_init(Shared::new(log_bytes(log_kib)?), GFP_KERNEL)?,
            dumper: {
                #[cfg(netoops_test_hooks)]
                arm_test_fault(string_params::test_fault.value())?;
                let budget = budget_ms(params::dump_budget_ms())?;
                Arc::new(dump::Dumper::new(shared.clone(), budget)?, GFP_KERNEL)?
            },
            sysrq: bind_sysrq(key, dumper)?,
            die <- die_notifier::Registration::new(Ok::<_, Error>(OnOops(dumper.clone()))),
            kmsg <- kmsg_dumper::Registration::new(
                if params::dump_emerg() { Reason::Emerg } else { Reason::Oops },
                Ok::<_, Error>(OnKmsgDump(dumper.clone()))
            ),
            devices <- netdev::NotifierRegistration::new(Ok::<_, Error>(OnDeviceEvent(shared.clone()))),
            addrs4 <- netdev::Inet4Registration::new(Ok::<_, Error>(OnAddress(shared.clone()))),
            #[cfg(CONFIG_IPV6)]
            addrs6 <- netdev::Inet6Registration::new(Ok::<_, Error>(OnAddress(shared.clone()))),
            config <- configfs::subsystem(shared.clone()),
            boot_dirs: boot_targets(&config, shared, string_params::targets.value())?,
        })
    }
}

#[pinned_drop]
impl PinnedDrop for NetOops {
    fn drop(self: Pin<&mut Self>) {
        // Targets made with mkdir pin the module, so any left are boot-time ones: stop them.
        if let Some(targets) = self.shared.registry().snapshot() {
            targets.iter().for_each(|t| t.disable());
        }
        pr_info!("unloaded\n");
    }
}
