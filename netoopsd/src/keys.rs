//! Sealing keys (`--keys FILE`) and the first step of receiving a datagram: opening a sealed
//! packet, or refusing an unsealed one when keys are configured.
//!
//! The key file has one key per line, `KEY_ID HEX`, where `KEY_ID` is 1 to 255 (the id the
//! senders were given with the key, sent in every sealed packet so that collectors can hold
//! the old and the new key while a fleet rotates) and `HEX` the 32-byte key as 64 hex
//! digits. Empty lines and lines starting with `#` are ignored. A malformed line stops
//! netoopsd with a message naming the file, the line and the value at fault (never the key).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use netoops_codec::wire::{open_packet, sealed_key_id, SealPacketError};

/// Keys by key id.
#[derive(Clone, Default)]
pub struct Keys {
    by_id: BTreeMap<u8, [u8; 32]>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keys(ids {:?})", self.by_id.keys().collect::<Vec<_>>())
    }
}

impl Keys {
    /// Reads a key file.
    pub fn load(path: &Path) -> anyhow::Result<Keys> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the key file: {e}", path.display()))?;
        Keys::parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)
    }

    /// Parses key file text; `name` names the file in errors.
    pub fn parse(text: &str, name: &str) -> Result<Keys, String> {
        let mut by_id = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = format!("{name}:{}", n + 1);
            let mut words = line.split_whitespace();
            let (Some(id), Some(hex), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!("{at}: expected `KEY_ID HEX` (two fields)"));
            };
            let id: u8 = match id.parse() {
                Ok(v) if v > 0 => v,
                _ => return Err(format!("{at}: key id {id:?} is not 1 to 255")),
            };
            let key = parse_key(hex).ok_or_else(|| {
                format!(
                    "{at}: key {id}: expected 64 hex digits (32 bytes), got {} characters",
                    hex.len()
                )
            })?;
            if by_id.insert(id, key).is_some() {
                return Err(format!("{at}: key id {id} given twice"));
            }
        }
        if by_id.is_empty() {
            return Err(format!("{name}: no key in the key file"));
        }
        Ok(Keys { by_id })
    }

    /// The key with this id.
    pub fn get(&self, id: u8) -> Option<&[u8; 32]> {
        self.by_id.get(&id)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

fn parse_key(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (b, pair) in key.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *b = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(key)
}

/// Why a datagram was refused before it was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Keys are configured and the packet is not sealed.
    Unsealed,
    /// Sealed, but no key file was given.
    SealedWithoutKeys(u8),
    /// Sealed under a key id not in the key file.
    UnknownKey(u8),
    /// The tag did not verify: forged, modified, or another key under this id.
    BadTag(u8),
    /// Marked sealed but not shaped like a sealed packet.
    MalformedSealed,
}

impl Refused {
    /// The counter name.
    pub fn kind(&self) -> &'static str {
        match self {
            Refused::Unsealed => "unsealed",
            Refused::SealedWithoutKeys(_) => "sealed_without_keys",
            Refused::UnknownKey(_) => "unknown_key",
            Refused::BadTag(_) => "bad_tag",
            Refused::MalformedSealed => "malformed_sealed",
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Unsealed => f.write_str("unsealed packet refused: keys are configured"),
            Refused::SealedWithoutKeys(id) => {
                write!(f, "sealed packet (key id {id}) but no key file given")
            }
            Refused::UnknownKey(id) => write!(f, "sealed under unknown key id {id}"),
            Refused::BadTag(id) => {
                write!(f, "sealed packet failed authentication under key id {id}")
            }
            Refused::MalformedSealed => f.write_str("malformed sealed packet"),
        }
    }
}

/// The packet a datagram carries, unsealed: the datagram itself if it is not sealed (and no
/// keys are configured), or the opened packet. Nothing of a packet that fails here is used.
pub fn unwrap_datagram<'a>(
    payload: &'a [u8],
    keys: Option<&Keys>,
) -> Result<Cow<'a, [u8]>, Refused> {
    match (sealed_key_id(payload), keys) {
        (None, None) => Ok(Cow::Borrowed(payload)),
        (None, Some(_)) => Err(Refused::Unsealed),
        (Some(id), None) => Err(Refused::SealedWithoutKeys(id)),
        (Some(_), Some(keys)) => {
            let mut out = vec![0u8; payload.len()];
            match open_packet(payload, |id| keys.get(id), &mut out) {
                Ok(n) => {
                    out.truncate(n);
                    Ok(Cow::Owned(out))
                }
                Err(SealPacketError::UnknownKey { key_id }) => Err(Refused::UnknownKey(key_id)),
                Err(SealPacketError::BadTag { key_id }) => Err(Refused::BadTag(key_id)),
                Err(_) => Err(Refused::MalformedSealed),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_errors_name_the_line_and_value() {
        let k = Keys::parse(&format!("# fleet\n\n7 {}\n", "ab".repeat(32)), "k").unwrap();
        assert_eq!(k.get(7), Some(&[0xab; 32]));
        let err = |t: &str| Keys::parse(t, "keys.txt").unwrap_err();
        assert_eq!(err("0 00"), "keys.txt:1: key id \"0\" is not 1 to 255");
        assert_eq!(err("256 00"), "keys.txt:1: key id \"256\" is not 1 to 255");
        assert_eq!(
            err("\n3 abcd"),
            "keys.txt:2: key 3: expected 64 hex digits (32 bytes), got 4 characters"
        );
        assert_eq!(
            err(&format!("3 {}", "zz".repeat(32))),
            "keys.txt:1: key 3: expected 64 hex digits (32 bytes), got 64 characters"
        );
        assert_eq!(err("3"), "keys.txt:1: expected `KEY_ID HEX` (two fields)");
        let two = format!("1 {0}\n1 {0}\n", "00".repeat(32));
        assert_eq!(err(&two), "keys.txt:2: key id 1 given twice");
        assert_eq!(err("# nothing\n"), "keys.txt: no key in the key file");
    }
}
