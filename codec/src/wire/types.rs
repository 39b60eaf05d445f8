//! Value types shared by the encoder and the decoder.

use core::fmt;

/// Why the dump was taken (header byte 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// 1: the kernel oopsed (and went on running, or not).
    Oops,
    /// 2: the kernel panicked.
    Panic,
    /// 3: a soft dump requested by SysRq; the machine keeps running.
    Soft,
    /// 4: an emergency restart/halt/poweroff (`KMSG_DUMP_EMERG`).
    Emerg,
    /// Any other value: not defined by version 1; decoders keep it as it is.
    Unknown(u8),
}

impl Reason {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Reason::Oops => 1,
            Reason::Panic => 2,
            Reason::Soft => 3,
            Reason::Emerg => 4,
            Reason::Unknown(v) => v,
        }
    }

    /// The reason for a wire value (values 1 to 4 always give the named variants).
    pub const fn from_u8(v: u8) -> Self {
        match v {
            1 => Reason::Oops,
            2 => Reason::Panic,
            3 => Reason::Soft,
            4 => Reason::Emerg,
            v => Reason::Unknown(v),
        }
    }

    /// Lower-case name as used in `PROTOCOL.md` (`"unknown"` for [`Reason::Unknown`]).
    pub const fn name(self) -> &'static str {
        match self {
            Reason::Oops => "oops",
            Reason::Panic => "panic",
            Reason::Soft => "soft",
            Reason::Emerg => "emerg",
            Reason::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Unknown(v) => write!(f, "unknown({})", v),
            r => f.write_str(r.name()),
        }
    }
}

/// Packet type (header byte 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 1: a data packet: header plus records.
    Data,
    /// 2: reserved for parity packets (forward error correction). Not defined in version 1;
    /// the decoder reports such packets as unsupported.
    Parity,
    /// Any other value.
    Unknown(u8),
}

impl PacketType {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            PacketType::Data => 1,
            PacketType::Parity => 2,
            PacketType::Unknown(v) => v,
        }
    }

    /// The packet type for a wire value.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            1 => PacketType::Data,
            2 => PacketType::Parity,
            v => PacketType::Unknown(v),
        }
    }
}

/// Where the registers of a dump come from (`DUMP_INFO` byte 5 and `REGS` byte 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegsSource {
    /// 0: no registers in this dump (only valid in `DUMP_INFO`).
    None,
    /// 1: the faulting context of an oops (the `pt_regs` passed to the die path).
    Fault,
    /// 2: the CPU that called `panic()`, captured at the panic call.
    PanicCpu,
    /// 3: the CPU that handled the SysRq soft-dump request.
    SysrqCpu,
    /// Any other value.
    Unknown(u8),
}

impl RegsSource {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            RegsSource::None => 0,
            RegsSource::Fault => 1,
            RegsSource::PanicCpu => 2,
            RegsSource::SysrqCpu => 3,
            RegsSource::Unknown(v) => v,
        }
    }

    /// The source for a wire value.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => RegsSource::None,
            1 => RegsSource::Fault,
            2 => RegsSource::PanicCpu,
            3 => RegsSource::SysrqCpu,
            v => RegsSource::Unknown(v),
        }
    }

    /// Lower-case name as used in `PROTOCOL.md`.
    pub const fn name(self) -> &'static str {
        match self {
            RegsSource::None => "none",
            RegsSource::Fault => "fault",
            RegsSource::PanicCpu => "panic-cpu",
            RegsSource::SysrqCpu => "sysrq-cpu",
            RegsSource::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for RegsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegsSource::Unknown(v) => write!(f, "unknown({})", v),
            s => f.write_str(s.name()),
        }
    }
}

/// Dump-wide information, carried by the `DUMP_INFO` record first in every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DumpInfo {
    /// Length in bytes of the whole log of the dump (the sum of all `LOG_CHUNK` lengths).
    pub log_len: u32,
    /// `DUMP_FLAG_*` bits; bit 0: the log was cut to the configured size.
    pub flags: u8,
    /// Where the dump's registers come from; [`RegsSource::None`] if it has none.
    pub regs_source: RegsSource,
}

impl DumpInfo {
    /// Value length of a version-1 `DUMP_INFO` record.
    pub const WIRE_LEN: usize = 8;

    /// Whether the log was cut to the configured maximum size.
    pub const fn log_truncated(&self) -> bool {
        self.flags & super::DUMP_FLAG_LOG_TRUNCATED != 0
    }
}

