// SPDX-License-Identifier: GPL-2.0

//! Targets: where dumps go.
//!
//! A [`Target`] holds what configfs sets (device, addresses, ports, MAC) and, while enabled, a
//! netpoll instance bound to the device, a pool of preallocated skbs sized for a whole dump and
//! the resolved frame addressing. The [`Registry`] lists the targets for the dump path.
//!
//! Locking: process-context changes take rtnl, then the target's state mutex, then its `tx`
//! spinlock, always in that order. The dump path takes nothing but `try_lock`s: a target whose
//! lock is held (by a CPU that may have crashed holding it) is skipped and counted, never
//! waited for.

use crate::bindings;
use crate::frame::{self, Endpoints, IfName, IpAddr, IpPair};
use crate::netdev::{Device, Rtnl, RtnlHeld};
use crate::skb_pool::{Skb, SkbPool};
use crate::wire;
use core::marker::PhantomPinned;
use core::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use kernel::new_mutex;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex, SpinLock};
use kernel::types::Opaque;

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

/// How big an enabled target's skb pool must be: a whole dump, every copy.
#[derive(Clone, Copy)]
pub(crate) struct PoolSizing {
    /// The most log bytes one dump carries.
    pub(crate) log_bytes: usize,
    /// Copies sent of every packet.
    pub(crate) copies: u32,
}

impl PoolSizing {
    /// skbs needed for one dump of at most `log_bytes` with packets of `max_payload` bytes.
    fn skbs(&self, max_payload: usize) -> usize {
        // Every packet carries the header and DUMP_INFO; log packets one LOG_CHUNK. The fact
        // records fit in at most a few packets; the margin covers them.
        const PER_PACKET_OVERHEAD: usize = 96;
        const FACT_PACKETS: usize = 4;
        let per_packet = max_payload.saturating_sub(PER_PACKET_OVERHEAD).max(1);
        let packets = self.log_bytes.div_ceil(per_packet) + FACT_PACKETS;
        packets * self.copies.max(1) as usize
    }
}

/// A netpoll instance bound to a device (thin core over `struct netpoll`).
#[pin_data(PinnedDrop)]
struct Netpoll {
    #[pin]
    np: Opaque<bindings::netpoll>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: `struct netpoll` is used through netpoll's own API, which serialises sending
// internally (it takes the device's tx lock with interrupts off); moving ownership between
// threads is fine.
unsafe impl Send for Netpoll {}
// SAFETY: see `Send`; shared access only sends.
unsafe impl Sync for Netpoll {}

impl Netpoll {
    /// Binds a new netpoll instance to `dev` (rtnl held, process context).
    fn setup(dev: Device<'_>, _rtnl: &RtnlHeld) -> Result<Pin<KBox<Netpoll>>> {
        let np = KBox::pin_init(
            pin_init!(Netpoll {
                np <- Opaque::ffi_init(|slot: *mut bindings::netpoll| {
                    // SAFETY: `slot` is valid for writes; netpoll expects a zeroed struct with
                    // the fields below set.
                    unsafe {
                        slot.write(bindings::netpoll {
                            name: c"netoops".as_char_ptr(),
                            ..Default::default()
                        })
                    };
                }),
                _pin: PhantomPinned,
            }),
            GFP_KERNEL,
        )?;
        let raw = np.np.get();
        // SAFETY: rtnl is held and `dev` is live; the reference is taken on the netpoll's own
        // tracker, which `do_netpoll_cleanup` releases, as netconsole does.
        unsafe {
            bindings::netdev_hold(dev.as_ptr(), &raw mut (*raw).dev_tracker, kernel::bindings::GFP_KERNEL)
        };
        // SAFETY: rtnl is held, `raw` is a pinned, initialised netpoll and `dev` is live.
        let err = unsafe { bindings::__netpoll_setup(raw, dev.as_ptr()) };
        if err != 0 {
            // SAFETY: releases the reference taken above (setup failed, np->dev is unset).
            unsafe { bindings::netdev_put(dev.as_ptr(), &raw mut (*raw).dev_tracker) };
            return Err(Error::from_errno(err));
        }
        Ok(np)
    }

