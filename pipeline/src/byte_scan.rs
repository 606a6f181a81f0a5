//! Scans of bytes a word at a time (SWAR): the decoder's string ends and
//! UTF-8 shortcut, the feature writer's check for strings to escape.

/// The index of the first `"`, `\\` or control character of `s`, eight
/// bytes at a time (SWAR): the lowest flagged byte of each test is exact,
/// false flags only ever lie above a true one.
#[inline(always)]
pub fn string_end(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v;
    let flags = |x: u64| {
        let control = x.wrapping_sub(ONES * 0x20) & !x;
        (zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\'))) | control) & HIGH
    };
    let word = |chunk: &[u8]| {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        u64::from_le_bytes(word)
    };
    let mut i = 0;
    // Two words per step (most strings end within 16 bytes): one branch.
    while let Some(chunk) = s.get(i..i + 16) {
        let (lo, hi) = (flags(word(&chunk[..8])), flags(word(&chunk[8..])));
        if lo | hi != 0 {
            let first = if lo != 0 {
                lo.trailing_zeros()
            } else {
                64 + hi.trailing_zeros()
            };
            return Some(i + first as usize / 8);
        }
        i += 16;
    }
    if let Some(chunk) = s.get(i..i + 8) {
        let hits = flags(word(chunk));
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    let tail = s[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    Some(i + tail)
}

/// Whether every byte is ASCII: the high bits of 16-byte blocks OR-ed
/// together, one test per block (`<[u8]>::is_ascii` costs about three times
/// the instructions on a 200-byte line).
#[inline(always)]
pub fn is_ascii(s: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut blocks = s.chunks_exact(16);
    let mut high = 0;
    for block in &mut blocks {
        let (a, b) = block.split_at(8);
        let word = |w: &[u8]| u64::from_le_bytes(w.try_into().unwrap_or_default());
        high |= word(a) | word(b);
    }
    high & HIGH == 0 && blocks.remainder().is_ascii()
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
