//! A record as a host hands it to the core.

use crate::dead_letter::{Position, Truncation};
use crate::decode::Layout;

/// One record as it came off a partition.
#[derive(Clone, Copy, Debug)]
pub struct RawRecord<'a> {
    pub bytes: &'a [u8],
    pub position: Position<'a>,
    /// Set by a reader that stopped buffering an over-long record: `bytes`
    /// is then only its start (the record is oversize whatever it holds).
    pub truncated: Option<Truncation>,
    /// The record's [`Layout`], where a reader already read it (`replay`
    /// reads each record's time to merge its files): the core then builds
    /// the event from it instead of decoding again. `None`: decode here.
    /// It must be read from these bytes ([`Layout::of`]): the core trusts
    /// it for their UTF-8 (debug builds check it). Borrowed, like the
    /// bytes: a batch of records is built per poll.
    pub layout: Option<&'a Layout>,
}

impl RawRecord<'_> {
    /// An emptied batch whose allocation a later batch, borrowing other
    /// bytes, reuses (hosts build one per poll): an empty in-place
    /// `collect` keeps the buffer.
    #[expect(
        clippy::unnecessary_filter_map,
        reason = "the map is what changes the element's lifetime"
    )]
    pub fn recycle<'b>(mut batch: Vec<RawRecord<'_>>) -> Vec<RawRecord<'b>> {
        batch.clear();
        batch.into_iter().filter_map(|_| None).collect()
    }

    /// The record's full length, whether or not all of it is in `bytes`.
    pub fn len(&self) -> u64 {
        self.truncated.map_or(self.bytes.len() as u64, |t| t.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The record's layout: the reader's, else read here (`None`: not of
    /// the usual shape, or not valid).
    #[inline(always)] // a layout returned through memory is copied out in wider words
    pub(super) fn layout_or_read(&self) -> Option<Layout> {
        debug_assert!(
            self.layout
                .is_none_or(|l| Layout::of(self.bytes) == Some(*l)),
            "a record's layout is read from its bytes"
        );
        self.layout.copied().or_else(|| Layout::of(self.bytes))
    }
}