    /// The device this instance sends through (null once cleaned up).
    fn dev(&self) -> *mut bindings::net_device {
        // SAFETY: `np` is initialised; `dev` is written only by setup and cleanup, which run
        // with exclusive access to this instance.
        unsafe { (*self.np.get()).dev }
    }

    /// Releases the device with rtnl already held (netdevice notifier context).
    fn cleanup_locked(&self, _rtnl: &RtnlHeld) {
        if !self.dev().is_null() {
            // SAFETY: set up in `setup`; rtnl is held as `do_netpoll_cleanup` requires. It
            // releases the device reference and clears `np->dev`.
            unsafe { bindings::do_netpoll_cleanup(self.np.get()) };
        }
    }

    /// Waits, at most `max_us` microseconds, polling the device, until it can take a frame at
    /// once: its transmit queue is not stopped and netpoll holds nothing back. A frame handed
    /// to netpoll otherwise goes to netpoll's own queue, which only a workqueue empties, and in
    /// a panic no workqueue runs again. Returns whether the device is ready.
    fn wait_ready(&self, max_us: u32) -> bool {
        const STEP_US: u32 = 20;
        let dev = self.dev();
        let mut waited = 0;
        loop {
            // SAFETY: `dev` is the live device of this set-up instance.
            let busy = unsafe {
                bindings::netoops_dev_tx_stopped(dev) || bindings::netoops_netpoll_txq_len(dev) > 0
            };
            if !busy {
                return true;
            }
            if waited >= max_us {
                return false;
            }
            // SAFETY: `dev` is live; polling reclaims finished transmit buffers (interrupts off).
            unsafe { bindings::netoops_netpoll_poll(dev) };
            // SAFETY: a bounded busy wait.
            unsafe { bindings::__udelay(STEP_US as usize) };
            waited += STEP_US;
        }
    }

    /// Keeps polling the device for `us` microseconds, so that it can put queued frames on the
    /// wire before the machine stops or resets.
    fn settle(&self, us: u32) {
        const STEP_US: u32 = 50;
        let dev = self.dev();
        if dev.is_null() {
            return;
        }
        let mut waited = 0;
        while waited < us {
            // SAFETY: `dev` is live; polling reclaims finished transmit buffers (interrupts off).
            unsafe { bindings::netoops_netpoll_poll(dev) };
            // SAFETY: a bounded busy wait.
            unsafe { bindings::__udelay(STEP_US as usize) };
            waited += STEP_US;
        }
    }

    /// Sends a finished frame. Callable in any context; netpoll polls the device if needed.
    /// Waits (bounded) for room on the device first, see [`Self::wait_ready`].
    fn send(&self, mut skb: Skb) -> bool {
        /// The longest wait for room on the device per frame.
        const MAX_WAIT_US: u32 = 100_000;
        let dev = self.dev();
        if dev.is_null() {
            return false;
        }
        let ready = self.wait_ready(MAX_WAIT_US);
        skb.set_dev(dev);
        // SAFETY: the instance is set up (dev non-null); netpoll consumes the skb whatever
        // the outcome.
        let ret = unsafe { bindings::netpoll_send_skb(self.np.get(), skb.into_raw()) };
        // NETDEV_TX_OK; a frame sent while the device had no room was queued by netpoll and
        // counts as an error (it may never leave a panicking machine).
        ret == 0 && ready
    }
}

#[pinned_drop]
impl PinnedDrop for Netpoll {
    fn drop(self: Pin<&mut Self>) {
        if !self.dev().is_null() {
            // SAFETY: set up in `setup` and not yet cleaned up (dev non-null); this takes rtnl
            // itself, so it is never reached with rtnl held (see `cleanup_locked`).
            unsafe { bindings::netpoll_cleanup(self.np.get()) };
        }
    }
}

/// The transmit side of an enabled target.
struct Tx {
    np: Pin<KBox<Netpoll>>,
    pool: Arc<SkbPool>,
    endpoints: Endpoints,
    headroom: u32,
    max_payload: usize,
    ip_id: AtomicU16,
}

/// Counters a target shows in configfs.
pub(crate) struct Counters {
    /// Dumps sent (at least one packet went out).
    pub(crate) dumps_sent: AtomicU64,
    /// Packets handed to the device (every copy counts).
    pub(crate) packets_sent: AtomicU64,
    /// Packets not sent: no skb left, a device error, or the target was busy.
    pub(crate) send_errors: AtomicU64,
}

/// One destination for dumps.
#[pin_data]
pub(crate) struct Target {
    name: [u8; 32],
    name_len: usize,
    #[pin]
    state: Mutex<TargetState>,
    #[pin]
    tx: SpinLock<Option<Tx>>,
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
            tx <- new_spinlock!(None),
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

