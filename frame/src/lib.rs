//! netoops frame building and configuration text handling.
//!
//! Everything lives in [`frame`], a module the kernel module compiles into its own crate
//! unchanged (`#[path = "frame/src/frame/mod.rs"] mod frame;`); this crate root only wraps it
//! for the host tests.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod frame;

pub use frame::*;
