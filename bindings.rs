// SPDX-License-Identifier: GPL-2.0

//! Bindings to the kernel C APIs that `kernel::bindings` does not carry.
//!
//! `bindings_generated.rs` is written at build time by bindgen from `bindings/netoops_bindings.h`
//! against the headers and C flags of the kernel tree the module is built for (see `Kbuild`), so
//! every layout is that kernel's own. Only the thin wrappers (`kmsg_dumper.rs`, ...) use these.

// Generated code: the kernel's own allow-list for its generated bindings (`rust/uapi/lib.rs`,
// `rust/bindings/lib.rs`), including the lints the kernel enables beyond `clippy::all`.
#![allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    clippy::all,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks,
    improper_ctypes,
    unsafe_op_in_unsafe_fn
)]
// A lint rustc knows only since 1.88 (Debian's kernel is built with 1.85.1), as the kernel's
// own bindings allow it.
#![cfg_attr(CONFIG_RUSTC_HAS_UNNECESSARY_TRANSMUTES, allow(unnecessary_transmutes))]

#[allow(unused_imports)]
use pin_init::MaybeZeroable;

// The kernel's bindgen_parameters block these so that they map to Rust's own types, as
// `kernel::bindings` maps them.
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;

include!("bindings_generated.rs");
