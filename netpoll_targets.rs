// SPDX-License-Identifier: GPL-2.0

//! Targets: where dumps go.
//!
//! A [`Target`] holds what configfs sets (device, addresses, ports, MAC) and, while enabled, its
//! transmit state ([`Tx`]): a netpoll instance bound to the device, a pool of preallocated skbs
//! and the resolved frame addressing. The [`Registry`] lists the targets.
//!
//! What the dump path reads is published through RCU ([`RcuCell`]): the registry's list and
//! each target's transmit state. The dump path takes no lock at all, so a CPU that crashed or
//! was stopped while holding one of ours cannot cost a dump. Process-context changes take rtnl,
//! then the target's state mutex (never the other way round), build the new transmit state
//! completely, and publish it only after the grace period that lets NAPI polls started before
//! netpoll was set up finish (as netconsole does); unpublishing waits for a grace period before
//! the state is freed.

use crate::frame::{self, Endpoints, IfName, IpAddr, IpPair};
use crate::netdev::{Device, Rtnl, RtnlHeld};
use crate::netpoll::{Netpoll, NotReady};
use crate::owner::{touch_watchdogs, Deadline, StillOwner};
use crate::rcu_cell::{self, RcuCell};
use crate::skb_pool::{Skb, SkbPool};
use crate::{bindings, wire};
use core::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{rcu, Arc, Mutex};

/// Default UDP source port (netconsole's).
pub(crate) const DEFAULT_LOCAL_PORT: u16 = 6665;
/// Default UDP destination port: netoopsd's default listening port.
pub(crate) const DEFAULT_REMOTE_PORT: u16 = 6667;
/// The broadcast MAC, used when the next hop's MAC is not known.
pub(crate) const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// A target's configuration, as configfs shows and sets it.
#[derive(Clone, Copy)]
pub(crate) struct TargetConfig {
    /// The egress device.
    pub(crate) dev_name: Option<IfName>,
    /// Source address; `None`: taken from the device when enabled.
    pub(crate) local_ip: Option<IpAddr>,
    /// The collector's address.
    pub(crate) remote_ip: Option<IpAddr>,
    /// UDP source port.
    pub(crate) local_port: u16,
    /// The collector's UDP port.
    pub(crate) remote_port: u16,
    /// The next hop's MAC; `None`: resolved when enabled (broadcast if unknown).
    pub(crate) remote_mac: Option<[u8; 6]>,
}

impl TargetConfig {
    const fn new() -> Self {
        TargetConfig {
            dev_name: None,
            local_ip: None,
            remote_ip: None,
            local_port: DEFAULT_LOCAL_PORT,
            remote_port: DEFAULT_REMOTE_PORT,
            remote_mac: None,
        }
    }
}

/// Whether a target sends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Status {
    /// Not sending; configurable.
    Disabled,
    /// Bound to its device and sending.
    Enabled,
    /// Enabled by the user, but its device went away: resumes when a device of that name
    /// comes back.
    Deactivated,
}

/// Everything configfs sees of a target, under its state mutex.
pub(crate) struct TargetState {
    /// The configuration.
    pub(crate) config: TargetConfig,
    /// Enabled or not.
    pub(crate) status: Status,
    /// While enabled: the frame addressing (MACs, IPs, ports) it resolved.
    pub(crate) resolved: Option<Endpoints>,
    /// The local address it last used: kept while its device is away, so that it can resume
    /// on a device of that name before an address is configured on it (as netconsole does).
    last_local_ip: Option<IpAddr>,
}

/// How many skbs a target's pool has room for, and how many it holds.
///
/// The pools must not run dry in the sequences that really happen without a chance to refill
/// in between: an oops, then the panic it causes (panic_on_oops), each dump sending every
/// packet `copies` times. And every target sends the same packet plan, cut for the smallest
/// packet any enabled target allows. So a pool holds `DUMPS × copies × packets` skbs, where
/// `packets` is the most packets a dump of `log_bytes` takes at that smallest packet size
/// (every fact at its largest). It has room for the worst case (`MAX_COPIES` copies at the
/// smallest packet size the wire format allows) and is filled to the current level when a
/// target is enabled, when `copies` changes, and after every dump the machine survives.
#[derive(Clone, Copy)]
pub(crate) struct PoolSizing {
    /// The most log bytes one dump carries.
    pub(crate) log_bytes: usize,
    /// Copies sent of every packet now.
    pub(crate) copies: u32,
    /// The packet size of the plan now: the smallest any enabled target allows.
    pub(crate) plan_payload: usize,
    /// Parity packets per 100 data packets now, if dumps are version 2 now (`None`: version 1).
    pub(crate) v2_fec_percent: Option<u32>,
}

