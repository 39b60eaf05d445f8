//! ChaCha20-Poly1305 (`netoops_codec::seal`): every applicable test vector of RFC 8439
//! (sections 2.1.1, 2.2.1, 2.3.2, 2.4.2, 2.5.2, 2.6.2, 2.8.2 and appendices A.1 to A.5),
//! and a property test against the RustCrypto `chacha20poly1305` crate.

use netoops_codec::seal::{
    self, chacha20, open_in_place, poly1305::poly1305, poly1305_key_gen, seal_in_place, Key,
    Poly1305, SealError,
};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().expect("hex of the right length")
}

/// Key 00 01 02 … 1f, used by sections 2.3.2 and 2.4.2.
fn key_00_1f() -> [u8; 32] {
    core::array::from_fn(|i| i as u8)
}

// ---------------------------------------------------------------------------------------
// Long texts (from the RFC; the same bytes appear in several vectors).

const AEAD282_PT: &str = concat!(
    "4c616469657320616e642047656e746c656d656e206f662074686520636c6173",
    "73206f66202739393a204966204920636f756c64206f6666657220796f75206f",
    "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73",
    "637265656e20776f756c642062652069742e",
);

const AEAD282_CT: &str = concat!(
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6",
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36",
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc",
    "3ff4def08e4b7a9de576d26586cec64b61161ae10b594f09e26a7e902ecbd060",
    "0691",
);

const A5_PT: &str = concat!(
    "496e7465726e65742d4472616674732061726520647261667420646f63756d65",
    "6e74732076616c696420666f722061206d6178696d756d206f6620736978206d",
    "6f6e74687320616e64206d617920626520757064617465642c207265706c6163",
    "65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65",
    "6e747320617420616e792074696d652e20497420697320696e617070726f7072",
    "6961746520746f2075736520496e7465726e65742d4472616674732061732072",
    "65666572656e6365206d6174657269616c206f7220746f206369746520746865",
    "6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67",
    "726573732e2fe2809d",
);

const A5_CT: &str = concat!(
    "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2",
    "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf",
    "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855",
    "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4",
    "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e",
    "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a",
    "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10",
    "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29",
    "a6ad5cb4022b02709beead9d67890cbb22392336fea1851f38",
);

const IETF_TEXT: &str = concat!(
    "416e79207375626d697373696f6e20746f20746865204945544620696e74656e",
    "6465642062792074686520436f6e7472696275746f7220666f72207075626c69",
    "636174696f6e20617320616c6c206f722070617274206f6620616e2049455446",
    "20496e7465726e65742d4472616674206f722052464320616e6420616e792073",
    "746174656d656e74206d6164652077697468696e2074686520636f6e74657874",
    "206f6620616e204945544620616374697669747920697320636f6e7369646572",
    "656420616e20224945544620436f6e747269627574696f6e222e205375636820",
    "73746174656d656e747320696e636c756465206f72616c2073746174656d656e",
    "747320696e20494554462073657373696f6e732c2061732077656c6c20617320",
    "7772697474656e20616e6420656c656374726f6e696320636f6d6d756e696361",
    "74696f6e73206d61646520617420616e792074696d65206f7220706c6163652c",
    "207768696368206172652061646472657373656420746f",
);

const A2_2_CT: &str = concat!(
    "a3fbf07df3fa2fde4f376ca23e82737041605d9f4f4f57bd8cff2c1d4b7955ec",
    "2a97948bd3722915c8f3d337f7d370050e9e96d647b7c39f56e031ca5eb6250d",
    "4042e02785ececfa4b4bb5e8ead0440e20b6e8db09d881a7c6132f420e527950",
    "42bdfa7773d8a9051447b3291ce1411c680465552aa6c405b7764d5e87bea85a",
    "d00f8449ed8f72d0d662ab052691ca66424bc86d2df80ea41f43abf937d3259d",
    "c4b2d0dfb48a6c9139ddd7f76966e928e635553ba76c5c879d7b35d49eb2e62b",
    "0871cdac638939e25e8a1e0ef9d5280fa8ca328b351c3c765989cbcf3daa8b6c",
    "cc3aaf9f3979c92b3720fc88dc95ed84a1be059c6499b9fda236e7e818b04b0b",
    "c39c1e876b193bfe5569753f88128cc08aaa9b63d1a16f80ef2554d7189c411f",
    "5869ca52c5b83fa36ff216b9c1d30062bebcfd2dc5bce0911934fda79a86f6e6",
    "98ced759c3ff9b6477338f3da4f9cd8514ea9982ccafb341b2384dd902f3d1ab",
    "7ac61dd29c6f21ba5b862f3730e37cfdc4fd806c22f221",
);

