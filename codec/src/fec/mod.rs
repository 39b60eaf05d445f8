//! Systematic Reed–Solomon erasure code over GF(2^8): `k` data shards and `m` parity shards,
//! all of one length `L`; any `k` of the `k + m` shards give back all the data.
//!
//! **Not used on the wire yet.** This is the building block of a future "forward error
//! correction instead of copies" mode (the PARITY packet type and the `PARITY_FOLLOWS` flag
//! that `PROTOCOL.md` reserves); nothing in protocol version 1 sends or expects parity.
//!
//! # Construction
//!
//! The code is the one of the `reed-solomon-erasure` crate (`galois_8::ReedSolomon`), byte
//! for byte, so its output can be cross-checked against a well-kept implementation (the
//! tests in `codec/tests/fec.rs` do):
//!
//! * The field is GF(2^8) with polynomial 0x11D and generator 2 ([`gf256`]).
//! * Shard `r` (`0 ≤ r < k + m`; data shards first) is given the field element `x_r = r`.
//!   The crate's encoding matrix is `V · V_top⁻¹`, with `V` the `(k+m) × k` Vandermonde
//!   matrix `V[r][c] = x_r^c` and `V_top` its first `k` rows. Row `r` of that matrix applied
//!   to the data is `p(x_r)`, where `p` is the polynomial of degree `< k` with
//!   `p(x_i) = data_i` for `i < k`. So the data rows are the identity (systematic: data
//!   shards are sent unchanged) and the entry of parity row `j`, data column `i` is the
//!   Lagrange basis polynomial of the data points evaluated at `x_{k+j}`:
//!
//!   ```text
//!   coef(j, i) = L_i(x_{k+j}) = ∏_{t<k, t≠i} (x_{k+j} − x_t) / (x_i − x_t)
//!   ```
//!
//!   ([`coefficient`]; the tests check it against the crate's matrix). No `k × k` inverse is
//!   ever formed, hence no allocation and a small, bounded stack.
//! * Every shard, data or parity, is an evaluation of the same `p`. Decoding from any `k`
//!   present shards `S` is therefore Lagrange interpolation over `S`: a missing shard `r` is
//!   `Σ_{s∈S} shard_s · ∏_{t∈S, t≠s} (x_r − x_t) / (x_s − x_t)`. That too needs no matrix
//!   inverse and no allocation: the decoder works in caller-provided buffers.
//! * Each byte position is coded independently, so a data shard shorter than `L` may be
//!   treated as zero-padded to `L` ([`ParityAccumulator::add`] does this).
//!
//! # Limits
//!
//! `1 ≤ k ≤` [`MAX_DATA_SHARDS`] (128) and `0 ≤ m ≤` [`MAX_PARITY_SHARDS`] (64), far inside
//! the field's bound `k + m ≤ 255` and small enough to keep the per-shard state on the
//! stack (a few hundred bytes). Encoding costs about `k · m · (L + 256)` table lookups;
//! decoding `e` missing shards about `k² + e · k · (L + 256)`.
//!
//! # Use
//!
//! * Sender (kernel dump path): [`ParityAccumulator`] over caller-owned parity buffers,
//!   fed one data shard at a time, in any order, as the packets are produced; or
//!   [`encode_parity`] when all data shards are at hand.
//! * Receiver (collector): [`reconstruct_data`] (or [`reconstruct`]) in place over all
//!   `k + m` shard buffers, told which ones were received.
//!
//! Like `wire/`, this directory is `core` only: no allocation, no `unsafe`, no floats, no
//! inner attributes, only relative paths, and no operation that panics on any input (every
//! misuse is a [`FecError`]), so the kernel module can include it by `#[path]` later.

pub mod gf256;

use self::gf256::{inv, mul, mul_add_slice};

/// Largest number of data shards `k` accepted.
pub const MAX_DATA_SHARDS: usize = 128;

/// Largest number of parity shards `m` accepted.
pub const MAX_PARITY_SHARDS: usize = 64;

/// Why an FEC operation was refused. Nothing is half-done on an error returned before any
/// shard was touched; see each function for what it checks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FecError {
    /// `k` is 0 or above [`MAX_DATA_SHARDS`], or `m` is above [`MAX_PARITY_SHARDS`].
    ShardCounts,
    /// The number of slices given does not match `k`, `m` or `k + m`.
    SliceCount,
    /// The shards do not all have the same length (or a data shard is longer than the
    /// parity shards, for [`ParityAccumulator::add`]).
    ShardLength,
    /// A shard index is out of range.
    ShardIndex,
    /// [`ParityAccumulator::add`] was given a data shard it already has.
    DuplicateShard,
    /// [`ParityAccumulator::finish`] was called before every data shard was added.
    MissingDataShards,
    /// Fewer than `k` shards are present: the data cannot be rebuilt.
    TooFewShards,
}

