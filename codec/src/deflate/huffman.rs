//! Length-limited canonical Huffman codes.
//!
//! [`build_lengths`] turns symbol frequencies into code lengths of at most `max_bits`:
//! the used symbols are sorted by frequency (insertion sort, ties by symbol, so the result
//! is deterministic), optimal lengths come from the in-place algorithm of Moffat and
//! Katajainen ("In-place calculation of minimum-redundancy codes", 1995), and lengths over
//! the limit are brought back by the Kraft-sum repair of zlib/miniz (move the deepest
//! leaves up, split the deepest shorter leaf). [`assign_codes`] then gives the canonical
//! codes of RFC 1951 §3.2.2, bit-reversed for the LSB-first bit writer.
//!
//! Everything works in caller-provided arrays ([`Scratch`] lives in the workspace); the
//! functions keep well under 200 bytes of locals, never recurse, never panic.

/// Largest alphabet handled (the literal/length alphabet).
pub(super) const MAX_SYMBOLS: usize = 288;

/// Frequencies are capped to this so that `(frequency << 9) | symbol` fits a `u32` sort
/// key (block sizes keep them far below).
const FREQ_CAP: u32 = (1 << 23) - 1;

/// Sorting and tree scratch for [`build_lengths`]; all-zero is a valid value.
pub(super) struct Scratch {
    /// Sort keys, then weights, parent indices and depths (Moffat–Katajainen in place).
    key: [u32; MAX_SYMBOLS],
    /// The used symbols in order of increasing frequency.
    sym: [u16; MAX_SYMBOLS],
    /// Number of codes of each length.
    count: [u32; 16],
}

impl Scratch {
    pub(super) const ZERO: Scratch = Scratch {
        key: [0; MAX_SYMBOLS],
        sym: [0; MAX_SYMBOLS],
        count: [0; 16],
    };
}

/// Code lengths (`lens`, 0 for unused symbols) of a Huffman code for `freq`, none longer
/// than `max_bits` (1–15). Fewer than two used symbols still give two one-bit codes (the
/// "at least one bit, at least two codes" rule of zlib, which every inflater accepts): a
/// complete code either way. `lens` must be at least 2 long; symbols past `lens.len()` are
/// ignored.
pub(super) fn build_lengths(freq: &[u32], lens: &mut [u8], max_bits: u8, sc: &mut Scratch) {
    lens.fill(0);
    let max_bits = max_bits.clamp(1, 15);
    let mut m = 0usize;
    for (s, &f) in freq.iter().enumerate().take(lens.len()) {
        if f != 0 {
            if let Some(k) = sc.key.get_mut(m) {
                *k = (f.min(FREQ_CAP) << 9) | (s as u32 & 511);
                m += 1;
            }
        }
    }
    if m < 2 {
        let used = match (m, sc.key.first()) {
            (1, Some(&k)) => (k & 511) as usize,
            _ => 1,
        };
        let other = usize::from(used == 0);
        for s in [used, other] {
            if let Some(l) = lens.get_mut(s) {
                *l = 1;
            }
        }
        return;
    }
    let Some(keys) = sc.key.get_mut(..m) else {
        return;
    };
    insertion_sort(keys);
    for (k, s) in keys.iter_mut().zip(sc.sym.iter_mut()) {
        *s = (*k & 511) as u16;
        *k >>= 9;
    }
    minimum_redundancy(keys);

    // Number of codes of each length, the too-long ones counted at `max_bits`.
    let count = &mut sc.count;
    count.fill(0);
    for &depth in keys.iter() {
        let d = depth.clamp(1, u32::from(max_bits)) as usize;
        if let Some(c) = count.get_mut(d) {
            *c += 1;
        }
    }
    limit_lengths(count, usize::from(max_bits));

    // The most frequent symbols (end of the sorted list) get the shortest codes.
    let mut j = m;
    for (bits, &c) in count.iter().enumerate().skip(1) {
        for _ in 0..c {
            let Some(jj) = j.checked_sub(1) else {
                return;
            };
            j = jj;
            let s = sc.sym.get(j).map_or(usize::MAX, |&s| usize::from(s));
            if let Some(l) = lens.get_mut(s) {
                *l = bits as u8;
            }
        }
    }
}

/// Sorts ascending; at most 288 keys, so quadratic is fine and stack-free.
fn insertion_sort(keys: &mut [u32]) {
    for i in 1..keys.len() {
        let mut j = i;
        while j > 0 {
            match keys.get_mut(j - 1..=j) {
                Some([a, b]) if *a > *b => core::mem::swap(a, b),
                _ => break,
            }
            j -= 1;
        }
    }
}

