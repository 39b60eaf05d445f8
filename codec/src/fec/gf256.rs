//! Arithmetic in GF(2^8) with the reducing polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D) and
//! the generator 2: the field of the `reed-solomon-erasure` crate's `galois_8`.
//!
//! Addition and subtraction are XOR. Multiplication goes through a logarithm table (256
//! bytes) and an exponent table (512 bytes, twice the 255-element cycle so that the sum of
//! two logarithms indexes it without a reduction); both are computed at compile time.
//! Nothing here allocates or panics.

/// The reducing polynomial, x^8 + x^4 + x^3 + x^2 + 1.
pub const POLYNOMIAL: u16 = 0x11D;

/// `EXP[n] = 2^n` for `0 ≤ n < 512` (period 255).
pub static EXP: [u8; 512] = build_exp();

/// `LOG[a]` = the `n < 255` with `2^n = a`, for `a ≠ 0`; `LOG[0]` is 0 and meaningless.
pub static LOG: [u8; 256] = build_log();

const fn build_exp() -> [u8; 512] {
    let mut t = [0u8; 512];
    let mut x: u16 = 1;
    let mut n = 0;
    while n < 255 {
        t[n] = x as u8;
        t[n + 255] = x as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLYNOMIAL;
        }
        n += 1;
    }
    // 2^510 and 2^511 (= 2^0, 2^1): never reached by a sum of two logarithms (≤ 508), set
    // for completeness.
    t[510] = t[0];
    t[511] = t[1];
    t
}

const fn build_log() -> [u8; 256] {
    let exp = build_exp();
    let mut t = [0u8; 256];
    let mut n = 0;
    while n < 255 {
        t[exp[n] as usize] = n as u8;
        n += 1;
    }
    t
}

/// `a + b` (= `a - b`) in GF(2^8).
#[inline]
pub const fn add(a: u8, b: u8) -> u8 {
    a ^ b
}

/// `a · b` in GF(2^8).
#[inline]
pub fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[usize::from(LOG[usize::from(a)]) + usize::from(LOG[usize::from(b)])]
    }
}

/// The multiplicative inverse of `a`; `inv(0)` is 0 (there is none, callers never ask).
#[inline]
pub fn inv(a: u8) -> u8 {
    if a == 0 {
        0
    } else {
        EXP[255 - usize::from(LOG[usize::from(a)])]
    }
}

/// `a / b` in GF(2^8); division by 0 gives 0 (callers never divide by 0).
#[inline]
pub fn div(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[usize::from(LOG[usize::from(a)]) + 255 - usize::from(LOG[usize::from(b)])]
    }
}

/// `a^n` in GF(2^8), with `a^0 = 1` (also for `a = 0`, as in a Vandermonde matrix).
pub fn pow(a: u8, n: usize) -> u8 {
    if n == 0 {
        1
    } else if a == 0 {
        0
    } else {
        EXP[usize::from(LOG[usize::from(a)]) * (n % 255) % 255]
    }
}

/// `dst[b] ^= c · src[b]` for every byte of the shorter of the two slices.
///
/// Uses the static log/exp tables (three lookups per byte, no table on the stack).
pub fn mul_add_slice(c: u8, src: &[u8], dst: &mut [u8]) {
    match c {
        0 => {}
        1 => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d ^= *s;
            }
        }
        _ => {
            // Through the static log/exp tables, not a 256-byte product table on the stack:
            // parity is computed on the kernel's crash path, which is short of stack.
            let log_c = usize::from(LOG[usize::from(c)]);
            for (d, s) in dst.iter_mut().zip(src) {
                if *s != 0 {
                    *d ^= EXP[usize::from(LOG[usize::from(*s)]) + log_c];
                }
            }
        }
    }
}

/// `dst[b] = c · src[b]` for every byte of the shorter of the two slices.
pub fn mul_slice(c: u8, src: &[u8], dst: &mut [u8]) {
    let row = mul_row(c);
    for (d, s) in dst.iter_mut().zip(src) {
        *d = row[usize::from(*s)];
    }
}

/// `row[b] = c · b` for every byte `b`.
fn mul_row(c: u8) -> [u8; 256] {
    let mut row = [0u8; 256];
    if c != 0 {
        let lc = usize::from(LOG[usize::from(c)]);
        for (b, r) in row.iter_mut().enumerate().skip(1) {
            *r = EXP[lc + usize::from(LOG[b])];
        }
    }
    row
}