/// Checks `k` and `m` against the limits.
pub fn check_counts(k: usize, m: usize) -> Result<(), FecError> {
    if k == 0 || k > MAX_DATA_SHARDS || m > MAX_PARITY_SHARDS {
        Err(FecError::ShardCounts)
    } else {
        Ok(())
    }
}

/// The field element of shard `r`; `r < k + m ≤ 192` after [`check_counts`].
#[inline]
fn x(r: usize) -> u8 {
    r as u8
}

/// `∏_{t<k} (x_r − x_t)`: nonzero for `r ≥ k`.
fn numerator(k: usize, r: usize) -> u8 {
    let xr = x(r);
    (0..k).fold(1, |acc, t| mul(acc, xr ^ x(t)))
}

/// `∏_{t<k, t≠i} (x_i − x_t)`: nonzero.
fn denominator(k: usize, i: usize) -> u8 {
    let xi = x(i);
    (0..k)
        .filter(|&t| t != i)
        .fold(1, |acc, t| mul(acc, xi ^ x(t)))
}

/// The encoding-matrix entry of parity shard `j` (`< m`) for data shard `i` (`< k`):
/// `parity_j = Σ_i coefficient(k, j, i) · data_i`. `m` only bounds `j`.
pub fn coefficient(k: usize, m: usize, j: usize, i: usize) -> Result<u8, FecError> {
    check_counts(k, m)?;
    if j >= m || i >= k {
        return Err(FecError::ShardIndex);
    }
    let r = k + j;
    Ok(mul(
        mul(numerator(k, r), inv(x(r) ^ x(i))),
        inv(denominator(k, i)),
    ))
}

/// Streaming parity encoder over caller-owned parity buffers.
///
/// [`new`](Self::new) zeroes the `m` parity buffers; each [`add`](Self::add) of a data shard
/// XORs its contribution `coef(j, i) · data_i` into every parity buffer; once all `k` data
/// shards were added the buffers hold the parity ([`finish`](Self::finish) checks that).
/// The accumulator itself holds about 100 bytes besides the borrowed buffers; `add` uses a
/// further 256-byte table on the stack.
#[derive(Debug)]
pub struct ParityAccumulator<'p, 'b> {
    parity: Rows<'p, 'b>,
    k: usize,
    /// `∏_{t<k} (x_{k+j} − x_t)` for each parity row `j`.
    numer: [u8; MAX_PARITY_SHARDS],
    /// Bit `i` set: data shard `i` was added.
    added: [u64; MAX_DATA_SHARDS / 64],
    added_count: usize,
}

/// The parity buffers of a [`ParityAccumulator`]: separate slices, or one flat buffer of
/// `m` rows (which needs no slice table, e.g. on a small stack).
#[derive(Debug)]
enum Rows<'p, 'b> {
    Slices(&'p mut [&'b mut [u8]]),
    Flat { buf: &'p mut [u8], len: usize },
}

impl Rows<'_, '_> {
    fn count(&self) -> usize {
        match self {
            Rows::Slices(s) => s.len(),
            Rows::Flat { buf, len } => buf.len().checked_div(*len).unwrap_or(0),
        }
    }

    fn len(&self) -> usize {
        match self {
            Rows::Slices(s) => s.first().map_or(0, |p| p.len()),
            Rows::Flat { len, .. } => *len,
        }
    }

    fn row_mut(&mut self, j: usize) -> Option<&mut [u8]> {
        match self {
            Rows::Slices(s) => s.get_mut(j).map(|r| &mut **r),
            Rows::Flat { buf, len } => {
                let start = j.checked_mul(*len)?;
                buf.get_mut(start..start.checked_add(*len)?)
            }
        }
    }
}

