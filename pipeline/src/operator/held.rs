//! The core's side of `max_time_jump` (see the `hold` module): judging
//! the events a partition holds, on its next event, when the stream reaches
//! them, or when no more will come.

use super::{Output, Pipeline, RawRecord};
use crate::catalog::Catalog;
use crate::dead_letter::{Position, Reason};
use crate::decode::decode;
use crate::hold::{Held, Verdict, verdict};
use crate::time::{Millis, format_rfc3339};
use crate::watermark::PartitionId;

impl Pipeline {
    /// Whether an event at `t` is too far ahead of the stream to take on
    /// its word (see the `hold` module). With nothing accepted yet there is
    /// no reference, and the first event waits for a second.
    pub(super) fn is_jump(&self, t: Millis) -> bool {
        self.config
            .max_time_jump
            .is_some_and(|jump| self.latest == Millis::MIN || t > self.latest.saturating_add(jump))
    }

    /// Accepts held events the rest of the stream has reached (up to the
    /// out-of-orderness: a host merging partitions by event time, like
    /// replay, has then reached them too).
    #[inline] // once per event, and nearly always nothing is held
    pub(super) fn confirm_caught_up<C: Catalog + ?Sized>(&mut self, catalog: &C, out: &mut Output) {
        if self.holds.len() == 0 {
            return;
        }
        self.confirm_held_within(catalog, out);
    }

    #[inline(never)]
    fn confirm_held_within<C: Catalog + ?Sized>(&mut self, catalog: &C, out: &mut Output) {
        let reached = self.latest.saturating_add(self.config.out_of_orderness);
        while let Some((p, held)) = self.holds.take_first_within(reached) {
            self.confirm(p, held, catalog, out);
        }
    }

    /// Decides what `p` holds on its next event (at `t`, of `session`).
    pub(super) fn judge_held<C: Catalog + ?Sized>(
        &mut self,
        p: PartitionId,
        t: Millis,
        session: u64,
        catalog: &C,
        out: &mut Output,
    ) {
        let jump = self.config.max_time_jump.unwrap_or(0);
        let anchored = self.latest != Millis::MIN;
        // Each on its own: what waits is decided alike after a restart,
        // whatever was decided around it before.
        for held in self.holds.take(p) {
            match verdict(&held, t, session, jump, anchored) {
                Verdict::Undecided => self.holds.hold(p, held),
                Verdict::Refuted => {
                    let why = format!(
                        "the next event of its partition is at {}",
                        format_rfc3339(t)
                    );
                    let rejection = self.out_of_range(held.event_time, why);
                    self.dead_letter_held(p, &held, rejection, out);
                }
                Verdict::Confirmed => self.confirm(p, held, catalog, out),
            }
        }
        self.confirm_caught_up(catalog, out);
    }

    /// No next event will come to `p` (it or the input ended): what it
    /// holds is judged on the stream as it stands, a jump still refuted.
    pub(super) fn settle_held<C: Catalog + ?Sized>(
        &mut self,
        p: PartitionId,
        catalog: &C,
        out: &mut Output,
    ) {
        for held in self.holds.take(p) {
            if self.latest != Millis::MIN && self.is_jump(held.event_time) {
                let rejection =
                    self.out_of_range(held.event_time, "no later event confirmed it".into());
                self.dead_letter_held(p, &held, rejection, out);
            } else {
                self.confirm(p, held, catalog, out);
            }
        }
        self.confirm_caught_up(catalog, out);
    }

    pub(super) fn out_of_range(&self, t: Millis, why: String) -> (Reason, String) {
        (
            Reason::EventTimeOutOfRange,
            format!(
                "`event_time` {} is more than {} ms ahead of the stream (latest accepted {}) and {why}",
                format_rfc3339(t),
                self.config.max_time_jump.unwrap_or(0),
                format_rfc3339(self.latest),
            ),
        )
    }

    fn dead_letter_held(
        &mut self,
        p: PartitionId,
        held: &Held,
        (reason, detail): (Reason, String),
        out: &mut Output,
    ) {
        if reason == Reason::EventTimeOutOfRange {
            self.holds.note_refuted(p, held);
        }
        let record = RawRecord {
            bytes: &held.bytes,
            position: Position::Sequence(&held.position),
            truncated: None,
            layout: None,
        };
        self.dead_letter(p, &record, reason, detail, out);
    }

    /// A confirmed held event goes through the checks that depend on what
    /// arrived while it waited, then in.
    fn confirm<C: Catalog + ?Sized>(
        &mut self,
        p: PartitionId,
        held: Held,
        catalog: &C,
        out: &mut Output,
    ) {
        if let Err(rejection) = self.accept_held(p, &held, catalog) {
            self.dead_letter_held(p, &held, rejection, out);
        }
    }

    fn accept_held<C: Catalog + ?Sized>(
        &mut self,
        p: PartitionId,
        held: &Held,
        catalog: &C,
    ) -> Result<(), (Reason, String)> {
        let decoded = decode(&held.bytes).map_err(|r| (r.reason, r.detail))?;
        let event = decoded.view();
        let (product, id_key) = self.admit(p, &event, catalog)?;
        self.accept(p, &event, product, held.session, id_key, held.ordinal);
        Ok(())
    }
}
