// SPDX-License-Identifier: GPL-2.0

//! The configfs tree: `/sys/kernel/config/netoops/`.
//!
//! The root holds the global attributes (`boot_id`, `user_blob`, `copies`, `gap_us`,
//! `wire_version`, `fec_percent`, and the write-only `seal_key`); every
//! directory made under it with mkdir is a target with netconsole's attribute names
//! (`enabled`, `dev_name`, `local_ip`, `remote_ip`, `local_port`, `remote_port`, `local_mac`,
//! `remote_mac`) and read-only counters (`dumps_sent`, `packets_sent`, `send_errors`).
//!
//! A value that does not parse returns EINVAL with one kernel log line naming the attribute
//! and the value; changing an address, port or device of an enabled target returns EBUSY.

use crate::frame::{self, IpAddr};
use crate::netpoll_targets::{Status, Target, TargetConfig};
use crate::settings::MAX_FEC_PERCENT;
use crate::{seal_key, wire, Shared, MAX_COPIES, MAX_GAP_US};
use core::fmt::Write;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;
use kernel::configfs::{self, AttributeOperations, HasGroup};
use kernel::configfs_attrs;
// The kernel's `configfs_attrs!` before 7.3 names the module as `THIS_MODULE` where it is used
// (Kbuild's probe sets the cfg).
#[cfg(netoops_configfs_this_module)]
use crate::THIS_MODULE;
use kernel::fmt::Adapter;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::str::{kstrtobool_bytes, BStr, CString, Formatter};
use kernel::sync::Arc;

/// The subsystem root's data.
#[pin_data]
pub(crate) struct Root {
    shared: Arc<Shared>,
}

/// The configfs subsystem `netoops`.
pub(crate) fn subsystem(shared: Arc<Shared>) -> impl PinInit<configfs::Subsystem<Root>, Error> {
    let item_type = configfs_attrs! {
        container: configfs::Subsystem<Root>,
        data: Root,
        child: TargetDir,
        attributes: [
            boot_id: 0,
            user_blob: 1,
            copies: 2,
            gap_us: 3,
            test_vector: 4,
            wire_version: 5,
            fec_percent: 6,
            seal_key: 7,
        ],
    };
    // `seal_key` is write-only (mode 0200, no show). The kernel crate makes every attribute
    // 0660 with a show method, so the attribute is changed in place before registration.
    // `ItemType` has one field that is not zero-sized, an `Opaque<config_item_type>`; the
    // assertion below proves it is the whole of the type, hence at offset 0.
    const _: () = assert!(
        core::mem::size_of::<configfs::ItemType<configfs::Subsystem<Root>, Root>>()
            == core::mem::size_of::<crate::bindings::config_item_type>()
    );
    let raw = core::ptr::from_ref(item_type)
        .cast::<crate::bindings::config_item_type>()
        .cast_mut();
    // SAFETY: `raw` points to the static `config_item_type` inside `item_type` (offset 0, see
    // above), which lives for the module's life; configfs has not registered it yet (that is
    // `Subsystem::new`'s job, below), so nothing reads its attributes concurrently, and the
    // `Opaque` lets its contents be written through a shared reference.
    if !unsafe {
        crate::bindings::netoops_configfs_write_only(raw, c"seal_key".as_char_ptr().cast())
    } {
        pr_err!("seal_key: attribute not found, sealing keys cannot be set\n");
    }
    configfs::Subsystem::new(c"netoops", item_type, try_pin_init!(Root { shared }))
}

/// The value as written, without the one trailing newline `echo` adds.
fn trimmed(page: &[u8]) -> &[u8] {
    page.strip_suffix(b"\n").unwrap_or(page)
}

/// The value as written, for messages.
fn shown(page: &[u8]) -> &BStr {
    BStr::from_bytes(trimmed(page))
}

