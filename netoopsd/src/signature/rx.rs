//! The signature's patterns: a [`Regex`] that first checks, without the regex engine, how a
//! text must begin for the pattern to match it.
//!
//! Every line that may head a crash report meets dozens of patterns anchored at its start
//! (`^BUG: Invalid wait context`, `^(?:Oops: )?stack segment: `, ...), and almost none
//! matches. A search that fails still costs the regex engine's setup and a cache taken from
//! and given back to its pool (a shared pool for every thread but the first), tens of
//! nanoseconds each. The texts a pattern anchored with `^` can match all begin with one of the
//! prefixes that `regex_syntax`'s literal extractor finds for it (when it finds a finite set),
//! so a text that begins with none of them is refused by comparing a few bytes. Patterns that
//! are not anchored, or whose beginnings are no finite set (`^\S.*: page allocation failure`),
//! go to the engine every time. Either way the answer is the regex's own.

use std::ops::Deref;

use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::Look;

use super::CapturesIfMatch;

/// The [`Rx`] of `$pattern`, compiled the first time this place in the code is reached.
macro_rules! rx {
    ($pattern:expr) => {{
        static CELL: ::std::sync::OnceLock<$crate::signature::rx::Rx> =
            ::std::sync::OnceLock::new();
        CELL.get_or_init(|| $crate::signature::rx::Rx::new($pattern))
    }};
}
pub(crate) use rx;

/// A compiled pattern and, if it is anchored at the start of the text, the beginnings a
/// matching text must have.
#[derive(Debug)]
pub(crate) struct Rx {
    re: Regex,
    starts: Option<Starts>,
}

/// The prefixes one of which begins every text the pattern matches.
// INVARIANT: `prefixes` is not empty, none of them is empty, and `first` holds exactly their
// first bytes.
#[derive(Debug)]
struct Starts {
    /// The first bytes of the prefixes, as a bit set.
    first: [u64; 4],
    prefixes: Vec<Vec<u8>>,
}

impl Rx {
    /// Compiles `pattern` as [`Regex::new`] does; panics if it is invalid (the patterns are
    /// the program's own).
    pub(crate) fn new(pattern: &str) -> Self {
        Rx {
            re: Regex::new(pattern).expect("valid regex"),
            starts: Starts::of(pattern),
        }
    }

    /// Whether the pattern can match `h` at all: `false` only when `h` begins with none of
    /// the prefixes every match begins with.
    fn may_match(&self, h: &str) -> bool {
        match &self.starts {
            None => true,
            Some(s) => s.begins(h.as_bytes()),
        }
    }

    /// [`Regex::is_match`].
    pub(crate) fn is_match(&self, h: &str) -> bool {
        self.may_match(h) && self.re.is_match(h)
    }
}

impl Starts {
    /// The beginnings of the texts `pattern` matches, if it is anchored at the start of the
    /// text (outside multi-line mode `^` is [`Look::Start`]) and they are a finite set of
    /// non-empty literals; `None` otherwise (then every text goes to the engine).
    fn of(pattern: &str) -> Option<Starts> {
        let hir = regex_syntax::parse(pattern).ok()?;
        if !hir.properties().look_set_prefix().contains(Look::Start) {
            return None;
        }
        let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
        let literals = seq.literals()?;
        if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
            return None;
        }
        let prefixes: Vec<Vec<u8>> = literals.iter().map(|l| l.as_bytes().to_vec()).collect();
        let mut first = [0u64; 4];
        for p in &prefixes {
            first[usize::from(p[0] >> 6)] |= 1 << (p[0] & 63);
        }
        Some(Starts { first, prefixes })
    }

    fn begins(&self, h: &[u8]) -> bool {
        let Some(&b) = h.first() else {
            return false;
        };
        self.first[usize::from(b >> 6)] & (1 << (b & 63)) != 0
            && self.prefixes.iter().any(|p| h.starts_with(p))
    }
}

impl Deref for Rx {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        &self.re
    }
}