impl<'p, 'b> ParityAccumulator<'p, 'b> {
    /// Starts encoding `k` data shards into `parity.len()` (= `m`) parity shards, which
    /// must all have the same length `L`; they are zeroed.
    ///
    /// Errors: [`FecError::ShardCounts`], [`FecError::ShardLength`] (nothing is zeroed then).
    pub fn new(k: usize, parity: &'p mut [&'b mut [u8]]) -> Result<Self, FecError> {
        check_counts(k, parity.len())?;
        let len = parity.first().map_or(0, |p| p.len());
        if parity.iter().any(|p| p.len() != len) {
            return Err(FecError::ShardLength);
        }
        Ok(Self::start(k, Rows::Slices(parity)))
    }

    /// Like [`new`](Self::new), with the `m` parity shards as consecutive rows of
    /// `shard_len` bytes in one buffer of `m · shard_len` bytes.
    ///
    /// Errors: [`FecError::ShardCounts`], [`FecError::ShardLength`] (`shard_len` 0, or the
    /// buffer not a whole number of rows).
    pub fn new_flat(k: usize, parity: &'p mut [u8], shard_len: usize) -> Result<Self, FecError> {
        if shard_len == 0 || parity.len() % shard_len != 0 {
            return Err(FecError::ShardLength);
        }
        check_counts(k, parity.len() / shard_len)?;
        Ok(Self::start(
            k,
            Rows::Flat {
                buf: parity,
                len: shard_len,
            },
        ))
    }

    fn start(k: usize, mut parity: Rows<'p, 'b>) -> Self {
        let mut numer = [0u8; MAX_PARITY_SHARDS];
        for (j, n) in numer.iter_mut().enumerate().take(parity.count()) {
            *n = numerator(k, k + j);
            if let Some(p) = parity.row_mut(j) {
                p.fill(0);
            }
        }
        ParityAccumulator {
            parity,
            k,
            numer,
            added: [0; MAX_DATA_SHARDS / 64],
            added_count: 0,
        }
    }

    /// The number of data shards `k`.
    pub fn data_shards(&self) -> usize {
        self.k
    }

    /// The number of parity shards `m`.
    pub fn parity_shards(&self) -> usize {
        self.parity.count()
    }

    /// The shard length `L` (0 when `m` is 0).
    pub fn shard_len(&self) -> usize {
        if self.parity.count() == 0 {
            0
        } else {
            self.parity.len()
        }
    }

    /// Whether data shard `i` was added.
    pub fn has(&self, i: usize) -> bool {
        self.added
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 != 0)
    }

    /// Whether all `k` data shards were added.
    pub fn is_complete(&self) -> bool {
        self.added_count == self.k
    }

    /// Adds data shard `i` (`< k`), in any order. A shard shorter than `L` counts as
    /// zero-padded to `L`. With `m = 0` only the index is checked.
    ///
    /// Errors (the parity is unchanged then): [`FecError::ShardIndex`],
    /// [`FecError::DuplicateShard`], [`FecError::ShardLength`] (longer than `L`).
    #[inline(never)]
    pub fn add(&mut self, i: usize, data: &[u8]) -> Result<(), FecError> {
        if i >= self.k {
            return Err(FecError::ShardIndex);
        }
        if self.has(i) {
            return Err(FecError::DuplicateShard);
        }
        if self.parity.count() != 0 && data.len() > self.shard_len() {
            return Err(FecError::ShardLength);
        }
        let inv_d = inv(denominator(self.k, i));
        for (j, &n) in self.numer.iter().enumerate().take(self.parity.count()) {
            let xr = x(self.k + j);
            let coef = mul(mul(n, inv(xr ^ x(i))), inv_d);
            if let Some(p) = self.parity.row_mut(j) {
                mul_add_slice(coef, data, p);
            }
        }
        if let Some(w) = self.added.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
        self.added_count += 1;
        Ok(())
    }

    /// Ends encoding: `Ok` when all `k` data shards were added (the parity buffers then
    /// hold the parity), else [`FecError::MissingDataShards`].
    pub fn finish(self) -> Result<(), FecError> {
        if self.is_complete() {
            Ok(())
        } else {
            Err(FecError::MissingDataShards)
        }
    }
}

/// Computes the `m = parity.len()` parity shards of the `k = data.len()` data shards. All
/// shards must have the same length (with `m = 0` only the data shards are compared).
///
/// Errors (nothing written then): [`FecError::ShardCounts`], [`FecError::ShardLength`].
pub fn encode_parity(data: &[&[u8]], parity: &mut [&mut [u8]]) -> Result<(), FecError> {
    let k = data.len();
    check_counts(k, parity.len())?;
    let len = data.first().map_or(0, |d| d.len());
    if data.iter().any(|d| d.len() != len) || parity.iter().any(|p| p.len() != len) {
        return Err(FecError::ShardLength);
    }
    let mut acc = ParityAccumulator::new(k, parity)?;
    for (i, d) in data.iter().enumerate() {
        acc.add(i, d)?;
    }
    acc.finish()
}

