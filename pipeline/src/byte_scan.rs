//! Scans of bytes 16 at a time (SIMD): the decoder's string ends and
//! UTF-8 shortcut, the feature writer's check for strings to escape.

use wide::u8x16;

/// The index of the first `"`, `\\` or control character of `s`, 16 bytes
/// a step (one SIMD compare of each kind; most strings end within 16).
#[inline(always)]
pub fn string_end(s: &[u8]) -> Option<usize> {
    let flags = |block: &[u8; 16]| {
        let v = u8x16::new(*block);
        let control = v.min(u8x16::splat(0x1f)).simd_eq(v);
        (v.simd_eq(u8x16::splat(b'"')) | v.simd_eq(u8x16::splat(b'\\')) | control).to_bitmask()
    };
    let mut i = 0;
    while let Some(block) = s.get(i..i + 16) {
        let hits = flags(block.try_into().ok()?);
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize);
        }
        i += 16;
    }
    let tail = s[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    Some(i + tail)
}

/// Whether every byte is ASCII: 16-byte blocks OR-ed together and the
/// high bits tested once; the last block overlaps the one before it (no
/// byte-by-byte tail). `<[u8]>::is_ascii` takes about three times the
/// instructions on a 200-byte line.
#[inline(always)]
pub fn is_ascii(s: &[u8]) -> bool {
    let block = |b: &[u8]| u8x16::new(b.try_into().unwrap_or_default());
    let Some(last) = s.len().checked_sub(16) else {
        return s.is_ascii();
    };
    // The bytes after the whole blocks are among the last 16.
    let mut high = block(&s[last..]);
    for b in s.chunks_exact(16) {
        high |= block(b);
    }
    high.to_bitmask() == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn string_end_finds_the_first_quote_backslash_or_control(
            s in proptest::collection::vec(prop_oneof![Just(b'"'), Just(b'\\'), Just(0x1f), Just(0x20), any::<u8>()], 0..40)
        ) {
            let naive = s.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            prop_assert_eq!(string_end(&s), naive);
        }

        #[test]
        fn is_ascii_agrees_with_the_standard_library(
            s in proptest::collection::vec(prop_oneof![4 => 0u8..0x80, 1 => any::<u8>()], 0..80)
        ) {
            prop_assert_eq!(is_ascii(&s), s.is_ascii());
        }
    }
}