/// Time of the dump (`TIME` record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Time {
    /// Nanoseconds since boot (`CLOCK_MONOTONIC`-style uptime, as `ktime_get()` gives).
    pub uptime_ns: u64,
    /// Wall clock (`CLOCK_REALTIME`): seconds since 1970-01-01T00:00:00Z.
    pub wall_sec: i64,
    /// Wall clock: nanoseconds within the second, below 1 000 000 000.
    pub wall_nsec: u32,
}

impl Time {
    /// Value length of a version-1 `TIME` record.
    pub const WIRE_LEN: usize = 20;
}

/// CPU identification (`CPU_ID` record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CpuId {
    /// CPU family (x86: the displayed family, base plus extended).
    pub family: u32,
    /// CPU model (x86: the displayed model, including the extended model bits).
    pub model: u32,
    /// CPU stepping.
    pub stepping: u32,
    /// Microcode revision.
    pub microcode: u32,
}

impl CpuId {
    /// Value length of a version-1 `CPU_ID` record.
    pub const WIRE_LEN: usize = 16;
}

/// x86_64 `struct pt_regs`, in the kernel's field order (each a u64 on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[allow(missing_docs)]
pub struct RegsX86_64 {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub bp: u64,
    pub bx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub ax: u64,
    pub cx: u64,
    pub dx: u64,
    pub si: u64,
    pub di: u64,
    pub orig_ax: u64,
    pub ip: u64,
    pub cs: u64,
    pub flags: u64,
    pub sp: u64,
    pub ss: u64,
}

impl RegsX86_64 {
    /// Architecture tag of x86_64 registers in the `REGS` record.
    pub const ARCH: u16 = 1;
    /// Number of registers.
    pub const COUNT: usize = 21;
    /// Payload length on the wire.
    pub const WIRE_LEN: usize = Self::COUNT * 8;
    /// Register names in wire (and `struct pt_regs`) order.
    pub const NAMES: [&'static str; Self::COUNT] = [
        "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si",
        "di", "orig_ax", "ip", "cs", "flags", "sp", "ss",
    ];

    /// Register `i` in wire order (0 past the last), without copying the others.
    pub const fn get(&self, i: usize) -> u64 {
        match i {
            0 => self.r15,
            1 => self.r14,
            2 => self.r13,
            3 => self.r12,
            4 => self.bp,
            5 => self.bx,
            6 => self.r11,
            7 => self.r10,
            8 => self.r9,
            9 => self.r8,
            10 => self.ax,
            11 => self.cx,
            12 => self.dx,
            13 => self.si,
            14 => self.di,
            15 => self.orig_ax,
            16 => self.ip,
            17 => self.cs,
            18 => self.flags,
            19 => self.sp,
            20 => self.ss,
            _ => 0,
        }
    }

    /// The registers in wire order.
    pub const fn to_array(&self) -> [u64; Self::COUNT] {
        [
            self.r15,
            self.r14,
            self.r13,
            self.r12,
            self.bp,
            self.bx,
            self.r11,
            self.r10,
            self.r9,
            self.r8,
            self.ax,
            self.cx,
            self.dx,
            self.si,
            self.di,
            self.orig_ax,
            self.ip,
            self.cs,
            self.flags,
            self.sp,
            self.ss,
        ]
    }

    /// Registers from an array in wire order.
    pub const fn from_array(a: [u64; Self::COUNT]) -> Self {
        let [r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss] =
            a;
        RegsX86_64 {
            r15,
            r14,
            r13,
            r12,
            bp,
            bx,
            r11,
            r10,
            r9,
            r8,
            ax,
            cx,
            dx,
            si,
            di,
            orig_ax,
            ip,
            cs,
            flags,
            sp,
            ss,
        }
    }
}

/// Architecture-specific register contents of a `REGS` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchRegs<'a> {
    /// Architecture tag 1: x86_64 `pt_regs`.
    X86_64(RegsX86_64),
    /// Any other architecture tag, with its payload as it is on the wire.
    Other {
        /// The architecture tag (never 1 when decoded).
        arch: u16,
        /// The payload after the 4-byte prefix.
        payload: &'a [u8],
    },
}

impl ArchRegs<'_> {
    /// The architecture tag.
    pub const fn arch(&self) -> u16 {
        match self {
            ArchRegs::X86_64(_) => RegsX86_64::ARCH,
            ArchRegs::Other { arch, .. } => *arch,
        }
    }

    /// Payload length on the wire.
    pub const fn payload_len(&self) -> usize {
        match self {
            ArchRegs::X86_64(_) => RegsX86_64::WIRE_LEN,
            ArchRegs::Other { payload, .. } => payload.len(),
        }
    }
}

/// A `REGS` record: registers plus where they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Regs<'a> {
    /// Where the registers come from (never [`RegsSource::None`]).
    pub source: RegsSource,
    /// The registers.
    pub regs: ArchRegs<'a>,
}