const JABBERWOCKY: &str = concat!(
    "2754776173206272696c6c69672c20616e642074686520736c6974687920746f",
    "7665730a446964206779726520616e642067696d626c6520696e207468652077",
    "6162653a0a416c6c206d696d737920776572652074686520626f726f676f7665",
    "732c0a416e6420746865206d6f6d65207261746873206f757467726162652e",
);

const A2_3_CT: &str = concat!(
    "62e6347f95ed87a45ffae7426f27a1df5fb69110044c0d73118effa95b01e5cf",
    "166d3df2d721caf9b21e5fb14c616871fd84c54f9d65b283196c7fe4f60553eb",
    "f39c6402c42234e32a356b3e764312a61a5532055716ead6962568f87d3f3f77",
    "04c6a8d1bcd1bf4d50d6154b6da731b187b58dfd728afa36757a797ac188d1",
);

const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

// ---------------------------------------------------------------------------------------
// 2.1.1 and 2.2.1: the quarter round.

#[test]
fn rfc_2_1_1_quarter_round() {
    let out = chacha20::quarter_round(0x1111_1111, 0x0102_0304, 0x9b8d_6f43, 0x0123_4567);
    assert_eq!(out, (0xea2a_92f4, 0xcb1c_f8ce, 0x4581_472e, 0x5881_c4bb));
}

#[test]
fn rfc_2_2_1_quarter_round_on_state() {
    let mut s: [u32; 16] = [
        0x8795_31e0,
        0xc5ec_f37d,
        0x5164_61b1,
        0xc9a6_2f8a,
        0x44c2_0ef3,
        0x3390_af7f,
        0xd9fc_690b,
        0x2a5f_714c,
        0x5337_2767,
        0xb00a_5631,
        0x974c_541a,
        0x359e_9963,
        0x5c97_1061,
        0x3d63_1689,
        0x2098_d9d6,
        0x91db_d320,
    ];
    let (a, b, c, d) = chacha20::quarter_round(s[2], s[7], s[8], s[13]);
    (s[2], s[7], s[8], s[13]) = (a, b, c, d);
    let want: [u32; 16] = [
        0x8795_31e0,
        0xc5ec_f37d,
        0xbdb8_86dc,
        0xc9a6_2f8a,
        0x44c2_0ef3,
        0x3390_af7f,
        0xd9fc_690b,
        0xcfac_afd2,
        0xe46b_ea80,
        0xb00a_5631,
        0x974c_541a,
        0x359e_9963,
        0x5c97_1061,
        0xccc0_7c79,
        0x2098_d9d6,
        0x91db_d320,
    ];
    assert_eq!(s, want);
}

// ---------------------------------------------------------------------------------------
// 2.3.2 and A.1: the block function.

#[test]
fn rfc_2_3_2_block_function() {
    let nonce = arr::<12>("000000090000004a00000000");
    let want = hex(concat!(
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e",
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e",
    ));
    assert_eq!(chacha20::block(&key_00_1f(), 1, &nonce).to_vec(), want);
}

