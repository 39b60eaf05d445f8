//! netoops wire protocol codec.
//!
//! The packet format lives in [`wire`], a module the kernel module compiles into its own
//! crate unchanged, together with its building blocks, compiled the same way: [`deflate`]
//! (a raw DEFLATE compressor for version 2's log pieces), [`fec`] (the Reed–Solomon erasure
//! code of version 2's parity packets) and [`seal`] (ChaCha20-Poly1305 of RFC 8439, which
//! seals version-2 packets). This crate root only wraps them for the collector and the tests,
//! and adds `sender`, a host-side reference sender (feature `std`). See `PROTOCOL.md` at
//! the repository root for the byte-level specification.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod deflate;
pub mod fec;
pub mod seal;
#[cfg(feature = "std")]
pub mod sender;
pub mod wire;

pub use wire::*;
