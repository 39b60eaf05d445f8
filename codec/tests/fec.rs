//! The Reed–Solomon erasure code of `netoops_codec::fec`, checked against the
//! `reed-solomon-erasure` crate (`galois_8`): same field, same encoding matrix, same parity
//! byte for byte, and each side rebuilds data from the other's parity.

use netoops_codec::fec::gf256::{self, EXP, LOG};
use netoops_codec::fec::*;
use proptest::prelude::*;
use reed_solomon_erasure::galois_8;

// ---- GF(2^8) ----------------------------------------------------------------------------

#[test]
fn gf_tables() {
    // EXP walks all 255 nonzero elements once, then repeats; LOG inverts it.
    let mut seen = [false; 256];
    for (n, &a) in EXP.iter().enumerate().take(255) {
        assert_ne!(a, 0);
        assert!(!seen[usize::from(a)], "2^{n} repeats");
        seen[usize::from(a)] = true;
        assert_eq!(usize::from(LOG[usize::from(a)]), n);
    }
    for n in 255..512 {
        assert_eq!(EXP[n], EXP[n - 255]);
    }
    assert_eq!(EXP[0], 1);
    assert_eq!(EXP[1], 2);
    assert_eq!(
        EXP[8], 0x1D,
        "2^8 = x^4 + x^3 + x^2 + 1 with polynomial 0x11D"
    );
}

#[test]
fn gf_mul_div_match_the_crate() {
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            assert_eq!(gf256::mul(a, b), galois_8::mul(a, b), "{a} * {b}");
            assert_eq!(gf256::add(a, b), galois_8::add(a, b));
            if b != 0 {
                assert_eq!(gf256::div(a, b), galois_8::div(a, b), "{a} / {b}");
                assert_eq!(gf256::mul(gf256::div(a, b), b), a);
            }
        }
    }
}

#[test]
fn gf_inverse() {
    for a in 1..=255u8 {
        assert_eq!(gf256::mul(a, gf256::inv(a)), 1, "a = {a}");
        assert_eq!(gf256::inv(gf256::inv(a)), a);
    }
}

#[test]
fn gf_pow_matches_the_crate() {
    for a in 0..=255u8 {
        for n in [0, 1, 2, 3, 7, 8, 127, 254, 255, 256, 300, 509, 510, 1000] {
            assert_eq!(gf256::pow(a, n), galois_8::exp(a, n), "{a}^{n}");
        }
    }
}

#[test]
fn gf_field_laws_spot_checks() {
    let cs = [0u8, 1, 2, 3, 0x1D, 0x53, 0x80, 0xCA, 0xFF];
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            for &c in &cs {
                // distributivity and associativity
                assert_eq!(gf256::mul(a, b ^ c), gf256::mul(a, b) ^ gf256::mul(a, c));
                assert_eq!(
                    gf256::mul(gf256::mul(a, b), c),
                    gf256::mul(a, gf256::mul(b, c))
                );
            }
            assert_eq!(gf256::mul(a, b), gf256::mul(b, a));
        }
    }
}

#[test]
fn gf_slices() {
    let src: Vec<u8> = (0..=255u8).collect();
    for c in [0u8, 1, 2, 0x8E, 0xFF] {
        let mut dst = vec![0x5Au8; 256];
        gf256::mul_add_slice(c, &src, &mut dst);
        for (b, &d) in dst.iter().enumerate() {
            assert_eq!(d, 0x5A ^ gf256::mul(c, b as u8));
        }
        gf256::mul_slice(c, &src, &mut dst);
        for (b, &d) in dst.iter().enumerate() {
            assert_eq!(d, gf256::mul(c, b as u8));
        }
    }
}

// ---- helpers ----------------------------------------------------------------------------

/// Parity by the crate (m ≥ 1).
fn crate_parity(data: &[Vec<u8>], m: usize) -> Vec<Vec<u8>> {
    let k = data.len();
    let len = data[0].len();
    let rs = galois_8::ReedSolomon::new(k, m).unwrap();
    let mut shards: Vec<Vec<u8>> = data.to_vec();
    shards.extend((0..m).map(|_| vec![0u8; len]));
    rs.encode(&mut shards).unwrap();
    shards.split_off(k)
}