impl PoolSizing {
    /// Dumps a pool serves without a refill: an oops and its panic.
    pub(crate) const DUMPS: usize = 2;

    /// The most datagrams one copy of a dump takes: in version 1, or (with `v2_fec_percent`)
    /// the larger of that and version 2 sealed with an incompressible log and that parity.
    fn packets(log_bytes: usize, payload: usize, v2_fec_percent: Option<u32>) -> usize {
        let v1 = wire::Packetizer::max_packet_count(log_bytes, payload)
            .map_or(usize::from(u16::MAX), usize::from);
        let Some(fec_percent) = v2_fec_percent else {
            return v1;
        };
        let v2 = wire::Packetizer::max_packet_count_v2(
            log_bytes,
            payload,
            true,
            fec_percent,
            crate::deflate::max_compressed_len,
        )
        .map_or(usize::from(u16::MAX), |n| n as usize);
        v1.max(v2)
    }

    /// Room in a pool: the worst case of every setting.
    pub(crate) fn capacity(&self) -> usize {
        Self::DUMPS
            * crate::MAX_COPIES as usize
            * Self::packets(
                self.log_bytes,
                wire::MIN_PACKET_SIZE,
                Some(crate::settings::MAX_FEC_PERCENT),
            )
    }

    /// skbs a pool holds now, for a target whose own packets may be `max_payload` bytes.
    pub(crate) fn level(&self, max_payload: usize) -> usize {
        Self::DUMPS
            * self.copies.max(1) as usize
            * Self::packets(
                self.log_bytes,
                self.plan_payload.min(max_payload),
                self.v2_fec_percent,
            )
    }
}

/// The transmit side of an enabled target, published through RCU for the dump path.
struct Tx {
    np: Pin<KBox<Netpoll>>,
    pool: Arc<SkbPool>,
    endpoints: Endpoints,
    headroom: u32,
    /// The largest UDP payload the device's MTU allowed when the target was enabled.
    max_payload: usize,
    ip_id: AtomicU16,
}

/// Counters a target shows in configfs.
pub(crate) struct Counters {
    /// Dumps sent (at least one packet went out).
    pub(crate) dumps_sent: AtomicU64,
    /// Packets handed to the device (every copy counts).
    pub(crate) packets_sent: AtomicU64,
    /// Packets not sent: no skb left, a device error, a dead or busy device, the budget.
    pub(crate) send_errors: AtomicU64,
}

/// How a target's part of a dump ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Outcome {
    /// Every packet, every copy, was handed to the device.
    Complete,
    /// The target is not enabled.
    NotEnabled,
    /// The device is down, has no carrier, or its queue is held for good: skipped at once.
    DeviceDead,
    /// The device stayed busy past this target's share of the budget.
    Busy,
    /// The dump's budget ran out.
    OutOfTime,
    /// The pool had no skb left for some packets.
    PoolDry,
    /// Another CPU took the dump over (or panicked).
    TakenOver,
    /// The device's MTU shrank below the packets of this dump.
    MtuShrank,
}

impl Outcome {
    /// A short description, for the kernel log.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::NotEnabled => "not enabled",
            Outcome::DeviceDead => "device down, without carrier or held: skipped",
            Outcome::Busy => "device busy past its share of the budget: abandoned",
            Outcome::OutOfTime => "out of time: abandoned",
            Outcome::PoolDry => "skb pool ran dry",
            Outcome::TakenOver => "taken over by another CPU",
            Outcome::MtuShrank => "device MTU now below the packet size: skipped",
        }
    }
}

/// What one target sent of one dump.
#[derive(Clone, Copy)]
pub(crate) struct SendReport {
    /// Frames handed to the device.
    pub(crate) sent: u32,
    /// Frames the dump meant to send (packets × copies).
    pub(crate) planned: u32,
    /// How it ended.
    pub(crate) outcome: Outcome,
}

