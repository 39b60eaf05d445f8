// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers over network devices: the rtnl lock, device lookup and properties, local
//! address selection, next-hop MAC resolution, and the netdevice notifier.

use crate::bindings;
use crate::frame::IpAddr as Ip;
use crate::notifier;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::prelude::*;

/// Proof that the rtnl lock is held: borrowed from an [`Rtnl`] guard, or made by the notifier
/// wrapper for callbacks the kernel runs under rtnl.
pub(crate) struct RtnlHeld {
    _not_send: PhantomData<*mut ()>,
}

/// The rtnl lock, held while this guard lives.
pub(crate) struct Rtnl {
    held: RtnlHeld,
}

impl Rtnl {
    /// Takes the rtnl lock (process context; may sleep).
    pub(crate) fn lock() -> Rtnl {
        // SAFETY: plain lock acquisition; released in `drop`.
        unsafe { bindings::rtnl_lock() };
        Rtnl {
            held: RtnlHeld {
                _not_send: PhantomData,
            },
        }
    }
}

impl core::ops::Deref for Rtnl {
    type Target = RtnlHeld;
    fn deref(&self) -> &RtnlHeld {
        &self.held
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: the lock was taken in `lock`.
        unsafe { bindings::rtnl_unlock() };
    }
}

/// A network device, valid for `'a`: while the rtnl lock is held, or for the duration of a
/// notifier callback.
#[derive(Clone, Copy)]
pub(crate) struct Device<'a> {
    ptr: NonNull<bindings::net_device>,
    _life: PhantomData<&'a bindings::net_device>,
}

impl<'a> Device<'a> {
    /// Looks up a device of the initial network namespace by name.
    pub(crate) fn by_name(_rtnl: &'a RtnlHeld, name: &CStr) -> Option<Device<'a>> {
        // SAFETY: the rtnl lock is held (witnessed by `_rtnl`), as `__dev_get_by_name` requires;
        // `init_net` is the kernel's initial namespace, which lives forever; `name` is a valid
        // NUL-terminated string.
        let ptr =
            unsafe { bindings::__dev_get_by_name(&raw mut bindings::init_net, name.as_char_ptr()) };
        NonNull::new(ptr).map(|ptr| Device {
            ptr,
            _life: PhantomData,
        })
    }

    /// The raw pointer, for the wrappers that hand it to C.
    pub(crate) fn as_ptr(&self) -> *mut bindings::net_device {
        self.ptr.as_ptr()
    }

    /// The device name (without NUL).
    pub(crate) fn name(&self) -> &'a [u8] {
        // SAFETY: `self.ptr` is a live device for `'a`; its name is a NUL-terminated array of
        // `IFNAMSIZ` bytes inside it.
        let name = unsafe { CStr::from_char_ptr(bindings::netoops_dev_name(self.as_ptr())) };
        name.to_bytes()
    }

    /// The device's hardware address, if it is a 6-byte Ethernet address.
    pub(crate) fn mac(&self) -> Option<[u8; 6]> {
        // SAFETY: `self.ptr` is a live device.
        let len = unsafe { bindings::netoops_dev_addr_len(self.as_ptr()) };
        // SAFETY: `self.ptr` is a live device.
        let addr = unsafe { bindings::netoops_dev_addr(self.as_ptr()) };
        if len as usize != 6 || addr.is_null() {
            return None;
        }
        let mut mac = [0u8; 6];
        // SAFETY: `addr` points to the device's `addr_len` (6) address bytes.
        unsafe { core::ptr::copy_nonoverlapping(addr, mac.as_mut_ptr(), 6) };
        Some(mac)
    }

