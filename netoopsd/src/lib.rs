//! netoopsd, the netoops collector. For now: decoding captures and packet files.
//!
//! Modules, one job each: [`input`] reads files into candidate packets, [`reassembly`]
//! groups packets into dumps, [`text`] and [`json`] print dumps, [`decode`] ties them
//! together for the `decode` subcommand.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod decode;
pub mod display;
pub mod input;
pub mod json;
pub mod live;
pub mod reassembly;
pub mod signature;
pub mod store;
pub mod text;