/// What a dump sends, and how: the same for every target.
pub(crate) struct Send<'a, 'p> {
    /// The dump's datagrams.
    pub(crate) out: &'a crate::outgoing::Outgoing<'p>,
    /// Copies of each packet.
    pub(crate) copies: u32,
    /// Microseconds between frames.
    pub(crate) gap_us: u32,
    /// The other CPUs are stopped (a panic on this CPU).
    pub(crate) panicking: bool,
}

/// One destination for dumps.
#[pin_data]
pub(crate) struct Target {
    name: [u8; 32],
    name_len: usize,
    #[pin]
    state: Mutex<TargetState>,
    /// The transmit state while enabled; written only under `state`.
    tx: RcuCell<Tx>,
    /// Set by the device notifier when the device's MTU or MAC changed: the deferred work
    /// binds the target again.
    rebind: AtomicBool,
    /// Statistics.
    pub(crate) counters: Counters,
}

impl Target {
    /// A disabled target named `name` (its configfs directory).
    pub(crate) fn new(name: &[u8]) -> impl PinInit<Self, Error> {
        let mut buf = [0u8; 32];
        let len = name.len().min(buf.len());
        buf[..len].copy_from_slice(&name[..len]);
        try_pin_init!(Self {
            name: buf,
            name_len: len,
            state <- new_mutex!(TargetState {
                config: TargetConfig::new(),
                status: Status::Disabled,
                resolved: None,
                last_local_ip: None,
            }),
            tx: RcuCell::empty(),
            rebind: AtomicBool::new(false),
            counters: Counters {
                dumps_sent: AtomicU64::new(0),
                packets_sent: AtomicU64::new(0),
                send_errors: AtomicU64::new(0),
            },
        })
    }

    /// The target's name, for messages.
    pub(crate) fn name(&self) -> &kernel::str::BStr {
        kernel::str::BStr::from_bytes(&self.name[..self.name_len])
    }

