//! netoopsd, the netoops collector: receives dumps over UDP, reassembles, signs, stores and
//! ranks them; decodes capture files.
//!
//! Modules, one job each: [`receive`] binds sockets and receives datagrams in batches,
//! [`live`] reassembles dumps per sender with timeouts and limits, [`caps`] bounds what each
//! source may hold and send (allow-list, rates, bytes), [`reassembly`] is the per-dump logic
//! (shared with [`decode`]), [`packets`] holds a dump's packets in one buffer, [`keys`]
//! opens sealed packets, [`zpiece`] inflates compressed log pieces, [`signature`] turns a
//! log into a crash title, stack and bucket, [`store`] keeps reports (trait + SQLite),
//! [`listen`] runs the collector, [`query`] prints `ls`/`show`/`top`, [`bench`](mod@bench)
//! measures the collector under load ([`bench_memory`] its stages without the socket),
//! [`input`] reads capture files,
//! [`text`] and [`json`] print dumps, [`web`] serves the web view of the store (`serve`),
//! [`config`] reads `--config` files (TOML), [`metrics`] serves Prometheus metrics of
//! `listen`, [`sd_notify`] tells systemd it is ready.
// deny, not forbid: `symbolize::resolve::map` maps debug files read-only, the one allowed
// unsafe call (its SAFETY comment says why that is sound).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
pub mod bench_memory;
pub mod caps;
pub mod config;
pub mod cpu;
pub mod decode;
pub mod display;
pub mod encode;
pub mod input;
pub mod json;
pub mod keys;
pub mod listen;
pub mod live;
pub mod metrics;
pub mod packets;
pub mod priority;
pub mod query;
pub mod reassembly;
pub mod receive;
pub mod sd_notify;
pub mod signature;
pub mod store;
pub mod symbolize;
pub mod text;
pub mod web;
pub mod zpiece;