    /// The device MTU.
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: `self.ptr` is a live device.
        unsafe { bindings::netoops_dev_mtu(self.as_ptr()) }
    }

    /// Headroom an skb for this device needs before the Ethernet header (`LL_RESERVED_SPACE`).
    pub(crate) fn ll_reserved_space(&self) -> u32 {
        // SAFETY: `self.ptr` is a live device.
        unsafe { bindings::netoops_dev_ll_reserved_space(self.as_ptr()) }
    }

    /// Tailroom an skb for this device needs.
    pub(crate) fn needed_tailroom(&self) -> u32 {
        // SAFETY: `self.ptr` is a live device.
        unsafe { bindings::netoops_dev_needed_tailroom(self.as_ptr()) }
    }

    /// Whether the device is up.
    pub(crate) fn is_running(&self) -> bool {
        // SAFETY: `self.ptr` is a live device.
        unsafe { bindings::netif_running(self.as_ptr()) }
    }

    /// Whether the device has a carrier (link up).
    pub(crate) fn carrier_ok(&self) -> bool {
        // SAFETY: `self.ptr` is a live device.
        unsafe { bindings::netif_carrier_ok(self.as_ptr()) }
    }

    /// Whether the device is enslaved to another (bond, bridge, team), which netpoll refuses.
    pub(crate) fn is_slave(&self, _rtnl: &RtnlHeld) -> bool {
        // SAFETY: `self.ptr` is a live device and the rtnl lock is held, as required.
        !unsafe { bindings::netdev_master_upper_dev_get(self.as_ptr()) }.is_null()
    }

    /// Brings the device up.
    pub(crate) fn open(&self, _rtnl: &RtnlHeld) -> Result {
        // SAFETY: `self.ptr` is a live device and the rtnl lock is held, as `dev_open` requires.
        to_result(unsafe { bindings::dev_open(self.as_ptr(), core::ptr::null_mut()) })
    }

    /// The source address the kernel would use towards `dst` out of this device.
    pub(crate) fn source_for(&self, dst: Ip, _rtnl: &RtnlHeld) -> Option<Ip> {
        match dst {
            Ip::V4(d) => {
                // SAFETY: `self.ptr` is a live device; rtnl is held (RCU-safe lookup inside).
                let src = unsafe {
                    bindings::inet_select_addr(
                        self.as_ptr(),
                        u32::from_ne_bytes(d),
                        bindings::rt_scope_t_RT_SCOPE_UNIVERSE as i32,
                    )
                };
                (src != 0).then(|| Ip::V4(src.to_ne_bytes()))
            }
            #[cfg(not(CONFIG_IPV6))]
            Ip::V6(_) => None,
            #[cfg(CONFIG_IPV6)]
            Ip::V6(d) => {
                let daddr = in6_addr_from(d);
                let mut saddr = bindings::in6_addr::default();
                // SAFETY: `self.ptr` is a live device of `init_net`; `daddr` and `saddr` are
                // valid for the call.
                let err = unsafe {
                    bindings::ipv6_dev_get_saddr(
                        &raw mut bindings::init_net,
                        self.as_ptr(),
                        &daddr,
                        0,
                        &mut saddr,
                    )
                };
                (err == 0).then(|| Ip::V6(in6_addr_bytes(&saddr)))
            }
        }
    }

    /// The MAC of the next hop towards `dst` (the route's gateway, or `dst` itself on-link) if
    /// the neighbour table knows it (a valid entry).
    pub(crate) fn next_hop_mac(&self, dst: Ip, _rtnl: &RtnlHeld) -> Option<[u8; 6]> {
        let (table, key): (*mut bindings::neigh_table, [u8; 16]) = match dst {
            Ip::V4(d) => {
                // SAFETY: `self.ptr` is a live device; the helper does a route lookup and
                // releases the route it gets.
                let hop = unsafe {
                    bindings::netoops_ipv4_next_hop(self.as_ptr(), u32::from_ne_bytes(d))
                };
                let mut key = [0u8; 16];
                key[..4].copy_from_slice(&hop.to_ne_bytes());
                (&raw mut bindings::arp_tbl, key)
            }
            #[cfg(not(CONFIG_IPV6))]
            Ip::V6(_) => return None,
            #[cfg(CONFIG_IPV6)]
            Ip::V6(d) => {
                let daddr = in6_addr_from(d);
                let mut hop = bindings::in6_addr::default();
                // SAFETY: `self.ptr` is a live device; the helper does a route lookup and
                // releases the route it gets; `daddr` and `hop` are valid for the call.
                unsafe { bindings::netoops_ipv6_next_hop(self.as_ptr(), &daddr, &mut hop) };
                // Only the address of the IPv6 stack's neighbour table is taken here.
                (&raw mut bindings::nd_tbl, in6_addr_bytes(&hop))
            }
        };
        // SAFETY: `table` is a kernel neighbour table, `key` holds a key of its key length and
        // `self.ptr` is a live device. A non-null result carries a reference we release below.
        let n = unsafe { bindings::neigh_lookup(table, key.as_ptr().cast(), self.as_ptr()) };
        if n.is_null() {
            return None;
        }
        // SAFETY: `n` is a live neighbour we hold a reference to.
        let valid =
            u32::from(unsafe { bindings::netoops_neigh_nud_state(n) }) & bindings::NUD_VALID != 0;
        let mut ha = [0u8; 32];
        if valid {
            // SAFETY: `n` is live; `ha` is larger than any hardware address (MAX_ADDR_LEN);
            // the snapshot copies `dev->addr_len` bytes under the neighbour's seqlock.
            unsafe { bindings::neigh_ha_snapshot(ha.as_mut_ptr().cast(), n, self.as_ptr()) };
        }
        // SAFETY: releases the reference `neigh_lookup` took.
        unsafe { bindings::neigh_release(n) };
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&ha[..6]);
        (valid && mac != [0; 6]).then_some(mac)
    }
}