/// Parity by `encode_parity`.
fn our_parity(data: &[Vec<u8>], m: usize) -> Vec<Vec<u8>> {
    let len = data[0].len();
    let mut parity: Vec<Vec<u8>> = (0..m).map(|_| vec![0xEEu8; len]).collect();
    let d: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
    let mut p: Vec<&mut [u8]> = parity.iter_mut().map(|v| v.as_mut_slice()).collect();
    encode_parity(&d, &mut p).unwrap();
    parity
}

/// Parity by a `ParityAccumulator` fed in `order`.
fn streamed_parity(data: &[Vec<u8>], m: usize, order: &[usize]) -> Vec<Vec<u8>> {
    let len = data[0].len();
    let mut parity: Vec<Vec<u8>> = (0..m).map(|_| vec![0x11u8; len]).collect();
    let mut p: Vec<&mut [u8]> = parity.iter_mut().map(|v| v.as_mut_slice()).collect();
    let mut acc = ParityAccumulator::new(data.len(), &mut p).unwrap();
    for &i in order {
        assert!(!acc.is_complete());
        acc.add(i, &data[i]).unwrap();
        assert!(acc.has(i));
    }
    acc.finish().unwrap();
    parity
}

/// Runs `reconstruct_data` (or `reconstruct`) with the shards at `erased` wiped; returns
/// all shards afterwards.
fn our_rebuild(shards: &[Vec<u8>], k: usize, erased: &[usize], all: bool) -> Vec<Vec<u8>> {
    let mut bufs: Vec<Vec<u8>> = shards.to_vec();
    let mut present = vec![true; shards.len()];
    for &e in erased {
        present[e] = false;
        bufs[e].fill(0xA5);
    }
    let mut b: Vec<&mut [u8]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
    if all {
        reconstruct(k, &mut b, &present).unwrap();
    } else {
        reconstruct_data(k, &mut b, &present).unwrap();
    }
    bufs
}

// ---- the encoding matrix ----------------------------------------------------------------

/// The crate's encoding matrix, read out by encoding unit vectors: data shard `i` is `e_i`
/// (length k), so byte `i` of parity shard `j` is the matrix entry (k + j, i).
fn crate_matrix(k: usize, m: usize) -> Vec<Vec<u8>> {
    let data: Vec<Vec<u8>> = (0..k)
        .map(|i| {
            let mut v = vec![0u8; k];
            v[i] = 1;
            v
        })
        .collect();
    crate_parity(&data, m)
}

#[test]
fn coefficients_equal_the_crate_matrix() {
    // The coefficients depend on k only (m just bounds j), so m = 64 covers every row.
    // Every k up to 40, then a spread up to the limit (a debug build makes all 128 slow).
    let m = MAX_PARITY_SHARDS;
    let ks = (1..=40)
        .chain((41..MAX_DATA_SHARDS - 1).step_by(11))
        .chain([127, 128]);
    for k in ks {
        let matrix = crate_matrix(k, m);
        // The encoder's coefficients (read out the same way), for every k...
        let units: Vec<Vec<u8>> = (0..k)
            .map(|i| {
                let mut v = vec![0u8; k];
                v[i] = 1;
                v
            })
            .collect();
        assert_eq!(our_parity(&units, m), matrix, "k={k}");
        // ...and `coefficient` (O(k) per entry) for a selection of k.
        if k <= 16 || k % 3 == 0 || k >= MAX_DATA_SHARDS - 1 {
            for (j, row) in matrix.iter().enumerate() {
                for (i, &entry) in row.iter().enumerate() {
                    assert_eq!(coefficient(k, m, j, i), Ok(entry), "k={k} j={j} i={i}");
                }
            }
        }
    }
}