/// Rebuilds the missing data shards in place (parity shards are left as they are).
///
/// `shards` holds all `k + m` shard buffers (data `0..k`, then parity), all of one length;
/// `present[r]` tells whether buffer `r` holds the received shard `r`. On `Ok` every data
/// buffer holds its data; the buffers of missing data shards are overwritten, no other
/// buffer is written. The first `k` present shards (lowest indices) are used.
///
/// Errors (nothing written then): [`FecError::ShardCounts`] (`m = shards.len() − k`),
/// [`FecError::SliceCount`] (`present.len() ≠ shards.len()`, or fewer than `k` shards),
/// [`FecError::ShardLength`], [`FecError::TooFewShards`].
pub fn reconstruct_data(
    k: usize,
    shards: &mut [&mut [u8]],
    present: &[bool],
) -> Result<(), FecError> {
    rebuild(k, shards, present, k)
}

/// Like [`reconstruct_data`], but rebuilds the missing parity shards too, so that on `Ok`
/// every buffer holds its shard.
pub fn reconstruct(k: usize, shards: &mut [&mut [u8]], present: &[bool]) -> Result<(), FecError> {
    rebuild(k, shards, present, shards.len())
}

/// Rebuilds every missing shard `r < upto`.
fn rebuild(
    k: usize,
    shards: &mut [&mut [u8]],
    present: &[bool],
    upto: usize,
) -> Result<(), FecError> {
    let n = shards.len();
    if n < k {
        return Err(FecError::SliceCount);
    }
    check_counts(k, n - k)?;
    if present.len() != n {
        return Err(FecError::SliceCount);
    }
    let len = shards.first().map_or(0, |s| s.len());
    if shards.iter().any(|s| s.len() != len) {
        return Err(FecError::ShardLength);
    }
    if present.iter().take(upto).all(|&p| p) {
        return Ok(());
    }

    // The interpolation set S: the first k present shards.
    let mut set = [0u8; MAX_DATA_SHARDS];
    let mut found = 0;
    for (slot, (r, _)) in set
        .iter_mut()
        .zip(present.iter().enumerate().filter(|(_, &p)| p))
    {
        *slot = x(r);
        found += 1;
    }
    if found < k {
        return Err(FecError::TooFewShards);
    }
    let set = set.get(..k).unwrap_or(&[]);

    // 1 / ∏_{t∈S, t≠s} (x_s − x_t) for each s in S.
    let mut inv_d = [0u8; MAX_DATA_SHARDS];
    for (d, &xs) in inv_d.iter_mut().zip(set) {
        let prod = set
            .iter()
            .filter(|&&xt| xt != xs)
            .fold(1, |acc, &xt| mul(acc, xs ^ xt));
        *d = inv(prod);
    }

    for r in 0..upto {
        if present.get(r).copied().unwrap_or(true) {
            continue;
        }
        let xr = x(r);
        // ∏_{t∈S} (x_r − x_t): nonzero, r is not in S.
        let numer = set.iter().fold(1, |acc, &xt| mul(acc, xr ^ xt));
        if let Some(dst) = shards.get_mut(r) {
            dst.fill(0);
        }
        for (&xs, &d) in set.iter().zip(inv_d.iter()) {
            let coef = mul(mul(numer, inv(xr ^ xs)), d);
            if let Some((src, dst)) = pair(shards, usize::from(xs), r) {
                mul_add_slice(coef, src, dst);
            }
        }
    }
    Ok(())
}

/// `(&shards[src], &mut shards[dst])` for `src ≠ dst`, both in range.
fn pair<'a>(
    shards: &'a mut [&mut [u8]],
    src: usize,
    dst: usize,
) -> Option<(&'a [u8], &'a mut [u8])> {
    if src >= shards.len() || dst >= shards.len() {
        None
    } else if src < dst {
        let (lo, hi) = shards.split_at_mut(dst);
        Some((lo.get(src)?, hi.first_mut()?))
    } else if dst < src {
        let (lo, hi) = shards.split_at_mut(src);
        Some((hi.first()?, lo.get_mut(dst)?))
    } else {
        None
    }
}