/// Logs a rejected value and returns EINVAL.
fn invalid(scope: &dyn kernel::fmt::Display, attr: &str, page: &[u8], why: &str) -> Error {
    pr_err!(
        "{}{}: invalid value \"{}\": {}\n",
        scope,
        attr,
        shown(page),
        why
    );
    EINVAL
}

/// Message prefix for global attributes (none) and for a target's ("target NAME: ").
struct Global;
impl kernel::fmt::Display for Global {
    fn fmt(&self, _f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        Ok(())
    }
}
struct OfTarget<'a>(&'a Target);
impl kernel::fmt::Display for OfTarget<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "target {}: ", Adapter(self.0.name()))
    }
}

/// Writes `args` and a newline into a configfs page.
fn show_line(page: &mut [u8; PAGE_SIZE], args: core::fmt::Arguments<'_>) -> Result<usize> {
    let mut w = Formatter::new(page);
    w.write_fmt(args)?;
    w.write_str("\n")?;
    Ok(w.bytes_written())
}

#[vtable]
impl AttributeOperations<0> for Root {
    type Data = Root;

    fn show(this: &Root, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let id = this.shared.settings.get().boot_id;
        show_line(page, format_args!("{}", frame::UuidDisplay(id)))
    }

    fn store(this: &Root, page: &[u8]) -> Result {
        let id = frame::parse_uuid(page)
            .ok_or_else(|| invalid(&Global, "boot_id", page, "expected a UUID"))?;
        this.shared.settings.update(|s| {
            s.boot_id = id;
            Ok(())
        })
    }
}

#[vtable]
impl AttributeOperations<1> for Root {
    type Data = Root;

    fn show(this: &Root, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let s = this.shared.settings.get();
        let blob = s.user_blob();
        page[..blob.len()].copy_from_slice(blob);
        Ok(blob.len())
    }

    fn store(this: &Root, page: &[u8]) -> Result {
        // The blob is binary: exactly the bytes written (write it with `echo -n` or printf).
        if page.len() > wire::MAX_USER_BLOB_LEN {
            pr_err!(
                "user_blob: {} bytes is too long (at most {})\n",
                page.len(),
                wire::MAX_USER_BLOB_LEN
            );
            return Err(EINVAL);
        }
        this.shared.settings.update(|s| {
            s.user_blob[..page.len()].copy_from_slice(page);
            s.user_blob_len = page.len();
            Ok(())
        })
    }
}

#[vtable]
impl AttributeOperations<2> for Root {
    type Data = Root;

    fn show(this: &Root, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_line(page, format_args!("{}", this.shared.settings.get().copies))
    }