#[test]
fn largest_code() {
    let (k, m, len) = (MAX_DATA_SHARDS, MAX_PARITY_SHARDS, 97);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<Vec<u8>> = (0..k)
        .map(|_| {
            (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect()
        })
        .collect();
    let parity = our_parity(&data, m);
    assert_eq!(parity, crate_parity(&data, m));
    let all: Vec<Vec<u8>> = data.iter().chain(&parity).cloned().collect();
    // Lose the first 64 data shards, and then every other shard of the first 128.
    let erased: Vec<usize> = (0..m).collect();
    assert_eq!(our_rebuild(&all, k, &erased, true), all);
    let erased: Vec<usize> = (0..2 * m).step_by(2).collect();
    assert_eq!(our_rebuild(&all, k, &erased, false)[..k], all[..k]);
}

// ---- properties -------------------------------------------------------------------------

/// (k, m, data shards, erased shard indices (m of k + m), data feeding order).
fn code_case() -> impl Strategy<Value = (usize, usize, Vec<Vec<u8>>, Vec<usize>, Vec<usize>)> {
    (1usize..=32, 0usize..=16, 1usize..=1500).prop_flat_map(|(k, m, len)| {
        (
            Just(k),
            Just(m),
            prop::collection::vec(prop::collection::vec(any::<u8>(), len), k),
            prop::sample::subsequence((0..k + m).collect::<Vec<_>>(), m).prop_shuffle(),
            Just((0..k).collect::<Vec<_>>()).prop_shuffle(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn same_parity_as_the_crate_and_both_rebuild((k, m, data, erased, order) in code_case()) {
        let parity = our_parity(&data, m);
        prop_assert_eq!(&streamed_parity(&data, m, &order), &parity);
        if m > 0 {
            prop_assert_eq!(&parity, &crate_parity(&data, m));
        }
        let all: Vec<Vec<u8>> = data.iter().chain(&parity).cloned().collect();

        // Ours, from m erasures.
        let rebuilt = our_rebuild(&all, k, &erased, false);
        prop_assert_eq!(&rebuilt[..k], &data[..]);
        for &e in &erased {
            if e >= k {
                prop_assert!(rebuilt[e].iter().all(|&b| b == 0xA5), "parity untouched");
            }
        }
        prop_assert_eq!(&our_rebuild(&all, k, &erased, true), &all);

        // The crate's, from our parity.
        if m > 0 {
            let rs = galois_8::ReedSolomon::new(k, m).unwrap();
            let mut shards: Vec<Option<Vec<u8>>> = all.iter().cloned().map(Some).collect();
            for &e in &erased {
                shards[e] = None;
            }
            rs.reconstruct_data(&mut shards).unwrap();
            for i in 0..k {
                prop_assert_eq!(shards[i].as_ref().unwrap(), &data[i]);
            }
            prop_assert!(rs.verify(&all).unwrap());
        }

        // One erasure too many.
        if let Some(extra) = (0..k + m).find(|r| !erased.contains(r)) {
            let mut bufs = all.clone();
            let mut present = vec![true; k + m];
            for &e in erased.iter().chain([&extra]) {
                present[e] = false;
            }
            let mut b: Vec<&mut [u8]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
            prop_assert_eq!(reconstruct_data(k, &mut b, &present), Err(FecError::TooFewShards));
            prop_assert_eq!(&bufs, &all, "nothing written on error");
        }
    }

    #[test]
    fn short_data_shards_count_as_zero_padded(
        (k, m, data, _erased, order) in code_case(),
        cut in prop::collection::vec(any::<prop::sample::Index>(), 32),
    ) {
        prop_assume!(m > 0);
        let len = data[0].len();
        let short: Vec<Vec<u8>> = data
            .iter()
            .zip(&cut)
            .map(|(d, c)| d[..c.index(len + 1)].to_vec())
            .collect();
        let padded: Vec<Vec<u8>> = short
            .iter()
            .map(|d| {
                let mut v = d.clone();
                v.resize(len, 0);
                v
            })
            .collect();
        let mut parity: Vec<Vec<u8>> = (0..m).map(|_| vec![0x11u8; len]).collect();
        let mut p: Vec<&mut [u8]> = parity.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut acc = ParityAccumulator::new(k, &mut p).unwrap();
        for &i in &order {
            acc.add(i, &short[i]).unwrap();
        }
        acc.finish().unwrap();
        prop_assert_eq!(&parity, &crate_parity(&padded, m));
    }
}

// ---- misuse -----------------------------------------------------------------------------

#[test]
fn errors() {
    let mut p0 = [0u8; 4];
    let mut p1 = [0u8; 4];
    let mut p_short = [0u8; 3];

    assert_eq!(check_counts(0, 1), Err(FecError::ShardCounts));
    assert_eq!(check_counts(129, 1), Err(FecError::ShardCounts));
    assert_eq!(check_counts(128, 65), Err(FecError::ShardCounts));
    assert_eq!(check_counts(128, 64), Ok(()));
    assert_eq!(check_counts(1, 0), Ok(()));
    assert_eq!(coefficient(4, 2, 2, 0), Err(FecError::ShardIndex));
    assert_eq!(coefficient(4, 2, 0, 4), Err(FecError::ShardIndex));

    // ParityAccumulator
    assert!(matches!(
        ParityAccumulator::new(0, &mut [&mut p0[..]]),
        Err(FecError::ShardCounts)
    ));
    assert!(matches!(
        ParityAccumulator::new(2, &mut [&mut p0[..], &mut p_short[..]]),
        Err(FecError::ShardLength)
    ));
    let mut parity = [&mut p0[..], &mut p1[..]];
    let mut acc = ParityAccumulator::new(2, &mut parity).unwrap();
    assert_eq!(acc.shard_len(), 4);
    assert_eq!((acc.data_shards(), acc.parity_shards()), (2, 2));
    assert_eq!(acc.add(2, &[1]), Err(FecError::ShardIndex));
    assert_eq!(acc.add(0, &[1; 5]), Err(FecError::ShardLength));
    assert_eq!(acc.add(0, &[1, 2, 3, 4]), Ok(()));
    assert_eq!(acc.add(0, &[1, 2, 3, 4]), Err(FecError::DuplicateShard));
    assert_eq!(acc.finish(), Err(FecError::MissingDataShards));

    // m = 0: nothing to compute, indices still checked.
    let mut none: [&mut [u8]; 0] = [];
    let mut acc = ParityAccumulator::new(1, &mut none).unwrap();
    assert_eq!(acc.add(0, &[9; 100]), Ok(()));
    assert_eq!(acc.finish(), Ok(()));

    // encode_parity
    assert_eq!(
        encode_parity(&[&[1, 2, 3, 4], &[1, 2, 3]], &mut [&mut p0[..]]),
        Err(FecError::ShardLength)
    );
    assert_eq!(
        encode_parity(&[&[1, 2, 3]], &mut [&mut p0[..]]),
        Err(FecError::ShardLength)
    );
    assert_eq!(
        encode_parity(&[], &mut [&mut p0[..]]),
        Err(FecError::ShardCounts)
    );
    assert_eq!(encode_parity(&[&[7, 7]], &mut []), Ok(()));

    // reconstruct_data
    let mut a = [1u8, 2];
    let mut b = [3u8, 4];
    let mut c = [5u8];
    assert_eq!(
        reconstruct_data(3, &mut [&mut a[..], &mut b[..]], &[true, true]),
        Err(FecError::SliceCount)
    );
    assert_eq!(
        reconstruct_data(1, &mut [&mut a[..], &mut b[..]], &[true]),
        Err(FecError::SliceCount)
    );
    assert_eq!(
        reconstruct_data(1, &mut [&mut a[..], &mut c[..]], &[false, true]),
        Err(FecError::ShardLength)
    );
    assert_eq!(
        reconstruct_data(1, &mut [&mut a[..], &mut b[..]], &[false, false]),
        Err(FecError::TooFewShards)
    );
    // k = 1, m = 1: the parity shard is a copy of the data shard.
    assert_eq!(coefficient(1, 1, 0, 0), Ok(1));
    assert_eq!(
        reconstruct_data(1, &mut [&mut a[..], &mut b[..]], &[false, true]),
        Ok(())
    );
    assert_eq!(a, [3, 4]);
}