    /// The state, for configfs (process context).
    pub(crate) fn state(&self) -> kernel::sync::MutexGuard<'_, TargetState> {
        self.state.lock()
    }

    /// Sets the whole configuration (of a disabled target, e.g. one given at boot).
    pub(crate) fn set_config(&self, config: TargetConfig) {
        self.state.lock().config = config;
    }

    /// Enables a boot-time target; if its device does not exist yet or has no address yet,
    /// waits for it (the target resumes on the device and address events).
    pub(crate) fn enable_or_wait(&self, sizing: PoolSizing) {
        if let Err(e) = self.enable(sizing) {
            if e == ENODEV || e == errno::edestaddrreq() {
                self.state.lock().status = Status::Deactivated;
                let what = if e == ENODEV {
                    "to appear"
                } else {
                    "to get an address"
                };
                pr_info!("target {}: waiting for its device {}\n", self.name(), what);
            }
        }
    }

    /// The configured device name as a C string.
    fn dev_name(cfg: &TargetConfig) -> Option<&CStr> {
        let n = cfg.dev_name.as_ref()?;
        CStr::from_bytes_until_nul(n.as_c_bytes()).ok()
    }

    /// If the target's device is down, brings it up and waits for its carrier, at most 4 s,
    /// without holding rtnl meanwhile (as netconsole does).
    fn bring_up(&self) -> Result {
        const CARRIER_WAIT_MS: u32 = 4000;
        const STEP_MS: u32 = 10;
        let cfg = self.state.lock().config;
        let Some(name) = Self::dev_name(&cfg) else {
            return Ok(());
        };
        {
            let rtnl = Rtnl::lock();
            let Some(dev) = Device::by_name(&rtnl, name) else {
                return Ok(()); // `bind` reports it
            };
            if dev.is_running() {
                return Ok(());
            }
            pr_info!(
                "target {}: device {} is down, bringing it up\n",
                self.name(),
                name
            );
            dev.open(&rtnl).inspect_err(|_| {
                pr_err!(
                    "target {}: enabled: cannot bring {} up\n",
                    self.name(),
                    name
                )
            })?;
        }
        let mut waited = 0;
        loop {
            let carrier = {
                let rtnl = Rtnl::lock();
                Device::by_name(&rtnl, name).is_none_or(|d| d.carrier_ok())
            };
            if carrier {
                return Ok(());
            }
            if waited >= CARRIER_WAIT_MS {
                pr_info!(
                    "target {}: timeout waiting for carrier on {}\n",
                    self.name(),
                    name
                );
                return Ok(());
            }
            // SAFETY: sleeping in process context with no lock held.
            unsafe { bindings::msleep(STEP_MS) };
            waited += STEP_MS;
        }
    }

    /// Enables the target: brings its device up if needed, binds netpoll to it, resolves
    /// addresses, fills the pool to `sizing`'s level, and publishes the transmit state.
    pub(crate) fn enable(&self, sizing: PoolSizing) -> Result {
        if self.state.lock().status != Status::Disabled {
            pr_err!("target {}: enabled: already enabled\n", self.name());
            return Err(EINVAL);
        }
        self.bring_up()?;
        self.bind(sizing, Status::Disabled)
    }

    /// Binds the target, if its status is still `from`, and publishes the transmit state.
    /// Locks in the module's order: rtnl, then the state mutex; rtnl is released before the
    /// grace period (the device notifier waits for the state mutex while holding rtnl).
    fn bind(&self, sizing: PoolSizing, from: Status) -> Result {
        let rtnl = Rtnl::lock();
        let mut state = self.state.lock();
        if state.status != from {
            if from == Status::Disabled {
                pr_err!("target {}: enabled: already enabled\n", self.name());
            }
            return Err(EINVAL);
        }
        let tx = self.make_tx(&state, sizing, &rtnl)?;
        drop(rtnl);
        // As netconsole: let NAPI polls that started before the device's npinfo was visible
        // finish before the dump path may poll the device; only then publish.
        rcu_cell::synchronize_rcu();
        let endpoints = tx.endpoints;
        // Nothing was published (status was not Enabled), so nothing old comes back.
        drop(self.tx.replace(Some(tx)));
        state.status = Status::Enabled;
        state.resolved = Some(endpoints);
        state.last_local_ip = Some(endpoints.ip.src());
        Ok(())
    }

    /// Resolves everything a transmit state needs and sets netpoll up (rtnl held). Every
    /// allocation happens before `Netpoll::setup`, so a failure never has a set-up netpoll to
    /// drop under rtnl.
    fn make_tx(
        &self,
        state: &TargetState,
        sizing: PoolSizing,
        rtnl: &RtnlHeld,
    ) -> Result<KBox<Tx>> {
        let cfg = state.config;
        if cfg.dev_name.is_none() {
            pr_err!("target {}: enabled: dev_name is not set\n", self.name());
            return Err(EINVAL);
        }
        let Some(remote_ip) = cfg.remote_ip else {
            pr_err!("target {}: enabled: remote_ip is not set\n", self.name());
            return Err(EINVAL);
        };
        let name = Self::dev_name(&cfg).ok_or(EINVAL)?;
        let Some(dev) = Device::by_name(rtnl, name) else {
            pr_err!(
                "target {}: enabled: device {} does not exist\n",
                self.name(),
                name
            );
            return Err(ENODEV);
        };
        if dev.is_slave(rtnl) {
            pr_err!(
                "target {}: enabled: {} is enslaved to another device\n",
                self.name(),
                name
            );
            return Err(EBUSY);
        }
        let Some(local_mac) = dev.mac() else {
            pr_err!(
                "target {}: enabled: {} is not an Ethernet device\n",
                self.name(),
                name
            );
            return Err(EINVAL);
        };
        if !dev.is_running() {
            pr_err!("target {}: enabled: {} is down\n", self.name(), name);
            return Err(errno::enetdown());
        }
        let local_ip = match cfg.local_ip.or(state.last_local_ip) {
            Some(ip) => ip,
            None => dev.source_for(remote_ip, rtnl).ok_or_else(|| {
                pr_err!(
                    "target {}: enabled: {} has no address towards {}\n",
                    self.name(),
                    name,
                    frame::IpDisplay(remote_ip)
                );
                errno::edestaddrreq()
            })?,
        };
        let Some(ip) = IpPair::from_addrs(local_ip, remote_ip) else {
            pr_err!(
                "target {}: enabled: local_ip and remote_ip differ in family\n",
                self.name()
            );
            return Err(EINVAL);
        };
        let remote_mac = cfg
            .remote_mac
            .or_else(|| dev.next_hop_mac(remote_ip, rtnl))
            .unwrap_or(BROADCAST_MAC);
        let endpoints = Endpoints {
            src_mac: local_mac,
            dst_mac: remote_mac,
            ip,
            src_port: cfg.local_port,
            dst_port: cfg.remote_port,
        };
        let mtu = dev.mtu();
        let max_payload = frame::max_udp_payload(mtu, &ip).min(wire::MAX_PACKET_SIZE);
        if max_payload < wire::MIN_PACKET_SIZE {
            pr_err!(
                "target {}: enabled: MTU {} of {} is too small\n",
                self.name(),
                mtu,
                name
            );
            return Err(EINVAL);
        }
        // Headroom as netconsole reserves it; every skb holds one whole frame.
        let headroom = dev.ll_reserved_space();
        let skb_size =
            headroom + (frame::headers_len(&ip) + max_payload) as u32 + dev.needed_tailroom();
        let level = sizing.level(max_payload);
        let pool = SkbPool::new(sizing.capacity(), skb_size)?;
        if pool.refill(level) < level {
            pr_err!(
                "target {}: enabled: cannot allocate {} skbs for its pool\n",
                self.name(),
                level
            );
            return Err(ENOMEM);
        }
        let pool = Arc::new(pool, GFP_KERNEL)?;
        // The last allocation comes before netpoll is set up: the box `np` is moved into.
        let slot = KBox::new_uninit(GFP_KERNEL)?;
        let np = Netpoll::setup(dev, rtnl).inspect_err(|e| {
            pr_err!(
                "target {}: enabled: netpoll setup on {} failed ({:?})\n",
                self.name(),
                name,
                e
            )
        })?;
        pr_info!(
            "target {}: enabled on {}: {}:{} -> {}:{} via {}\n",
            self.name(),
            name,
            frame::IpDisplay(local_ip),
            cfg.local_port,
            frame::IpDisplay(remote_ip),
            cfg.remote_port,
            frame::MacDisplay(remote_mac)
        );
        Ok(slot.write(Tx {
            np,
            pool,
            endpoints,
            headroom,
            max_payload,
            ip_id: AtomicU16::new(0),
        }))
    }

    /// Disables the target (process context). Idempotent.
    pub(crate) fn disable(&self) {
        let mut state = self.state.lock();
        if state.status != Status::Disabled {
            pr_info!("target {}: disabled\n", self.name());
        }
        // Unpublished and out of every reader's reach once `replace` returns.
        let tx = self.tx.replace(None);
        state.status = Status::Disabled;
        state.resolved = None;
        state.last_local_ip = None;
        drop(state);
        // Dropping the netpoll instance takes rtnl: outside our locks.
        drop(tx);
    }

    /// Whether the target sends through `dev` now.
    fn is_bound_to(&self, dev: Device<'_>) -> bool {
        let guard = rcu::read_lock();
        self.tx
            .read(&guard)
            .is_some_and(|tx| tx.np.dev() == dev.as_ptr())
    }

    /// Releases the netpoll instance if it is bound to `dev` (rtnl held), leaving `status`.
    /// Returns whether it was.
    fn release_dev(&self, dev: Device<'_>, rtnl: &RtnlHeld, status: Status) -> bool {
        let mut state = self.state.lock();
        if state.status != Status::Enabled {
            return false;
        }
        if !self.is_bound_to(dev) {
            return false;
        }
        let tx = self.tx.replace(None);
        if let Some(tx) = &tx {
            tx.np.cleanup_locked(rtnl);
        }
        state.status = status;
        state.resolved = None;
        drop(state);
        drop(tx);
        true
    }

    /// The device `dev` is going away: release it if it is ours and wait for a device of
    /// that name to come back (rtnl held).
    pub(crate) fn device_gone(&self, dev: Device<'_>, rtnl: &RtnlHeld) {
        if self.release_dev(dev, rtnl, Status::Deactivated) {
            pr_info!(
                "target {}: device {} went away; waiting for it to come back\n",
                self.name(),
                kernel::str::BStr::from_bytes(dev.name())
            );
        }
    }

    /// The device `dev` is being enslaved to a bond or bridge, where netpoll cannot send from
    /// it: stop, as netconsole does (rtnl held). The user enables the target again.
    pub(crate) fn device_joined(&self, dev: Device<'_>, rtnl: &RtnlHeld) {
        if self.release_dev(dev, rtnl, Status::Disabled) {
            pr_info!(
                "target {}: stopped: {} is joining a master device\n",
                self.name(),
                kernel::str::BStr::from_bytes(dev.name())
            );
        }
    }

    /// The device `dev` changed its MTU or MAC: if it is ours, bind again (in the deferred
    /// work). Returns whether work is needed.
    pub(crate) fn device_changed(&self, dev: Device<'_>) -> bool {
        let ours = self.is_bound_to(dev);
        if ours {
            self.rebind.store(true, Ordering::Release);
        }
        ours
    }

    /// Deferred work: binds again after an MTU or MAC change of the device, or resumes a
    /// target that waits for its device or an address (process context).
    pub(crate) fn retry(&self, sizing: PoolSizing) {
        if self.rebind.swap(false, Ordering::AcqRel) {
            let tx = {
                let mut state = self.state.lock();
                if state.status != Status::Enabled {
                    return;
                }
                state.status = Status::Deactivated;
                state.resolved = None;
                self.tx.replace(None)
            };
            drop(tx);
            pr_info!(
                "target {}: device changed its MTU or address; binding again\n",
                self.name()
            );
        }
        let cfg = {
            let state = self.state.lock();
            if state.status != Status::Deactivated {
                return;
            }
            state.config
        };
        let present = Self::dev_name(&cfg).is_some_and(|name| {
            let rtnl = Rtnl::lock();
            Device::by_name(&rtnl, name).is_some()
        });
        // As netconsole: a device that came back down is brought up.
        if present && self.bring_up().is_ok() && self.bind(sizing, Status::Deactivated).is_ok() {
            pr_info!("target {}: resumed\n", self.name());
        }
    }

    /// Tops up the skb pool to `sizing`'s level (process context). The pool's slots are
    /// atomic, so this runs concurrently with a dump taking skbs; the Arc keeps the pool alive
    /// if the target is disabled meanwhile. Returns whether the pool reached its level.
    pub(crate) fn refill(&self, sizing: PoolSizing) -> bool {
        let pool = {
            let guard = rcu::read_lock();
            self.tx
                .read(&guard)
                .map(|tx| (tx.pool.clone(), tx.max_payload))
        };
        match pool {
            Some((pool, max_payload)) => {
                let level = sizing.level(max_payload);
                pool.refill(level) >= level
            }
            None => true,
        }
    }

    /// The largest packet this target can send now, if it is enabled.
    pub(crate) fn max_payload(&self, guard: &rcu::Guard) -> Option<usize> {
        self.tx.read(guard).map(|tx| tx.max_payload)
    }

    /// Gives the device until `deadline` to put what it was given on the wire (a dump before
    /// the machine stops or resets). Dump path.
    pub(crate) fn settle(&self, deadline: &Deadline<'_>) {
        let guard = rcu::read_lock();
        if let Some(tx) = self.tx.read(&guard) {
            tx.np.settle(deadline);
        }
    }

    /// Sends the dump `how.plan` through this target: every packet `how.copies` times, the
    /// fact packets first, then the log packets newest first (a dump cut short keeps the
    /// crash), copy after copy. Dump path: no allocation, no lock, no sleeping; it gives up at
    /// once on a dead device and when `deadline` passes (touching the watchdogs meanwhile).
    pub(crate) fn send_dump(
        &self,
        owner: &StillOwner<'_>,
        how: &Send<'_, '_>,
        deadline: &Deadline<'_>,
    ) -> SendReport {
        let guard = rcu::read_lock();
        let count = how.out.count();
        let mut report = SendReport {
            sent: 0,
            planned: u32::from(count) * how.copies,
            outcome: Outcome::NotEnabled,
        };
        let Some(tx) = self.tx.read(&guard) else {
            return report;
        };
        report.outcome = self.send_frames(tx, owner, how, deadline, &mut report.sent);
        let errors = report.planned.saturating_sub(report.sent);
        if report.sent > 0 {
            self.counters.dumps_sent.fetch_add(1, Ordering::Relaxed);
        }
        self.counters
            .packets_sent
            .fetch_add(u64::from(report.sent), Ordering::Relaxed);
        self.counters
            .send_errors
            .fetch_add(u64::from(errors), Ordering::Relaxed);
        report
    }

    fn send_frames(
        &self,
        tx: &Tx,
        owner: &StillOwner<'_>,
        how: &Send<'_, '_>,
        deadline: &Deadline<'_>,
        sent: &mut u32,
    ) -> Outcome {
        let out = how.out;
        if out.max_len() > tx.max_payload
            || frame::max_udp_payload(tx.np.mtu(), &tx.endpoints.ip) < out.max_len()
        {
            return Outcome::MtuShrank;
        }
        let count = out.count();
        // Copies have the same IP identification (unsealed, they are identical on the wire).
        let first_id = tx.ip_id.fetch_add(count, Ordering::Relaxed);
        let mut outcome = Outcome::Complete;
        for copy in 0..how.copies {
            for i in 0..count {
                let index = out.index_at(i);
                if !owner.may_continue() {
                    return Outcome::TakenOver;
                }
                if deadline.expired() {
                    return Outcome::OutOfTime;
                }
                touch_watchdogs();
                let Some(mut skb) = tx.pool.take() else {
                    outcome = Outcome::PoolDry;
                    continue;
                };
                if !build_frame(tx, out, index, first_id.wrapping_add(index), &mut skb) {
                    tx.pool.put_back(skb);
                    continue;
                }
                if let Err(why) = tx.np.wait_ready(&mut skb, deadline, how.panicking) {
                    tx.pool.put_back(skb);
                    return match why {
                        NotReady::Dead => Outcome::DeviceDead,
                        NotReady::Busy => Outcome::Busy,
                    };
                }
                let (first, last) = (
                    copy == 0 && i == 0,
                    copy + 1 == how.copies && i + 1 == count,
                );
                let Some(skb) = test_defer(tx, how, first, last, skb) else {
                    continue;
                };
                if tx.np.send(skb) {
                    *sent += 1;
                }
                if how.gap_us > 0 {
                    deadline.delay_us(u64::from(how.gap_us));
                }
            }
        }
        outcome
    }
}