impl CapturesIfMatch for Rx {
    fn caps<'h>(&self, h: &'h str) -> Option<regex::Captures<'h>> {
        if self.may_match(h) {
            self.re.caps(h)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Anchored patterns get the prefixes of their matches; the others, and those whose
    /// beginnings are no finite set of literals, none.
    #[test]
    fn prefixes_only_where_the_pattern_is_anchored() {
        let starts = |p: &str| {
            Starts::of(p).map(|s| {
                let mut v: Vec<String> = s
                    .prefixes
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .collect();
                v.sort();
                v
            })
        };
        assert_eq!(
            starts(r"^(?:BUG: )?KASAN: (\w+)"),
            Some(vec!["BUG: KASAN: ".into(), "KASAN: ".into()])
        );
        assert_eq!(
            starts(r"^(Read|Write) (?:of size|at addr)"),
            Some(vec![
                "Read at addr".into(),
                "Read of size".into(),
                "Write at addr".into(),
                "Write of size".into()
            ])
        );
        // Not anchored, anchored only in one branch, at line starts, or at no literal.
        assert_eq!(starts(r"which became \S+-irq-safe at:"), None);
        assert_eq!(starts(r"(?:^|: )Watchdog detected hard LOCKUP"), None);
        assert_eq!(starts(r"^BUG: |KASAN: "), None);
        assert_eq!(starts(r"(?m)^BUG: "), None);
        assert_eq!(starts(r"^\S.*: page allocation failure"), None);
        assert_eq!(starts(r"^(?:BUG: )?"), None);
    }

    /// The answer is the regex's, whether the prefixes refuse the text or not: texts that
    /// begin with a prefix or part of one, match or nearly match, are empty, or begin with a
    /// multi-byte character; case-insensitive and Unicode patterns.
    #[test]
    fn answers_as_the_regex_does() {
        let patterns = [
            r"^(?:BUG: )?KASAN: ([\w-]+(?: or [\w-]+)?) (?:in|on) (?:(address)\s+\S+|([A-Za-z_][\w.]*))?",
            r"^(Read|Write) (?:of size|at addr)",
            r"^(?:Oops: )?(invalid opcode|int3|bounds|double fault): [0-9a-f]{4} \[#\d+\]",
            r"^BUG (\S+) \((?:Not tainted|Tainted: [^)]*)\): (.+?)\s*$",
            r"^(?i)kernel bug at \S+",
            r"^Kernel panic - not syncing:?\s*(.*)$",
            r"^é+ü",
            r"^\S.*: page allocation failure[:.] order:\d+, mode:",
            r"(?:^|: )Watchdog detected hard LOCKUP",
        ];
        let texts = [
            "",
            "B",
            "BUG",
            "BUG: KASAN: use-after-free in foo+0x1/0x2",
            "KASAN: slab-out-of-bounds in bar",
            "KASAN:",
            "Read of size 8 at addr ffff",
            "Write at addr 0",
            "Oops: invalid opcode: 0000 [#1] SMP",
            "int3: 0000 [#1]",
            "RIP: 0010:lkdtm_BUG+0x4/0x6",
            "BUG kmalloc-64 (Not tainted): Poison overwritten",
            "KERNEL BUG AT mm/slub.c:1",
            "kernel BUG at mm/slub.c:1",
            "Kernel panic - not syncing: Fatal exception",
            " Kernel panic - not syncing: Fatal exception",
            "éééü",
            "ü",
            "swapper/0: page allocation failure: order:3, mode:0x40",
            "NMI watchdog: Watchdog detected hard LOCKUP on cpu 1",
        ];
        for p in patterns {
            let (rx, re) = (Rx::new(p), Regex::new(p).unwrap());
            for t in texts {
                assert_eq!(rx.is_match(t), re.is_match(t), "{p:?} on {t:?}");
                assert_eq!(
                    rx.caps(t).map(|c| c.get(0).map(|m| m.range())),
                    re.captures(t).map(|c| c.get(0).map(|m| m.range())),
                    "{p:?} on {t:?}"
                );
            }
        }
    }
}