    /// Enables a boot-time target; if its device does not exist yet, waits for it (the
    /// target resumes when a device of that name registers).
    pub(crate) fn enable_or_wait(&self, sizing: PoolSizing) {
        if let Err(e) = self.enable(sizing) {
            if e.to_errno() == ENODEV.to_errno() {
                self.state.lock().status = Status::Deactivated;
                pr_info!("target {}: waiting for its device to appear\n", self.name());
            }
        }
    }

    /// Enables the target: binds netpoll to its device, resolves addresses, fills the pool.
    pub(crate) fn enable(&self, sizing: PoolSizing) -> Result {
        let rtnl = Rtnl::lock();
        let mut state = self.state.lock();
        if state.status != Status::Disabled {
            pr_err!("target {}: enabled: already enabled\n", self.name());
            return Err(EINVAL);
        }
        self.bind(&mut state, sizing, &rtnl)?;
        drop(state);
        drop(rtnl);
        // As netconsole: let NAPI polls that started before the device's npinfo was visible
        // finish before we may poll.
        kernel::sync::rcu::synchronize_rcu();
        Ok(())
    }

    /// Binds to the configured device (rtnl and the state mutex held).
    fn bind(&self, state: &mut TargetState, sizing: PoolSizing, rtnl: &RtnlHeld) -> Result {
        let cfg = state.config;
        let Some(dev_name) = cfg.dev_name else {
            pr_err!("target {}: enabled: dev_name is not set\n", self.name());
            return Err(EINVAL);
        };
        let Some(remote_ip) = cfg.remote_ip else {
            pr_err!("target {}: enabled: remote_ip is not set\n", self.name());
            return Err(EINVAL);
        };
        let name = kernel::str::CStr::from_bytes_with_nul(dev_name.as_c_bytes())
            .or_else(|_| {
                kernel::str::CStr::from_bytes_until_nul(dev_name.as_c_bytes()).map_err(|_| EINVAL)
            })?;
        let Some(dev) = Device::by_name(rtnl, name) else {
            pr_err!(
                "target {}: enabled: device {} does not exist\n",
                self.name(),
                kernel::str::BStr::from_bytes(dev_name.as_bytes())
            );
            return Err(ENODEV);
        };
        if dev.is_slave(rtnl) {
            pr_err!("target {}: enabled: {} is enslaved to another device\n", self.name(), name);
            return Err(EBUSY);
        }
        let Some(local_mac) = dev.mac() else {
            pr_err!("target {}: enabled: {} is not an Ethernet device\n", self.name(), name);
            return Err(EINVAL);
        };
        if !dev.is_running() {
            pr_info!("target {}: device {} is down, bringing it up\n", self.name(), name);
            dev.open(rtnl).inspect_err(|_| {
                pr_err!("target {}: enabled: cannot bring {} up\n", self.name(), name)
            })?;
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
                EDESTADDRREQ
            })?,
        };
        let Some(ip) = IpPair::from_addrs(local_ip, remote_ip) else {
            pr_err!("target {}: enabled: local_ip and remote_ip differ in family\n", self.name());
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
        let max_payload = frame::max_udp_payload(dev.mtu(), &ip);
        if max_payload < wire::MIN_PACKET_SIZE {
            pr_err!("target {}: enabled: MTU {} of {} is too small\n", self.name(), dev.mtu(), name);
            return Err(EINVAL);
        }
        // Headroom as netconsole reserves it; every skb holds one whole frame.
        let headroom = dev.ll_reserved_space();
        let skb_size = headroom
            + (frame::headers_len(&ip) + max_payload) as u32
            + dev.needed_tailroom();
        let pool = SkbPool::new(sizing.skbs(max_payload), skb_size).inspect_err(|_| {
            pr_err!("target {}: enabled: cannot allocate the skb pool\n", self.name())
        })?;
        let np = Netpoll::setup(dev, rtnl).inspect_err(|e| {
            pr_err!(
                "target {}: enabled: netpoll setup on {} failed ({:?})\n",
                self.name(),
                name,
                e
            )
        })?;
        let pool = Arc::new(pool, GFP_KERNEL)?;
        *self.tx.lock() = Some(Tx {
            np,
            pool,
            endpoints,
            headroom,
            max_payload,
            ip_id: AtomicU16::new(0),
        });
        state.status = Status::Enabled;
        state.resolved = Some(endpoints);
        state.last_local_ip = Some(local_ip);
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
        Ok(())
    }