#[cfg(CONFIG_IPV6)]
fn in6_addr_from(b: [u8; 16]) -> bindings::in6_addr {
    let mut a = bindings::in6_addr::default();
    // Writing the byte view of the union initialises all 16 bytes.
    a.in6_u.u6_addr8 = b;
    a
}

#[cfg(CONFIG_IPV6)]
fn in6_addr_bytes(a: &bindings::in6_addr) -> [u8; 16] {
    // SAFETY: every view of the union is 16 initialised bytes.
    unsafe { a.in6_u.u6_addr8 }
}

/// Device events netoops reacts to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum DeviceEvent {
    /// A device was registered (it may be one a target waits for).
    Register,
    /// A device is going away.
    Unregister,
    /// A device was renamed.
    ChangeName,
    /// A device's MTU changed.
    ChangeMtu,
    /// A device's hardware address changed.
    ChangeAddr,
    /// A device is being enslaved to a bond, bridge or team.
    Join,
    /// A device came up, or its carrier or other state changed.
    Up,
}

/// Receives netdevice events (called with the rtnl lock held, in process context).
pub(crate) trait DeviceEvents: Sync + Send {
    /// Called for every event of interest, for any device.
    fn event(&self, event: DeviceEvent, dev: Device<'_>, rtnl: &RtnlHeld);
}

/// The netdevice notifier chain, delivering to a [`DeviceEvents`] handler `T`.
pub(crate) struct NetdevChain<T>(PhantomData<T>);

/// A registered netdevice notifier calling `T`. Registration replays REGISTER events for the
/// devices that already exist.
pub(crate) type NotifierRegistration<T> = notifier::Registration<NetdevChain<T>>;

impl<T: DeviceEvents> notifier::Chain for NetdevChain<T> {
    type Handler = T;

    unsafe fn register(nb: *mut bindings::notifier_block) -> kernel::ffi::c_int {
        // SAFETY: by the trait method's contract.
        unsafe { bindings::register_netdevice_notifier(nb) }
    }

    unsafe fn unregister(nb: *mut bindings::notifier_block) {
        // SAFETY: by the trait method's contract; this takes rtnl and waits for callbacks.
        unsafe { bindings::unregister_netdevice_notifier(nb) };
    }