/// Test kernels' faults (`test_fault=defer-in-dump`, `defer-first-in-dump`): the `last` (or
/// `first`) frame of the first dump that is not a panic's goes to netpoll's own queue instead
/// of out (`None`); any other is handed back.
#[cfg(netoops_test_hooks)]
fn test_defer(tx: &Tx, how: &Send<'_, '_>, first: bool, last: bool, skb: Skb) -> Option<Skb> {
    use crate::dump::{DEFER_FIRST_IN_NEXT_DUMP, DEFER_IN_NEXT_DUMP};
    if how.panicking {
        return Some(skb);
    }
    if last && DEFER_IN_NEXT_DUMP.swap(false, Ordering::AcqRel) {
        pr_info!("test fault: the dump's last frame deferred to netpoll's queue\n");
    } else if first && DEFER_FIRST_IN_NEXT_DUMP.swap(false, Ordering::AcqRel) {
        pr_info!("test fault: the dump's first frame deferred to netpoll's queue\n");
    } else {
        return Some(skb);
    }
    tx.np.defer_for_test(skb);
    None
}

/// Without the test kernels' faults: every frame is handed back.
#[cfg(not(netoops_test_hooks))]
#[inline(always)]
fn test_defer(_tx: &Tx, _how: &Send<'_, '_>, _first: bool, _last: bool, skb: Skb) -> Option<Skb> {
    Some(skb)
}