    fn store(this: &Root, page: &[u8]) -> Result {
        let n = frame::parse_u32_decimal(page)
            .filter(|n| (1..=MAX_COPIES).contains(n))
            .ok_or_else(|| invalid(&Global, "copies", page, "expected 1 to 4"))?;
        this.shared.settings.update(|s| {
            s.copies = n;
            Ok(())
        })?;
        // More copies need fuller pools: fill them before the write returns.
        if !this.shared.refill_pools() {
            pr_err!("copies: cannot allocate the skbs {} copies need\n", n);
            return Err(ENOMEM);
        }
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<3> for Root {
    type Data = Root;

    fn show(this: &Root, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_line(page, format_args!("{}", this.shared.settings.get().gap_us))
    }

    fn store(this: &Root, page: &[u8]) -> Result {
        let n = frame::parse_u32_decimal(page)
            .filter(|n| *n <= MAX_GAP_US)
            .ok_or_else(|| invalid(&Global, "gap_us", page, "expected 0 to 100000"))?;
        this.shared.settings.update(|s| {
            s.gap_us = n;
            Ok(())
        })
    }
}

/// `test_vector`: writing the name of one of the codec's golden vectors (`codec/golden/NAME`)
/// sends that fixed dump once through every enabled target, so that a test can compare the
/// bytes on the wire with the golden files. Only when the module was loaded with
/// `test_vectors=1` (EPERM otherwise): on a production machine it would spend the pools.
#[vtable]
impl AttributeOperations<4> for Root {
    type Data = Root;

    fn show(_this: &Root, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = Formatter::new(page);
        for v in wire::golden::VECTORS.iter() {
            write!(w, "{} ", v.name)?;
        }
        for v in wire::golden::VECTORS_V2.iter() {
            write!(w, "{} ", v.name)?;
        }
        w.write_str("\n")?;
        Ok(w.bytes_written())
    }

    fn store(this: &Root, page: &[u8]) -> Result {
        if !this.shared.test_vectors {
            pr_err!("test_vector: not allowed: load netoops with test_vectors=1\n");
            return Err(EPERM);
        }
        let name = trimmed(page);
        if let Some(v) = wire::golden::VECTORS_V2
            .iter()
            .find(|v| v.name.as_bytes() == name)
        {
            crate::dump::send_fixed_v2(&this.shared, v)?;
        } else {
            let v = wire::golden::VECTORS
                .iter()
                .find(|v| v.name.as_bytes() == name)
                .ok_or_else(|| invalid(&Global, "test_vector", page, "not a golden vector name"))?;
            crate::dump::send_fixed(&this.shared, &v.dump, v.max_packet);
        }
        this.shared.refill_pools();
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<5> for Root {
    type Data = Root;

    fn show(this: &Root, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_line(
            page,
            format_args!("{}", this.shared.settings.get().wire_version),
        )
    }

    fn store(this: &Root, page: &[u8]) -> Result {
        let v = frame::parse_u32_decimal(page)
            .filter(|v| (1..=2).contains(v))
            .ok_or_else(|| invalid(&Global, "wire_version", page, "expected 1 or 2"))?;
        this.shared.settings.update(|s| {
            s.wire_version = v as u8;
            Ok(())
        })?;
        // Version 2 with parity may send more packets than version 1: refill.
        this.shared.refill_pools();
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<6> for Root {
    type Data = Root;

    fn show(this: &Root, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_line(
            page,
            format_args!("{}", this.shared.settings.get().fec_percent),
        )
    }

    fn store(this: &Root, page: &[u8]) -> Result {
        let n = frame::parse_u32_decimal(page)
            .filter(|n| *n <= MAX_FEC_PERCENT)
            .ok_or_else(|| invalid(&Global, "fec_percent", page, "expected 0 to 400"))?;
        this.shared.settings.update(|s| {
            s.fec_percent = n;
            Ok(())
        })?;
        if !this.shared.refill_pools() {
            pr_err!(
                "fec_percent: cannot allocate the skbs {}% parity needs\n",
                n
            );
            return Err(ENOMEM);
        }
        Ok(())
    }
}

/// `seal_key`, write-only (mode 0200, see [`subsystem`]): `KEY_ID HEX` installs a key (key id 1
/// to 255, 64 hex digits), `0` removes it. The value is never shown, not even in the error
/// line of a malformed write (which names its length only).
#[vtable]
impl AttributeOperations<7> for Root {
    type Data = Root;

    fn show(_this: &Root, _page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        // Never called: the attribute has no show method (see `subsystem`).
        Err(EACCES)
    }

    fn store(this: &Root, page: &[u8]) -> Result {
        if trimmed(page) == b"0" {
            this.shared.seal_key.clear();
            pr_info!("seal_key: removed; dumps are sent unsealed\n");
            return Ok(());
        }
        let Some((id, mut key)) = seal_key::parse(page) else {
            pr_err!(
                "seal_key: invalid value ({} bytes, not shown): expected KEY_ID (1 to 255), a space and 64 hex digits, or 0\n",
                trimmed(page).len()
            );
            return Err(EINVAL);
        };
        let installed = this.shared.seal_key.install(id, &key, None);
        seal_key::wipe(&mut key);
        installed?;
        pr_info!("seal_key: key id {} installed; dumps are sealed\n", id);
        // Sealed dumps are version 2, which may need more packets: refill.
        this.shared.refill_pools();
        Ok(())
    }
}

#[vtable]
impl configfs::GroupOperations for Root {
    type Child = TargetDir;

    fn make_group(&self, name: &CStr) -> Result<impl PinInit<configfs::Group<TargetDir>, Error>> {
        let target = Arc::pin_init(Target::new(name.to_bytes()), GFP_KERNEL)?;
        let dir = TargetDir::new(&self.shared, target)?;
        Ok(configfs::Group::new(
            CString::try_from(name)?,
            target_item_type(),
            dir,
        ))
    }
}

/// The attributes of a target directory.
fn target_item_type() -> &'static configfs::ItemType<configfs::Group<TargetDir>, TargetDir> {
    configfs_attrs! {
        container: configfs::Group<TargetDir>,
        data: TargetDir,
        attributes: [
            enabled: 0,
            dev_name: 1,
            local_ip: 2,
            remote_ip: 3,
            local_port: 4,
            remote_port: 5,
            local_mac: 6,
            remote_mac: 7,
            dumps_sent: 8,
            packets_sent: 9,
            send_errors: 10,
        ],
    }
}

/// A target directory the module made itself (a boot-time target), registered under the
/// subsystem like a mkdir-made one. Users cannot rmdir it; it goes when this is dropped.
pub(crate) struct BootDir {
    group: NonNull<kernel::bindings::config_group>,
}

// SAFETY: the group is owned by this handle and configfs; configfs serialises its use.
unsafe impl Send for BootDir {}
// SAFETY: a shared `&BootDir` gives no access to the group.
unsafe impl Sync for BootDir {}

impl BootDir {
    /// Shows `target` as directory `name` under the subsystem `subsys`.
    pub(crate) fn register(
        subsys: &configfs::Subsystem<Root>,
        shared: &Arc<Shared>,
        target: Arc<Target>,
        name: &CStr,
    ) -> Result<BootDir> {
        let group = Arc::pin_init(
            configfs::Group::new(
                CString::try_from(name)?,
                target_item_type(),
                TargetDir::new(shared, target)?,
            ),
            GFP_KERNEL,
        )?;
        // From here the group is owned by its config_item reference count, exactly as a group
        // returned from `make_group`: the item's release puts the Arc back and drops it.
        let raw = Arc::into_raw(group);
        // SAFETY: `raw` points to a live `Group<TargetDir>`.
        let cg = unsafe { <configfs::Group<TargetDir> as HasGroup<TargetDir>>::group(raw) };
        let cg = NonNull::new(cg.cast_mut()).ok_or(EINVAL)?;
        // SAFETY: `subsys` is a live, registered subsystem.
        let parent = unsafe { <configfs::Subsystem<Root> as HasGroup<Root>>::group(subsys) };
        // SAFETY: both groups are initialised; the child is not linked anywhere yet.
        let err =
            unsafe { kernel::bindings::configfs_register_group(parent.cast_mut(), cg.as_ptr()) };
        if err != 0 {
            // SAFETY: drops the only reference: the item's release frees the group.
            unsafe { kernel::bindings::config_item_put(&raw mut (*cg.as_ptr()).cg_item) };
            return Err(Error::from_errno(err));
        }
        Ok(BootDir { group: cg })
    }
}

impl Drop for BootDir {
    fn drop(&mut self) {
        let cg = self.group.as_ptr();
        // SAFETY: registered in `register`; unregistering drops configfs's link reference,
        // then putting ours releases the group (and with it the target directory).
        unsafe {
            kernel::bindings::configfs_unregister_group(cg);
            kernel::bindings::config_item_put(&raw mut (*cg).cg_item);
        }
    }
}

/// A target directory's data. Dropping it (rmdir, or unload) disables and unlists the target.
#[pin_data(PinnedDrop)]
pub(crate) struct TargetDir {
    target: Arc<Target>,
    shared: Arc<Shared>,
}

impl TargetDir {
    /// The directory of `target`, which is listed in the registry from now on.
    pub(crate) fn new(
        shared: &Arc<Shared>,
        target: Arc<Target>,
    ) -> Result<impl PinInit<Self, Error>> {
        shared.registry().add(target.clone())?;
        let shared = shared.clone();
        Ok(try_pin_init!(TargetDir { target, shared }))
    }

    /// Applies `change` to the configuration of a disabled target; EBUSY (with a message
    /// naming `attr`) while it is enabled.
    fn configure(&self, attr: &str, change: impl FnOnce(&mut TargetConfig) -> Result) -> Result {
        let mut state = self.target.state();
        if state.status != Status::Disabled {
            pr_err!(
                "{}{}: cannot change while enabled\n",
                OfTarget(&self.target),
                attr
            );
            return Err(EBUSY);
        }
        change(&mut state.config)
    }

    /// Parses an address for `attr`; the other address, if set, must be of the same family.
    fn store_ip(&self, attr: &str, page: &[u8], local: bool) -> Result {
        let who = OfTarget(&self.target);
        let value = trimmed(page);
        self.configure(attr, |cfg| {
            let other = if local { cfg.remote_ip } else { cfg.local_ip };
            let slot = if local {
                &mut cfg.local_ip
            } else {
                &mut cfg.remote_ip
            };
            if value.is_empty() {
                *slot = None;
                return Ok(());
            }
            let ip = frame::parse_ip(page)
                .ok_or_else(|| invalid(&who, attr, page, "expected an IPv4 or IPv6 address"))?;
            if ip.is_ipv6() && !cfg!(CONFIG_IPV6) {
                return Err(invalid(
                    &who,
                    attr,
                    page,
                    "this kernel has no IPv6 (CONFIG_IPV6)",
                ));
            }
            if other.is_some_and(|o| o.is_ipv6() != ip.is_ipv6()) {
                return Err(invalid(
                    &who,
                    attr,
                    page,
                    "local_ip and remote_ip must be the same family",
                ));
            }
            *slot = Some(ip);
            Ok(())
        })
    }

    fn store_port(&self, attr: &str, page: &[u8], local: bool) -> Result {
        let who = OfTarget(&self.target);
        let port = frame::parse_port(page)
            .ok_or_else(|| invalid(&who, attr, page, "expected a port 1 to 65535"))?;
        self.configure(attr, |cfg| {
            *(if local {
                &mut cfg.local_port
            } else {
                &mut cfg.remote_port
            }) = port;
            Ok(())
        })
    }
}

#[pinned_drop]
impl PinnedDrop for TargetDir {
    fn drop(self: Pin<&mut Self>) {
        self.shared.registry().remove(&self.target);
        self.target.disable();
    }
}

/// Shows an optional IP address (empty line when unset).
fn show_ip(page: &mut [u8; PAGE_SIZE], ip: Option<IpAddr>) -> Result<usize> {
    match ip {
        Some(ip) => show_line(page, format_args!("{}", frame::IpDisplay(ip))),
        None => show_line(page, format_args!("")),
    }
}

#[vtable]
impl AttributeOperations<0> for TargetDir {
    type Data = TargetDir;

    fn show(this: &TargetDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let on = this.target.state().status == Status::Enabled;
        show_line(page, format_args!("{}", u8::from(on)))
    }

    fn store(this: &TargetDir, page: &[u8]) -> Result {
        let on = kstrtobool_bytes(page)
            .map_err(|_| invalid(&OfTarget(&this.target), "enabled", page, "expected 0 or 1"))?;
        if on {
            this.target.enable(this.shared.pool_sizing())?;
            // The plan's packet size may have dropped: the other pools fill up to match.
            this.shared.refill_pools();
            Ok(())
        } else {
            this.target.disable();
            Ok(())
        }
    }
}

#[vtable]
impl AttributeOperations<1> for TargetDir {
    type Data = TargetDir;

    fn show(this: &TargetDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let name = this.target.state().config.dev_name;
        let bytes = name.as_ref().map_or(&[][..], |n| n.as_bytes());
        show_line(page, format_args!("{}", Adapter(BStr::from_bytes(bytes))))
    }

    fn store(this: &TargetDir, page: &[u8]) -> Result {
        let name = frame::parse_ifname(page).ok_or_else(|| {
            invalid(
                &OfTarget(&this.target),
                "dev_name",
                page,
                "expected an interface name",
            )
        })?;
        this.configure("dev_name", |cfg| {
            cfg.dev_name = Some(name);
            Ok(())
        })
    }
}

#[vtable]
impl AttributeOperations<2> for TargetDir {
    type Data = TargetDir;

    fn show(this: &TargetDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let state = this.target.state();
        let ip = match &state.resolved {
            Some(ep) => Some(ep.ip.src()),
            None => state.config.local_ip,
        };
        drop(state);
        show_ip(page, ip)
    }

    fn store(this: &TargetDir, page: &[u8]) -> Result {
        this.store_ip("local_ip", page, true)
    }
}

#[vtable]
impl AttributeOperations<3> for TargetDir {
    type Data = TargetDir;

    fn show(this: &TargetDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let ip = this.target.state().config.remote_ip;
        show_ip(page, ip)
    }

    fn store(this: &TargetDir, page: &[u8]) -> Result {
        this.store_ip("remote_ip", page, false)
    }
}

#[vtable]
impl AttributeOperations<4> for TargetDir {
    type Data = TargetDir;

    fn show(this: &TargetDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let port = this.target.state().config.local_port;
        show_line(page, format_args!("{}", port))
    }

    fn store(this: &TargetDir, page: &[u8]) -> Result {
        this.store_port("local_port", page, true)
    }
}

#[vtable]
impl AttributeOperations<5> for TargetDir {
    type Data = TargetDir;

    fn show(this: &TargetDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let port = this.target.state().config.remote_port;
        show_line(page, format_args!("{}", port))
    }

    fn store(this: &TargetDir, page: &[u8]) -> Result {
        this.store_port("remote_port", page, false)
    }
}

#[vtable]
impl AttributeOperations<6> for TargetDir {
    type Data = TargetDir;

    fn show(this: &TargetDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mac = this.target.state().resolved.map(|ep| ep.src_mac);
        match mac {
            Some(mac) => show_line(page, format_args!("{}", frame::MacDisplay(mac))),
            None => show_line(page, format_args!("")),
        }
    }
}

#[vtable]
impl AttributeOperations<7> for TargetDir {
    type Data = TargetDir;

    fn show(this: &TargetDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let state = this.target.state();
        let mac = match &state.resolved {
            Some(ep) => Some(ep.dst_mac),
            None => state.config.remote_mac,
        };
        drop(state);
        match mac {
            Some(mac) => show_line(page, format_args!("{}", frame::MacDisplay(mac))),
            None => show_line(page, format_args!("")),
        }
    }

    fn store(this: &TargetDir, page: &[u8]) -> Result {
        let who = OfTarget(&this.target);
        let mac = if trimmed(page).is_empty() {
            None
        } else {
            Some(frame::parse_mac(page).ok_or_else(|| {
                invalid(
                    &who,
                    "remote_mac",
                    page,
                    "expected a MAC address aa:bb:cc:dd:ee:ff",
                )
            })?)
        };
        this.configure("remote_mac", |cfg| {
            cfg.remote_mac = mac;
            Ok(())
        })
    }
}

/// A read-only counter attribute of a target.
macro_rules! counter_attribute {
    ($id:literal, $counter:ident) => {
        #[vtable]
        impl AttributeOperations<$id> for TargetDir {
            type Data = TargetDir;

            fn show(this: &TargetDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
                let n = this.target.counters.$counter.load(Ordering::Relaxed);
                show_line(page, format_args!("{}", n))
            }
        }
    };
}

counter_attribute!(8, dumps_sent);
counter_attribute!(9, packets_sent);
counter_attribute!(10, send_errors);
