//! Writing a record's bytes into space sized once: one bounds check per
//! piece instead of a capacity check (and a possible growth) per piece, and
//! short pieces copied inline rather than through a shared `memcpy`, which
//! mispredicts on a mix of sizes. The simulator's encoder and the feature
//! writer, both hundreds of thousands of records a second, use it.

/// A write position in a buffer at least as long as what is written
/// (writing past its end panics: callers size it from a proven bound).
pub struct SizedWriter<'a> {
    buf: &'a mut [u8],
    at: usize,
}

/// Appends to `out` what `write` writes, given at most `bound` bytes of room.
pub fn append_sized<T>(
    out: &mut Vec<u8>,
    bound: usize,
    write: impl FnOnce(&mut SizedWriter<'_>) -> T,
) -> T {
    let start = out.len();
    out.resize(start + bound, 0);
    let mut w = SizedWriter {
        buf: &mut out[start..],
        at: 0,
    };
    let result = write(&mut w);
    let end = start + w.at;
    out.truncate(end);
    result
}

/// A reusable output buffer whose room past what was written stays
/// allocated and initialized between records: unlike a `Vec` cleared and
/// resized again, a sized write into it fills nothing with zeros first.
#[derive(Clone, Debug, Default)]
pub struct RecordBuf {
    bytes: Vec<u8>,
    len: usize,
}

impl RecordBuf {
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// What was written since the last `clear`.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Appends what `write` writes, given at most `bound` bytes of room.
    pub fn append_sized<T>(
        &mut self,
        bound: usize,
        write: impl FnOnce(&mut SizedWriter<'_>) -> T,
    ) -> T {
        let end = self.len + bound;
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        let mut w = SizedWriter {
            buf: &mut self.bytes[self.len..end],
            at: 0,
        };
        let result = write(&mut w);
        self.len += w.at;
        result
    }

    #[inline]
    pub fn push(&mut self, byte: u8) {
        self.append_sized(1, |w| w.put(&[byte]));
    }

    /// Appends `n` copies of `byte`.
    pub fn fill(&mut self, byte: u8, n: usize) {
        self.append_sized(n, |w| w.fill(byte, n));
    }

    /// Keeps the first `len` bytes written (all of them if fewer).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<'a> SizedWriter<'a> {
    /// A writer at the start of `buf`, for a piece written in place.
    pub fn new(buf: &'a mut [u8]) -> SizedWriter<'a> {
        SizedWriter { buf, at: 0 }
    }

    /// How many bytes were written.
    pub fn written(&self) -> usize {
        self.at
    }

    /// Always inlined: most pieces are literals, and a copy of known size
    /// is a few moves.
    #[inline(always)]
    pub fn put(&mut self, bytes: &[u8]) {
        let (n, end) = (bytes.len(), self.at + bytes.len());
        let to = &mut self.buf[self.at..end];
        // Two overlapping fixed-size copies cover 4..=16 bytes; the first,
        // middle and last byte 1..=3 (a count's digits).
        if (8..=16).contains(&n) {
            to[..8].copy_from_slice(&bytes[..8]);
            to[n - 8..].copy_from_slice(&bytes[n - 8..]);
        } else if (4..8).contains(&n) {
            to[..4].copy_from_slice(&bytes[..4]);
            to[n - 4..].copy_from_slice(&bytes[n - 4..]);
        } else if (1..4).contains(&n) {
            to[0] = bytes[0];
            to[n / 2] = bytes[n / 2];
            to[n - 1] = bytes[n - 1];
        } else {
            to.copy_from_slice(bytes);
        }
        self.at = end;
    }

    /// The first `len` bytes of `piece`, copied as all `N` of them (a fixed-size
    /// copy); needs `N` bytes of room.
    #[inline]
    pub fn put_padded<const N: usize>(&mut self, piece: &[u8; N], len: usize) {
        self.buf[self.at..self.at + N].copy_from_slice(piece);
        self.at += len.min(N);
    }

    /// The last byte written, to change (a cached text written as it is,
    /// then changed here, is not read back right after a change).
    pub fn last_mut(&mut self) -> Option<&mut u8> {
        self.at.checked_sub(1).and_then(|i| self.buf.get_mut(i))
    }

    /// `n` copies of `byte`.
    pub fn fill(&mut self, byte: u8, n: usize) {
        self.buf[self.at..self.at + n].fill(byte);
        self.at += n;
    }

    #[inline]
    pub fn uint(&mut self, v: u64) {
        self.put(itoa::Buffer::new().format(v).as_bytes());
    }
}

/// Short strings padded to `N` bytes, for [`SizedWriter::put_padded`].
pub const fn padded<const N: usize>(s: &str) -> ([u8; N], usize) {
    let bytes = s.as_bytes();
    assert!(bytes.len() <= N, "the piece is longer than its padding");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    (out, bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Pieces of every length land end to end, after what was there.
        #[test]
        fn pieces_are_appended_in_order(
            before in proptest::collection::vec(proptest::num::u8::ANY, 0..20),
            pieces in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 0..12),
            n: u64,
        ) {
            let mut out = before.clone();
            let total: usize = pieces.iter().map(Vec::len).sum();
            append_sized(&mut out, total + 20 + 32, |w| {
                for p in &pieces {
                    w.put(p);
                }
                w.uint(n);
                let (piece, len) = padded::<32>("key");
                w.put_padded(&piece, len);
            });
            let mut want = before;
            for p in &pieces {
                want.extend_from_slice(p);
            }
            want.extend_from_slice(n.to_string().as_bytes());
            want.extend_from_slice(b"key");
            proptest::prop_assert_eq!(&out, &want);
            // The same through a reused buffer, after a longer record.
            let mut buf = RecordBuf::default();
            buf.append_sized(4096, |w| w.put(&[7; 4000]));
            buf.clear();
            buf.append_sized(out.len(), |w| w.put(&out));
            buf.push(b'\n');
            want.push(b'\n');
            proptest::prop_assert_eq!(buf.as_bytes(), &want[..]);
            // Filled, cut back, written on: what is left is exactly that.
            buf.fill(b'x', n as usize % 100);
            want.resize(want.len() + n as usize % 100, b'x');
            let keep = (n as usize / 100) % (want.len() + 2);
            buf.truncate(keep);
            want.truncate(keep);
            buf.push(b'!');
            want.push(b'!');
            proptest::prop_assert_eq!(buf.as_bytes(), &want[..]);
            proptest::prop_assert_eq!(buf.len(), want.len());
        }
    }
}