/// Writes packet `index` of `plan` as a whole Ethernet frame into `skb` (a fresh one from the
/// pool). Out of line, so that encoding's temporaries are not on the stack while waiting for
/// the device. Returns false if the packet could not be written.
#[inline(never)]
fn build_frame(
    tx: &Tx,
    out: &crate::outgoing::Outgoing<'_>,
    index: u16,
    ip_id: u16,
    skb: &mut Skb,
) -> bool {
    let Some(len) = out.len(index) else {
        return false;
    };
    let hlen = frame::headers_len(&tx.endpoints.ip);
    skb.reserve(tx.headroom);
    let buf = skb.put((hlen + len) as u32);
    let written = match buf.get_mut(hlen..) {
        Some(payload) => out.write(index, payload) == Some(len),
        None => false,
    } && write_headers(buf, &tx.endpoints, len, ip_id);
    if written {
        let network = frame::ETH_HLEN as u32;
        let transport = network + tx.endpoints.ip.ip_header_len() as u32;
        let ethertype = match tx.endpoints.ip {
            IpPair::V4 { .. } => 0x0800,
            IpPair::V6 { .. } => 0x86dd,
        };
        skb.set_headers(network, transport, ethertype);
    }
    written
}

/// The Ethernet, IP and UDP headers. Out of line: beside the packet's encoding on the stack,
/// not above it.
#[inline(never)]
fn write_headers(frame_buf: &mut [u8], endpoints: &Endpoints, len: usize, ip_id: u16) -> bool {
    frame::write_headers(frame_buf, endpoints, len, ip_id).is_ok()
}