    /// Disables the target (process context). Idempotent.
    pub(crate) fn disable(&self) {
        let mut state = self.state.lock();
        let tx = self.tx.lock().take();
        if state.status != Status::Disabled {
            pr_info!("target {}: disabled\n", self.name());
        }
        state.status = Status::Disabled;
        state.resolved = None;
        state.last_local_ip = None;
        drop(state);
        // Dropping the netpoll instance takes rtnl: outside our locks.
        drop(tx);
    }

    /// The device `dev` is going away: release it if it is ours (rtnl held).
    pub(crate) fn device_gone(&self, dev: Device<'_>, rtnl: &RtnlHeld) {
        let mut state = self.state.lock();
        if state.status != Status::Enabled {
            return;
        }
        let mut guard = self.tx.lock();
        let ours = guard.as_ref().is_some_and(|tx| tx.np.dev() == dev.as_ptr());
        if !ours {
            return;
        }
        let tx = guard.take();
        drop(guard);
        if let Some(tx) = &tx {
            tx.np.cleanup_locked(rtnl);
        }
        state.status = Status::Deactivated;
        state.resolved = None;
        pr_info!(
            "target {}: device {} went away; waiting for it to come back\n",
            self.name(),
            kernel::str::BStr::from_bytes(dev.name())
        );
        drop(state);
        drop(tx);
    }

    /// Resumes a target whose device went away, if a device of its name exists again
    /// (process context: deferred from the device notifier, as netconsole does).
    pub(crate) fn try_resume(&self, sizing: PoolSizing) {
        if self.state.lock().status != Status::Deactivated {
            return;
        }
        let rtnl = Rtnl::lock();
        let mut state = self.state.lock();
        if state.status != Status::Deactivated {
            return;
        }
        let present = state.config.dev_name.is_some_and(|n| {
            kernel::str::CStr::from_bytes_until_nul(n.as_c_bytes())
                .ok()
                .and_then(|name| Device::by_name(&rtnl, name))
                .is_some()
        });
        if !present {
            return;
        }
        state.status = Status::Disabled;
        match self.bind(&mut state, sizing, &rtnl) {
            Ok(()) => pr_info!("target {}: resumed\n", self.name()),
            // Stay deactivated: a later registration may succeed.
            Err(_) => state.status = Status::Deactivated,
        }
        drop(state);
        drop(rtnl);
        kernel::sync::rcu::synchronize_rcu();
    }

    /// Tops up the skb pool (process context). The pool's slots are atomic, so this runs
    /// concurrently with a dump taking skbs; the Arc keeps the pool alive if the target is
    /// disabled meanwhile.
    pub(crate) fn refill(&self) {
        let pool = self.tx.lock().as_ref().map(|tx| tx.pool.clone());
        if let Some(pool) = pool {
            pool.refill();
        }
    }

    /// Gives the device `us` microseconds to put what it was given on the wire (a dump before
    /// the machine stops or resets). Dump path: try-lock only, bounded.
    pub(crate) fn settle(&self, us: u32) {
        if let Some(tx) = self.tx.try_lock() {
            if let Some(tx) = tx.as_ref() {
                tx.np.settle(us);
            }
        }
    }

    /// The largest packet this target can send, if it is enabled (dump path: try-lock only).
    pub(crate) fn max_payload(&self) -> Option<usize> {
        self.tx.try_lock().and_then(|tx| tx.as_ref().map(|tx| tx.max_payload))
    }