#[inline]
fn get(a: &[u32], i: usize) -> u32 {
    a.get(i).copied().unwrap_or(0)
}

#[inline]
fn set(a: &mut [u32], i: usize, v: u32) {
    if let Some(x) = a.get_mut(i) {
        *x = v;
    }
}

/// Moffat–Katajainen: `a` holds weights in increasing order and gets the optimal code
/// length of each (position by position), without any other memory.
fn minimum_redundancy(a: &mut [u32]) {
    let n = a.len();
    if n < 2 {
        if let Some(x) = a.first_mut() {
            *x = 1;
        }
        return;
    }
    // Phase 1: weights of the internal nodes, left to right; a consumed node's slot gets
    // the index of its parent.
    set(a, 0, get(a, 0).saturating_add(get(a, 1)));
    let mut root = 0usize;
    let mut leaf = 2usize;
    for next in 1..n - 1 {
        if leaf >= n || get(a, root) < get(a, leaf) {
            set(a, next, get(a, root));
            set(a, root, next as u32);
            root += 1;
        } else {
            set(a, next, get(a, leaf));
            leaf += 1;
        }
        if leaf >= n || (root < next && get(a, root) < get(a, leaf)) {
            set(a, next, get(a, next).saturating_add(get(a, root)));
            set(a, root, next as u32);
            root += 1;
        } else {
            set(a, next, get(a, next).saturating_add(get(a, leaf)));
            leaf += 1;
        }
    }
    // Phase 2: depth of each internal node, from the root (n - 2) down.
    set(a, n - 2, 0);
    for next in (0..n - 2).rev() {
        let parent = get(a, next) as usize;
        set(a, next, get(a, parent).saturating_add(1));
    }
    // Phase 3: depth of each leaf, written from the right.
    let mut avail = 1usize;
    let mut used = 0usize;
    let mut depth = 0u32;
    let mut root = n - 1; // internal nodes 0..root are still to be counted
    let mut next = n; // leaves are written at next - 1, downwards
    while avail > 0 && (depth as usize) <= n {
        while root > 0 && get(a, root - 1) == depth {
            used += 1;
            root -= 1;
        }
        while avail > used && next > 0 {
            next -= 1;
            set(a, next, depth);
            avail -= 1;
        }
        avail = 2 * used;
        depth += 1;
        used = 0;
    }
}

/// Makes the length counts `count[1..=max]` satisfy Kraft's equality again after the
/// too-long codes were counted at `max`: while the code is oversubscribed, one leaf at
/// `max` goes, and the deepest shorter leaf is split into two one level down.
fn limit_lengths(count: &mut [u32; 16], max: usize) {
    let full = 1u32 << max;
    let mut total = 0u32;
    for (bits, &c) in count.iter().enumerate().take(max + 1).skip(1) {
        total = total.saturating_add(c << (max - bits));
    }
    while total > full {
        if let Some(c) = count.get_mut(max) {
            *c = c.saturating_sub(1);
        }
        let Some(bits) = (1..max)
            .rev()
            .find(|&b| count.get(b).is_some_and(|&c| c > 0))
        else {
            break;
        };
        if let Some(c) = count.get_mut(bits) {
            *c -= 1;
        }
        if let Some(c) = count.get_mut(bits + 1) {
            *c += 2;
        }
        total -= 1;
    }
}

/// The canonical codes of `lens` (RFC 1951 §3.2.2), bit-reversed; 0 for unused symbols.
pub(super) fn assign_codes(lens: &[u8], codes: &mut [u16]) {
    let mut count = [0u16; 16];
    for &l in lens {
        if let Some(c) = count.get_mut(usize::from(l)) {
            *c = c.wrapping_add(1);
        }
    }
    count[0] = 0;
    let mut next = [0u16; 16];
    let mut code = 0u16;
    for bits in 1..16 {
        let shorter = count.get(bits - 1).copied().unwrap_or(0);
        code = code.wrapping_add(shorter) << 1;
        if let Some(n) = next.get_mut(bits) {
            *n = code;
        }
    }
    for (c, &l) in codes.iter_mut().zip(lens) {
        *c = 0;
        if l == 0 {
            continue;
        }
        if let Some(nx) = next.get_mut(usize::from(l)) {
            *c = nx
                .reverse_bits()
                .checked_shr(16 - u32::from(l))
                .unwrap_or(0);
            *nx = nx.wrapping_add(1);
        }
    }
}