/// The registered targets, as one immutable list.
pub(crate) type TargetList = KVec<Arc<Target>>;

/// The targets: a list published through RCU for the dump path, replaced whole (in process
/// context, under `writers`) when a target is added or removed.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    writers: Mutex<()>,
    list: RcuCell<Arc<TargetList>>,
}

impl Registry {
    /// An empty registry.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            writers <- new_mutex!(()),
            list: RcuCell::empty(),
        })
    }

    /// The targets, for the dump path (as long as the read lock is held).
    pub(crate) fn read<'a>(&'a self, guard: &'a rcu::Guard) -> &'a [Arc<Target>] {
        self.list.read(guard).map_or(&[], |l| &l[..])
    }

    /// The targets now, for process-context work that may sleep (no allocation: the list is
    /// shared).
    pub(crate) fn snapshot(&self) -> Option<Arc<TargetList>> {
        let guard = rcu::read_lock();
        self.list.read(&guard).cloned()
    }

    /// Replaces the list with `f` applied to a copy of it (process context).
    fn update(&self, f: impl FnOnce(&mut TargetList) -> Result) -> Result {
        let _writer = self.writers.lock();
        let mut new = KVec::new();
        if let Some(old) = self.snapshot() {
            for t in old.iter() {
                new.push(t.clone(), GFP_KERNEL)?;
            }
        }
        f(&mut new)?;
        let new = KBox::new(Arc::new(new, GFP_KERNEL)?, GFP_KERNEL)?;
        drop(self.list.replace(Some(new)));
        Ok(())
    }

    /// Adds a target.
    pub(crate) fn add(&self, target: Arc<Target>) -> Result {
        self.update(|l| l.push(target, GFP_KERNEL).map_err(Into::into))
    }

    /// Removes a target (it keeps its own state; the caller disables it).
    pub(crate) fn remove(&self, target: &Target) {
        // Removing needs an allocation for the new list; on failure the target stays listed
        // (disabled by the caller, so the dump path skips it) rather than the list breaking.
        let _ = self.update(|l| {
            l.retain(|t| !core::ptr::eq::<Target>(&**t, target));
            Ok(())
        });
    }

    /// The packet size of the plan: the smallest any enabled target allows. One plan serves
    /// every target, so that a collector that hears several of them sees the same packets.
    pub(crate) fn plan_payload(&self, guard: &rcu::Guard) -> usize {
        self.read(guard)
            .iter()
            .filter_map(|t| t.max_payload(guard))
            .min()
            .unwrap_or(wire::MAX_PACKET_SIZE)
    }
}

/// The network errors `kernel::error::code` names only since 7.3, from their uapi numbers
/// (which every kernel has).
mod errno {
    use kernel::error::Error;

    /// No local address towards the target (yet).
    pub(super) fn edestaddrreq() -> Error {
        Error::from_errno(-(kernel::bindings::EDESTADDRREQ as i32))
    }

    /// The target's device is down.
    pub(super) fn enetdown() -> Error {
        Error::from_errno(-(kernel::bindings::ENETDOWN as i32))
    }
}