#[test]
fn rfc_a_1_block_vectors() {
    // (key, nonce, counter, keystream block)
    let vectors: [(&str, &str, u32, &str); 5] = [
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000",
            0,
            concat!(
                "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7",
                "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
            ),
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000",
            1,
            concat!(
                "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed",
                "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f",
            ),
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000001",
            "000000000000000000000000",
            1,
            concat!(
                "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a",
                "8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0",
            ),
        ),
        (
            "00ff000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000",
            2,
            concat!(
                "72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca",
                "13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096",
            ),
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000002",
            0,
            concat!(
                "c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c7",
                "8a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d",
            ),
        ),
    ];
    for (i, (key, nonce, counter, want)) in vectors.iter().enumerate() {
        let got = chacha20::block(&arr(key), *counter, &arr(nonce));
        assert_eq!(got.to_vec(), hex(want), "A.1 test vector #{}", i + 1);
    }
}

// ---------------------------------------------------------------------------------------
// 2.4.2 and A.2: encryption.

#[test]
fn rfc_2_4_2_encryption() {
    let nonce = arr::<12>("000000000000004a00000000");
    let want = hex(concat!(
        "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b",
        "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8",
        "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736",
        "5af90bbf74a35be6b40b8eedf2785e42874d",
    ));
    let mut buf = SUNSCREEN.to_vec();
    chacha20::apply_keystream(&key_00_1f(), 1, &nonce, &mut buf).unwrap();
    assert_eq!(buf, want);
    chacha20::apply_keystream(&key_00_1f(), 1, &nonce, &mut buf).unwrap();
    assert_eq!(buf, SUNSCREEN);
}

#[test]
fn rfc_a_2_encryption_vectors() {
    // (key, nonce, counter, plaintext, ciphertext)
    let zeros64 = "00".repeat(64);
    let vectors: [(&str, &str, u32, &str, &str); 3] = [
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000",
            0,
            &zeros64,
            concat!(
                "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7",
                "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
            ),
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000001",
            "000000000000000000000002",
            1,
            IETF_TEXT,
            A2_2_CT,
        ),
        (
            "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
            "000000000000000000000002",
            42,
            JABBERWOCKY,
            A2_3_CT,
        ),
    ];
    for (i, (key, nonce, counter, pt, ct)) in vectors.iter().enumerate() {
        let mut buf = hex(pt);
        chacha20::apply_keystream(&arr(key), *counter, &arr(nonce), &mut buf).unwrap();
        assert_eq!(buf, hex(ct), "A.2 test vector #{} encrypt", i + 1);
        chacha20::apply_keystream(&arr(key), *counter, &arr(nonce), &mut buf).unwrap();
        assert_eq!(buf, hex(pt), "A.2 test vector #{} decrypt", i + 1);
    }
}

#[test]
fn jabberwocky_text_is_the_rfc_text() {
    let text = "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\n\
                All mimsy were the borogoves,\nAnd the mome raths outgrabe.";
    assert_eq!(hex(JABBERWOCKY), text.as_bytes());
    assert!(String::from_utf8(hex(IETF_TEXT))
        .unwrap()
        .starts_with("Any submission to the IETF intended by the Contributor"));
}

#[test]
fn keystream_counter_limit() {
    let key = [7u8; 32];
    let nonce = [9u8; 12];
    // The last block number is usable: 64 bytes at u32::MAX.
    let mut buf = [0u8; 64];
    chacha20::apply_keystream(&key, u32::MAX, &nonce, &mut buf).unwrap();
    assert_eq!(buf, chacha20::block(&key, u32::MAX, &nonce));
    // One byte more would need block 2^32: refused, buffer untouched.
    let mut buf = [0u8; 65];
    assert_eq!(
        chacha20::apply_keystream(&key, u32::MAX, &nonce, &mut buf),
        Err(SealError::TooLong)
    );
    assert_eq!(buf, [0u8; 65]);
    // Empty input is fine at any counter.
    chacha20::apply_keystream(&key, u32::MAX, &nonce, &mut []).unwrap();
}

// ---------------------------------------------------------------------------------------
// 2.5.2 and A.3: Poly1305.