    /// Sends `dump` through this target, `copies` times each packet with `gap_us` between
    /// packets. Dump path: no allocation, no sleeping, no waiting. Returns packets sent.
    ///
    /// Packets are at most `max_packet` bytes (and what the device MTU allows).
    pub(crate) fn send_dump_sized(
        &self,
        dump: &wire::Dump<'_>,
        copies: u32,
        gap_us: u32,
        max_packet: usize,
    ) -> u64 {
        let Some(guard) = self.tx.try_lock() else {
            self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
            return 0;
        };
        let Some(tx) = guard.as_ref() else {
            return 0;
        };
        let plan = match wire::Packetizer::new(*dump, tx.max_payload.min(max_packet)) {
            Ok(plan) => plan,
            Err(_) => {
                self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
                return 0;
            }
        };
        let hlen = frame::headers_len(&tx.endpoints.ip);
        let network = frame::ETH_HLEN as u32;
        let transport = network + tx.endpoints.ip.ip_header_len() as u32;
        let ethertype = match tx.endpoints.ip {
            IpPair::V4 { .. } => 0x0800,
            IpPair::V6 { .. } => 0x86dd,
        };
        let mut sent = 0u64;
        let mut errors = 0u64;
        for index in 0..plan.packet_count() {
            let Ok(len) = plan.packet_len(index) else {
                errors += u64::from(copies);
                continue;
            };
            // Copies are identical on the wire, IP identification included.
            let ip_id = tx.ip_id.fetch_add(1, Ordering::Relaxed);
            for _ in 0..copies {
                let Some(mut skb) = tx.pool.take() else {
                    errors += 1;
                    continue;
                };
                skb.reserve(tx.headroom);
                let buf = skb.put((hlen + len) as u32);
                let ok = match buf.get_mut(hlen..) {
                    Some(payload) => plan.write_packet(index, payload).is_ok(),
                    None => false,
                } && frame::write_headers(buf, &tx.endpoints, len, ip_id).is_ok();
                if !ok {
                    errors += 1;
                    core::mem::forget(skb); // never free on the dump path; a leak at worst
                    continue;
                }
                skb.set_headers(network, transport, ethertype);
                if tx.np.send(skb) {
                    sent += 1;
                } else {
                    errors += 1;
                }
                if gap_us > 0 {
                    // SAFETY: a bounded busy wait (gap_us is capped by configfs).
                    unsafe { bindings::__udelay(gap_us as usize) };
                }
            }
        }
        if sent > 0 {
            self.counters.dumps_sent.fetch_add(1, Ordering::Relaxed);
        }
        self.counters.packets_sent.fetch_add(sent, Ordering::Relaxed);
        self.counters.send_errors.fetch_add(errors, Ordering::Relaxed);
        sent
    }
}

/// The targets the dump path walks.
#[pin_data]
pub(crate) struct Registry {
    #[pin]
    targets: SpinLock<KVec<Arc<Target>>>,
    /// How large enabled targets' skb pools are.
    pub(crate) sizing: PoolSizing,
}

impl Registry {
    /// An empty registry whose targets size their pools by `sizing`.
    pub(crate) fn new(sizing: PoolSizing) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            targets <- new_spinlock!(KVec::new()),
            sizing,
        })
    }

    /// Adds a target.
    pub(crate) fn add(&self, target: Arc<Target>) -> Result {
        self.targets.lock().push(target, GFP_ATOMIC)?;
        Ok(())
    }

    /// Removes a target (it keeps its own state; the caller disables it).
    pub(crate) fn remove(&self, target: &Target) {
        self.targets
            .lock()
            .retain(|t| !core::ptr::eq::<Target>(&**t, target));
    }

    /// The targets now, for process-context work that may sleep.
    pub(crate) fn snapshot(&self) -> Result<KVec<Arc<Target>>> {
        let guard = self.targets.lock();
        let mut out = KVec::with_capacity(guard.len(), GFP_ATOMIC)?;
        for t in guard.iter() {
            out.push(t.clone(), GFP_ATOMIC)?;
        }
        Ok(out)
    }

    /// Calls `f` on every target, from the dump path. Returns false if the registry was
    /// locked (by a CPU that may have crashed holding it) and nothing was done.
    pub(crate) fn try_for_each(&self, mut f: impl FnMut(&Target)) -> bool {
        match self.targets.try_lock() {
            Some(guard) => {
                guard.iter().for_each(|t| f(t));
                true
            }
            None => false,
        }
    }
}
