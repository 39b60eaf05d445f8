//! netoops wire protocol codec.
//!
//! Everything lives in [`wire`], a module the kernel module compiles into its own crate
//! unchanged; this crate root only wraps it for the collector and the tests. See
//! `PROTOCOL.md` at the repository root for the byte-level specification.
//!
//! [`deflate`] is a raw DEFLATE (RFC 1951) compressor for a future compressed log mode; it
//! is not used on the wire yet.
//!
//! [`fec`] is a Reed–Solomon erasure code (parity shards) for a future forward error
//! correction mode; it is not used on the wire yet.
//!
//! [`seal`] is ChaCha20-Poly1305 authenticated encryption (RFC 8439) for a future sealed
//! packets mode; it is not used on the wire yet.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod deflate;
pub mod fec;
pub mod seal;
pub mod wire;

pub use wire::*;