    unsafe fn deliver(handler: &T, val: kernel::ffi::c_ulong, data: *mut kernel::ffi::c_void) {
        let event = match val as u32 {
            bindings::netdev_cmd_NETDEV_REGISTER => DeviceEvent::Register,
            bindings::netdev_cmd_NETDEV_UNREGISTER => DeviceEvent::Unregister,
            bindings::netdev_cmd_NETDEV_CHANGENAME => DeviceEvent::ChangeName,
            bindings::netdev_cmd_NETDEV_CHANGEMTU => DeviceEvent::ChangeMtu,
            bindings::netdev_cmd_NETDEV_CHANGEADDR => DeviceEvent::ChangeAddr,
            bindings::netdev_cmd_NETDEV_JOIN => DeviceEvent::Join,
            bindings::netdev_cmd_NETDEV_UP | bindings::netdev_cmd_NETDEV_CHANGE => DeviceEvent::Up,
            _ => return,
        };
        // SAFETY: for netdevice events `data` is a `netdev_notifier_info` naming a live device.
        let dev = unsafe { bindings::netdev_notifier_info_to_dev(data.cast()) };
        if let Some(ptr) = NonNull::new(dev) {
            // Every netdevice event is sent with the rtnl lock held.
            let held = RtnlHeld {
                _not_send: PhantomData,
            };
            handler.event(
                event,
                Device {
                    ptr,
                    _life: PhantomData,
                },
                &held,
            );
        }
    }
}

/// Receives "an address was added" events (IPv4 and IPv6), in any context: it may only
/// schedule work.
pub(crate) trait AddressEvents: Sync + Send {
    /// An address was added to some device.
    fn address_added(&self);
}

/// The IPv4 address chain (`register_inetaddr_notifier`).
pub(crate) struct Inet4Chain<T>(PhantomData<T>);
/// The IPv6 address chain (`register_inet6addr_notifier`, an atomic chain).
#[cfg(CONFIG_IPV6)]
pub(crate) struct Inet6Chain<T>(PhantomData<T>);

/// A registered IPv4 address notifier.
pub(crate) type Inet4Registration<T> = notifier::Registration<Inet4Chain<T>>;
/// A registered IPv6 address notifier.
#[cfg(CONFIG_IPV6)]
pub(crate) type Inet6Registration<T> = notifier::Registration<Inet6Chain<T>>;

impl<T: AddressEvents> notifier::Chain for Inet4Chain<T> {
    type Handler = T;

    unsafe fn register(nb: *mut bindings::notifier_block) -> kernel::ffi::c_int {
        // SAFETY: by the trait method's contract.
        unsafe { bindings::register_inetaddr_notifier(nb) }
    }

    unsafe fn unregister(nb: *mut bindings::notifier_block) {
        // SAFETY: by the trait method's contract; this waits for callbacks.
        unsafe { bindings::unregister_inetaddr_notifier(nb) };
    }

    unsafe fn deliver(handler: &T, val: kernel::ffi::c_ulong, _data: *mut kernel::ffi::c_void) {
        if val as u32 == bindings::netdev_cmd_NETDEV_UP {
            handler.address_added();
        }
    }
}

#[cfg(CONFIG_IPV6)]
impl<T: AddressEvents> notifier::Chain for Inet6Chain<T> {
    type Handler = T;

    unsafe fn register(nb: *mut bindings::notifier_block) -> kernel::ffi::c_int {
        // SAFETY: by the trait method's contract.
        unsafe { bindings::register_inet6addr_notifier(nb) }
    }

    unsafe fn unregister(nb: *mut bindings::notifier_block) {
        // SAFETY: by the trait method's contract; this waits for callbacks.
        unsafe { bindings::unregister_inet6addr_notifier(nb) };
    }

    unsafe fn deliver(handler: &T, val: kernel::ffi::c_ulong, _data: *mut kernel::ffi::c_void) {
        if val as u32 == bindings::netdev_cmd_NETDEV_UP {
            handler.address_added();
        }
    }
}