#[test]
fn rfc_2_5_2_poly1305() {
    let key = arr::<32>("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
    let tag = poly1305(&key, b"Cryptographic Forum Research Group");
    assert_eq!(tag, arr::<16>("a8061dc1305136c6c22b8baf0c0127a9"));
}

#[test]
fn rfc_a_3_poly1305_vectors() {
    // (one-time key r || s, message, tag)
    let zeros64 = "00".repeat(64);
    let vectors: [(&str, &str, &str); 11] = [
        // #1
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            &zeros64,
            "00000000000000000000000000000000",
        ),
        // #2: r = 0, so the tag is s.
        (
            "0000000000000000000000000000000036e5f6b5c5e06070f0efca96227a863e",
            IETF_TEXT,
            "36e5f6b5c5e06070f0efca96227a863e",
        ),
        // #3
        (
            "36e5f6b5c5e06070f0efca96227a863e00000000000000000000000000000000",
            IETF_TEXT,
            "f3477e7cd95417af89a6b8794c310cf0",
        ),
        // #4
        (
            "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
            JABBERWOCKY,
            "4541669a7eaaee61e708dc7cbcc5eb62",
        ),
        // #5: if one uses 130-bit partial reduction, does the code handle the case where
        // partially reduced final result is not fully reduced?
        (
            "0200000000000000000000000000000000000000000000000000000000000000",
            "ffffffffffffffffffffffffffffffff",
            "03000000000000000000000000000000",
        ),
        // #6: what happens if addition of s overflows modulo 2^128?
        (
            "02000000000000000000000000000000ffffffffffffffffffffffffffffffff",
            "02000000000000000000000000000000",
            "03000000000000000000000000000000",
        ),
        // #7: what happens if data limb is all ones and there is carry from lower limb?
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            concat!(
                "ffffffffffffffffffffffffffffffff",
                "f0ffffffffffffffffffffffffffffff",
                "11000000000000000000000000000000",
            ),
            "05000000000000000000000000000000",
        ),
        // #8: what happens if final result from polynomial part is exactly 2^130-5?
        (
            "0100000000000000000000000000000000000000000000000000000000000000",
            concat!(
                "ffffffffffffffffffffffffffffffff",
                "fbfefefefefefefefefefefefefefefe",
                "01010101010101010101010101010101",
            ),
            "00000000000000000000000000000000",
        ),
        // #9: what happens if final result from polynomial part is exactly 2^130-6?
        (
            "0200000000000000000000000000000000000000000000000000000000000000",
            "fdffffffffffffffffffffffffffffff",
            "faffffffffffffffffffffffffffffff",
        ),
        // #10: what happens if 5*H+L-type reduction produces 131-bit intermediate result?
        (
            "0100000000000000040000000000000000000000000000000000000000000000",
            concat!(
                "e33594d7505e43b90000000000000000",
                "3394d7505e4379cd0100000000000000",
                "00000000000000000000000000000000",
                "01000000000000000000000000000000",
            ),
            "14000000000000005500000000000000",
        ),
        // #11: what happens if 5*H+L-type reduction produces 131-bit final result?
        (
            "0100000000000000040000000000000000000000000000000000000000000000",
            concat!(
                "e33594d7505e43b90000000000000000",
                "3394d7505e4379cd0100000000000000",
                "00000000000000000000000000000000",
            ),
            "13000000000000000000000000000000",
        ),
    ];
    for (i, (key, msg, tag)) in vectors.iter().enumerate() {
        let key = arr::<32>(key);
        let msg = hex(msg);
        assert_eq!(
            poly1305(&key, &msg),
            arr::<16>(tag),
            "A.3 test vector #{}",
            i + 1
        );
        // The incremental interface gives the same tag however the input is split.
        for split in [1, 3, 15, 16, 17, 33] {
            let mut p = Poly1305::new(&key);
            for chunk in msg.chunks(split) {
                p.update(chunk);
            }
            assert_eq!(
                p.finalize(),
                arr::<16>(tag),
                "A.3 #{} in {split}-byte pieces",
                i + 1
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2.6.2 and A.4: Poly1305 key generation.

#[test]
fn rfc_2_6_2_key_generation() {
    let key = arr::<32>("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    let nonce = arr::<12>("000000000001020304050607");
    assert_eq!(
        poly1305_key_gen(&key, &nonce),
        arr::<32>("8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646")
    );
}

#[test]
fn rfc_a_4_key_generation_vectors() {
    // (key, nonce, one-time key)
    let vectors: [(&str, &str, &str); 3] = [
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "000000000000000000000000",
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000001",
            "000000000000000000000002",
            "ecfa254f845f647473d3cb140da9e87606cb33066c447b87bc2666dde3fbb739",
        ),
        (
            "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
            "000000000000000000000002",
            "965e3bc6f9ec7ed9560808f4d229f94b137ff275ca9b3fcbdd59deaad23310ae",
        ),
    ];
    for (i, (key, nonce, otk)) in vectors.iter().enumerate() {
        assert_eq!(
            poly1305_key_gen(&arr(key), &arr(nonce)),
            arr::<32>(otk),
            "A.4 test vector #{}",
            i + 1
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2.8.2 and A.5: the AEAD.

#[test]
fn rfc_2_8_2_aead() {
    let key = arr::<32>("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    let nonce = arr::<12>("070000004041424344454647");
    let aad = hex("50515253c0c1c2c3c4c5c6c7");
    let pt = hex(AEAD282_PT);
    assert_eq!(pt, SUNSCREEN);
    let ct_and_tag = hex(AEAD282_CT);
    let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - 16);
    assert_eq!(tag, hex("1ae10b594f09e26a7e902ecbd0600691"));

    let mut buf = pt.clone();
    let got_tag = seal_in_place(&key, &nonce, &aad, &mut buf).unwrap();
    assert_eq!(buf, ct);
    assert_eq!(got_tag.to_vec(), tag);

    open_in_place(&key, &nonce, &aad, &mut buf, &got_tag).unwrap();
    assert_eq!(buf, pt);

    // The same through the Key wrapper.
    let k = Key::new(key);
    let mut buf = pt.clone();
    let t = k.seal_in_place(&nonce, &aad, &mut buf).unwrap();
    assert_eq!((buf.as_slice(), t.as_slice()), (ct, tag));
    k.open_in_place(&nonce, &aad, &mut buf, &t).unwrap();
    assert_eq!(buf, pt);
    assert_eq!(format!("{k:?}"), "Key(..)");
}

#[test]
fn rfc_a_5_aead_decryption() {
    let key = arr::<32>("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
    let nonce = arr::<12>("000000000102030405060708");
    let aad = hex("f33388860000000000004e91");
    let ct_and_tag = hex(A5_CT);
    let (ct, tag) = ct_and_tag.split_at(ct_and_tag.len() - 16);
    let tag: [u8; 16] = tag.try_into().unwrap();
    assert_eq!(tag, arr::<16>("eead9d67890cbb22392336fea1851f38"));
    assert_eq!(
        poly1305_key_gen(&key, &nonce),
        arr::<32>("bdf04aa95ce4de8995b14bb6a18fecaf26478f50c054f563dbc0a21e261572aa")
    );

    let mut buf = ct.to_vec();
    open_in_place(&key, &nonce, &aad, &mut buf, &tag).unwrap();
    assert_eq!(buf, hex(A5_PT));
    assert!(String::from_utf8(buf.clone())
        .unwrap()
        .starts_with("Internet-Drafts are draft documents valid for a maximum of six months"));

    // And back.
    let t = seal_in_place(&key, &nonce, &aad, &mut buf).unwrap();
    assert_eq!((buf.as_slice(), t), (ct, tag));
}

#[test]
fn open_rejects_and_leaves_buffer() {
    let key = [1u8; 32];
    let nonce = [2u8; 12];
    let mut buf = *b"netoops sealed packet";
    let tag = seal_in_place(&key, &nonce, b"hdr", &mut buf).unwrap();
    let sealed = buf;
    let mut bad = tag;
    bad[15] ^= 0x80;
    assert_eq!(
        open_in_place(&key, &nonce, b"hdr", &mut buf, &bad),
        Err(SealError::BadTag)
    );
    assert_eq!(buf, sealed);
    assert_eq!(
        open_in_place(&key, &nonce, b"hdR", &mut buf, &tag),
        Err(SealError::BadTag)
    );
    assert_eq!(
        open_in_place(&key, &[3; 12], b"hdr", &mut buf, &tag),
        Err(SealError::BadTag)
    );
    assert_eq!(
        open_in_place(&[9; 32], &nonce, b"hdr", &mut buf, &tag),
        Err(SealError::BadTag)
    );
    assert_eq!(buf, sealed);
    open_in_place(&key, &nonce, b"hdr", &mut buf, &tag).unwrap();
    assert_eq!(&buf, b"netoops sealed packet");
}

#[test]
fn empty_message_and_aad() {
    let key = [0x42u8; 32];
    let nonce = [0x24u8; 12];
    let tag = seal_in_place(&key, &nonce, &[], &mut []).unwrap();
    open_in_place(&key, &nonce, &[], &mut [], &tag).unwrap();
    assert!(seal::tags_equal(&tag, &tag));
    let mut other = tag;
    other[0] ^= 1;
    assert!(!seal::tags_equal(&tag, &other));
}

// ---------------------------------------------------------------------------------------
// Against RustCrypto's chacha20poly1305.

fn reference_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    use chacha20poly1305::{aead::AeadInPlace, ChaCha20Poly1305, KeyInit};
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .encrypt_in_place_detached(nonce.into(), aad, buf)
        .expect("reference seal")
        .into()
}

fn reference_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; 16],
) -> bool {
    use chacha20poly1305::{aead::AeadInPlace, ChaCha20Poly1305, KeyInit};
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .decrypt_in_place_detached(nonce.into(), aad, buf, tag.into())
        .is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn same_as_rustcrypto(
        key in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..100),
        pt in proptest::collection::vec(any::<u8>(), 0..2000),
    ) {
        let mut ours = pt.clone();
        let tag = seal_in_place(&key, &nonce, &aad, &mut ours).unwrap();
        let mut theirs = pt.clone();
        let their_tag = reference_seal(&key, &nonce, &aad, &mut theirs);
        prop_assert_eq!(&ours, &theirs);
        prop_assert_eq!(tag, their_tag);

        // Each opens the other's output.
        let mut a = ours.clone();
        prop_assert!(open_in_place(&key, &nonce, &aad, &mut a, &tag).is_ok());
        prop_assert_eq!(&a, &pt);
        let mut b = ours.clone();
        prop_assert!(reference_open(&key, &nonce, &aad, &mut b, &tag));
        prop_assert_eq!(&b, &pt);
    }

    #[test]
    fn any_tampering_fails(
        key in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..100),
        pt in proptest::collection::vec(any::<u8>(), 0..2000),
        which in 0usize..3,
        pos in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut ct = pt.clone();
        let mut tag = seal_in_place(&key, &nonce, &aad, &mut ct).unwrap();
        let mut aad = aad;
        // Tamper with the ciphertext, the tag or the AAD (whichever is non-empty).
        let target: &mut [u8] = match which {
            0 if !ct.is_empty() => &mut ct,
            1 if !aad.is_empty() => &mut aad,
            _ => &mut tag,
        };
        let i = pos.index(target.len());
        target[i] ^= flip;

        let before = ct.clone();
        let mut buf = ct.clone();
        prop_assert_eq!(open_in_place(&key, &nonce, &aad, &mut buf, &tag), Err(SealError::BadTag));
        prop_assert_eq!(&buf, &before);
        // The reference agrees that it is forged.
        let mut r = ct.clone();
        prop_assert!(!reference_open(&key, &nonce, &aad, &mut r, &tag));
    }
}
