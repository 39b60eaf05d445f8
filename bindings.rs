// SPDX-License-Identifier: GPL-2.0

//! Bindings to the kernel C APIs that `kernel::bindings` does not carry.
//!
//! `bindings_generated.rs` is written at build time by bindgen from `bindings/netoops_bindings.h`
//! against the headers and C flags of the kernel tree the module is built for (see `Kbuild`), so
//! every layout is that kernel's own. Only the thin wrappers (`kmsg_dumper.rs`, ...) use these.

#![allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    unsafe_op_in_unsafe_fn
)]

#[allow(unused_imports)]
use pin_init::MaybeZeroable;

include!("bindings_generated.rs");
