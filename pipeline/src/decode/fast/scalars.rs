//! Numbers and times of the usual form, read without a general parser:
//! what the fast path's `Cursor` calls for prices and event times.

use std::cell::Cell;

use crate::time::{Millis, days_from_civil};

/// The number at the start of `s` and its length, if it is the usual
/// `DIGITS[.DIGITS]` (no leading zero, at most 15 digits): read in the pass
/// that finds its end. `m / 10^k` with both exact in an f64: the one
/// division rounds correctly (Clinger's fast path), as `str::parse` does.
/// `None` (anything else, valid or not) is for the general path.
pub(super) fn plain_decimal(s: &[u8]) -> Option<(f64, usize)> {
    let digit = |i: usize| s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9);
    // At most 15 digits: `m` stays exact in an f64 (and cannot overflow).
    let (mut m, mut digits, mut i) = (0u64, 0, 0);
    while let Some(d) = digit(i) {
        m = m * 10 + u64::from(d);
        (digits, i) = (digits + 1, i + 1);
        if digits > 15 {
            return None;
        }
    }
    let int_digits = digits;
    if int_digits == 0 || (s[0] == b'0' && int_digits > 1) {
        return None;
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        while let Some(d) = digit(i) {
            m = m * 10 + u64::from(d);
            (digits, i) = (digits + 1, i + 1);
            if digits > 15 {
                return None;
            }
        }
        if digits == int_digits {
            return None;
        }
    }
    if matches!(s.get(i), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    let frac_digits = digits - int_digits;
    Some((m as f64 / POW10[frac_digits], i))
}

const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

thread_local! {
    /// The last time's `YYYY-MM-DDTHH:MM` (checked) and that minute in epoch
    /// milliseconds: a stream's times share their minute for hundreds of
    /// records in a row, so most times only read their seconds.
    static LAST_MINUTE: Cell<([u8; 16], Millis)> = const { Cell::new(([0; 16], 0)) };
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` as epoch milliseconds (what chrono's
/// RFC 3339 parser gives for that form); any other form is `None`.
pub(super) fn parse_time(b: &[u8]) -> Option<Millis> {
    // The fixed part as an array: its indexes need no checks, and the
    // tests below are straight-line code (non-short-circuit `&` and `|`).
    let head: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    let not_digit = |i: usize| head[i].wrapping_sub(b'0') > 9;
    if (head[16] != b':') | not_digit(17) | not_digit(18) || *b.last()? != b'Z' {
        return None;
    }
    let minute = cached_minute(head[..16].try_into().ok()?)?;
    let second = i64::from((head[17] - b'0') * 10 + (head[18] - b'0'));
    // Leap seconds (60) and the like go to chrono.
    if second > 59 {
        return None;
    }
    let digit = |c: &u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
    let millis = match &b[19..b.len() - 1] {
        [] => 0,
        // Milliseconds, the usual case.
        [b'.', a, b, c] => digit(a)? * 100 + digit(b)? * 10 + digit(c)?,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            let mut ms = 0;
            for k in 0..3 {
                ms = ms * 10 + frac.get(k).map_or(Some(0), digit)?;
            }
            if !frac.iter().all(u8::is_ascii_digit) {
                return None;
            }
            ms
        }
        _ => return None,
    };
    Some(minute + second * 1_000 + millis)
}

/// [`parse_time`] of the commonest form, `YYYY-MM-DDTHH:MM:SS.mmmZ`, given
/// as one array: fixed places, no slicing, no length cases. `None` for
/// anything else (which `parse_time` may still read).
#[inline]
pub(super) fn parse_time_millis(b: &[u8; 24]) -> Option<Millis> {
    let d = |i: usize| b[i].wrapping_sub(b'0');
    let places = (b[16] != b':') | (b[19] != b'.') | (b[23] != b'Z');
    let digits = (d(17) > 9) | (d(18) > 9) | (d(20) > 9) | (d(21) > 9) | (d(22) > 9);
    let second = i64::from(d(17)) * 10 + i64::from(d(18));
    // Leap seconds (60) and the like go to chrono.
    if places | digits | (second > 59) {
        return None;
    }
    let minute = cached_minute(b[..16].try_into().ok()?)?;
    let millis = i64::from(d(20)) * 100 + i64::from(d(21)) * 10 + i64::from(d(22));
    Some(minute + second * 1_000 + millis)
}

/// [`minute_start`] through the last minute read (most times share it).
#[inline]
fn cached_minute(minute_part: [u8; 16]) -> Option<Millis> {
    let (last, last_minute) = LAST_MINUTE.get();
    if minute_part == last {
        return Some(last_minute);
    }
    let minute = minute_start(&minute_part)?;
    LAST_MINUTE.set((minute_part, minute));
    Some(minute)
}

/// `YYYY-MM-DDTHH:MM` as epoch milliseconds, if it is a valid minute.
fn minute_start(head: &[u8; 16]) -> Option<Millis> {
    let punctuation =
        (head[4] == b'-') & (head[7] == b'-') & (head[10] == b'T') & (head[13] == b':');
    let not_digit = |i: usize| head[i].wrapping_sub(b'0') > 9;
    let not_digits = (not_digit(0) | not_digit(1) | not_digit(2) | not_digit(3))
        | (not_digit(5) | not_digit(6) | not_digit(8) | not_digit(9))
        | (not_digit(11) | not_digit(12) | not_digit(14) | not_digit(15));
    if !punctuation || not_digits {
        return None;
    }
    let two = |i: usize| i64::from((head[i] - b'0') * 10 + (head[i + 1] - b'0'));
    let year = two(0) * 100 + two(2);
    let (month, day, hour, minute) = (two(5), two(8), two(11), two(14));
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
