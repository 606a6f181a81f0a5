//! Events to wire bytes: encoding, injected faults, delivery jitter,
//! re-sends and back-dated extras, queued per partition by delivery time.

use pipeline::{EventType, Millis};
use rand::rngs::SmallRng;
use rand::{Rng, RngCore, SeedableRng};

use super::{Session, Simulator};
use crate::faults::Fault;
use crate::shop::{ProductIx, Shop};
use crate::wire::{Variant, WireEvent};

/// The random stream of one emitted event, keyed by what the event is:
/// `SmallRng::seed_from_u64` of the key's hash, built only when more than
/// its first number is needed. Most events draw only their delivery
/// jitter, which the first number gives from two of the generator's four
/// seed words: building the generator on every event's path cost the
/// simulator 7 %.
struct EventStream {
    key: u64,
    /// Numbers taken before the generator was built.
    taken: u8,
    rng: Option<SmallRng>,
}

impl EventStream {
    fn new(seed: u64, session: u64, t: Millis, event_type: EventType) -> EventStream {
        EventStream::of(key_hash(seed, session, t as u64, event_type.index() as u8))
    }

    fn of(key: u64) -> EventStream {
        EventStream {
            key,
            taken: 0,
            rng: None,
        }
    }

    /// The generator, past the numbers already taken.
    fn rng(&mut self) -> &mut SmallRng {
        let (key, taken) = (self.key, self.taken);
        self.rng.get_or_insert_with(|| {
            let mut rng = SmallRng::seed_from_u64(key);
            for _ in 0..taken {
                rng.next_u64();
            }
            rng
        })
    }

    /// `rng().random_range(0..=max)` (max ≥ 0): from the first number
    /// alone when it is the first draw and needs no second number.
    fn up_to(&mut self, max: Millis) -> Millis {
        if self.rng.is_none() && self.taken == 0 {
            // rand's single-sample integer range (Canon's method): the high
            // word of number × range, unless the low word asks for a second
            // number (a chance of range in 2^64).
            let range = max as u64 + 1;
            let product = u128::from(first_number(self.key)) * u128::from(range);
            if (product as u64) <= range.wrapping_neg() {
                self.taken = 1;
                return (product >> 64) as Millis;
            }
        }
        self.rng().random_range(0..=max)
    }
}

impl RngCore for EventStream {
    fn next_u32(&mut self) -> u32 {
        self.rng().next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.rng().next_u64()
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.rng().fill_bytes(dst)
    }
}

/// The first `next_u64` of `SmallRng::seed_from_u64(key)` (xoshiro256++
/// seeded by SplitMix64): it reads only the state's first and last word.
fn first_number(key: u64) -> u64 {
    const PHI: u64 = 0x9e37_79b9_7f4a_7c15;
    let splitmix = |i: u64| {
        let z = key.wrapping_add(PHI.wrapping_mul(i));
        let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (s0, s3) = (splitmix(1), splitmix(4));
    s0.wrapping_add(s3).rotate_left(23).wrapping_add(s0)
}

/// xxh3's default secret, from the library (a seed of 0 derives it as is).
const SECRET: [u8; 192] = xxhash_rust::const_xxh3::const_custom_default_secret(0);

/// `xxh3_64_with_seed` of the 17 bytes `session`, `t` (little-endian) and
/// `kind` (what [`EventStream`] is keyed by), computed on the words themselves:
/// from a 17-byte array, xxh3 reads words that straddle the stores that
/// wrote it, and the CPU cannot forward those (a twentieth of the
/// simulator's time). xxh3 on 17 to 32 bytes: two 16-byte mixes, the
/// second of the last 16 bytes, then the avalanche. A test compares it
/// with the library on any input.
fn key_hash(seed: u64, session: u64, t: u64, kind: u8) -> u64 {
    const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;
    let secret = |i: usize| u64::from_le_bytes(*SECRET[i..].first_chunk().unwrap_or(&[0; 8]));
    let mix = |lo: u64, hi: u64, at: usize| {
        let a = lo ^ secret(at).wrapping_add(seed);
        let b = hi ^ secret(at + 8).wrapping_sub(seed);
        let product = u128::from(a) * u128::from(b);
        product as u64 ^ (product >> 64) as u64
    };
    let acc = 17u64
        .wrapping_mul(PRIME64_1)
        .wrapping_add(mix(session, t, 0))
        .wrapping_add(mix(
            session >> 8 | t << 56,
            t >> 8 | u64::from(kind) << 56,
            16,
        ));
    let acc = (acc ^ acc >> 37).wrapping_mul(0x1656_6791_9E37_79F9);
    acc ^ acc >> 32
}

impl Simulator {
    pub(super) fn emit(
        &mut self,
        t: Millis,
        event_type: EventType,
        s: &Session,
        slot: u32,
        shop: &Shop,
    ) {
        let p = s.product;
        self.next_event += 1;
        self.stats.events[event_type.index()] += 1;
        if event_type == EventType::View {
            let day = ((t - self.start) / pipeline::time::DAY) as usize;
            let days = &mut self.daily_views[p as usize];
            if days.len() <= day {
                days.resize(day + 1, 0);
            }
            days[day] += 1;
        }
        let price_cents = self.price_cents(p, shop);
        let ev = WireEvent {
            event_id: self.next_event,
            event_type,
            event_time: t,
            shopper: &self.shoppers[slot as usize],
            product_id: &self.json_ids[p as usize],
            price_cents,
            source: &self.sources[usize::from(s.source)],
        };
        let partition = self.partition_of[p as usize] as usize;
        // Faults and delivery draw from the event's own stream: a purchase
        // (which only some policies cause) shifts nothing else.
        let session = self.shoppers[slot as usize].session_id();
        let mut stream = EventStream::new(self.sc.seed, session, t, event_type);
        let rng = &mut stream;
        let fault = self.faults.draw(rng);
        let (encoder, next_event) = (&mut self.encoder, self.next_event);
        let (start, len) = self.pending[partition].write(|bytes| match fault {
            Some(Fault::MissingField) => encoder.encode_variant(&ev, Variant::NoSession, bytes),
            Some(Fault::BadValue) => encoder.encode_variant(&ev, Variant::PriceAsString, bytes),
            Some(Fault::Oversize) => encoder.encode_variant(&ev, Variant::Oversize, bytes),
            Some(Fault::UnknownProduct) => {
                let unknown = format!("sku-unknown-{next_event}");
                let ev = WireEvent {
                    product_id: &unknown,
                    ..ev
                };
                encoder.encode(&ev, bytes);
            }
            Some(Fault::MalformedJson) => {
                let start = bytes.len();
                encoder.encode(&ev, bytes);
                let cut = rng.random_range(1..bytes.len() - start - 1);
                bytes.truncate(start + cut);
            }
            None => encoder.encode(&ev, bytes),
        });
        let jitter = self.sc.out_of_orderness.0;
        let at = t + if jitter > 0 { rng.up_to(jitter) } else { 0 };
        // Extra records go after the event's bytes; each is (start, len).
        let mut extra = None;
        let mut ahead = None;
        let mut again: Option<Millis> = None;
        if fault.is_none() {
            if self.faults.duplicate(rng) {
                again = Some(at + rng.random_range(1_000..60_000));
            }
            let late_by = self.sc.faults.late_by.0;
            let window = self.sc.oracle_window.0.max(100_000);
            if t - late_by >= self.start + late_by + window && self.faults.late(rng) {
                self.next_event += 1;
                let late = WireEvent {
                    event_id: self.next_event,
                    event_type: EventType::View,
                    event_time: t - late_by,
                    ..ev
                };
                let encoder = &mut self.encoder;
                extra = Some(self.pending[partition].write(|b| encoder.encode(&late, b)));
            }
            if self.faults.future(rng) {
                self.next_event += 1;
                let wrong = WireEvent {
                    event_id: self.next_event,
                    event_type: EventType::View,
                    event_time: t + self.sc.faults.future_by.0,
                    ..ev
                };
                let encoder = &mut self.encoder;
                ahead = Some(self.pending[partition].write(|b| encoder.encode(&wrong, b)));
            }
        }
        // The same bytes again: a re-send.
        if let Some(again) = again {
            self.push(partition, again, (start, len));
        }
        if let Some(piece) = extra {
            self.push(partition, at, piece);
        }
        // Just before the event itself, which refutes it.
        if let Some(piece) = ahead {
            self.push(partition, at, piece);
        }
        self.push(partition, at, (start, len));
    }

    /// The live price of `p` in cents, rounded once per price (not per event).
    fn price_cents(&mut self, p: ProductIx, shop: &Shop) -> u64 {
        let price = shop.price(p);
        let (bits, cents) = &mut self.cents[p as usize];
        if *bits != price.to_bits() {
            *bits = price.to_bits();
            *cents = (price * 100.0).round() as u64;
        }
        *cents
    }

    /// Queues the bytes at `(start, len)` of `partition` for delivery at `at`.
    pub(super) fn push(&mut self, partition: usize, at: Millis, (start, len): (usize, usize)) {
        self.stats.records += 1;
        self.pending[partition].queue(at, start, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The words' hash is the library's hash of the 17-byte key.
        #[test]
        fn key_hash_is_xxh3_of_the_key(seed: u64, session: u64, t: u64, kind: u8) {
            let mut key = [0u8; 17];
            key[..8].copy_from_slice(&session.to_le_bytes());
            key[8..16].copy_from_slice(&t.to_le_bytes());
            key[16] = kind;
            let expected = xxhash_rust::xxh3::xxh3_64_with_seed(&key, seed);
            proptest::prop_assert_eq!(key_hash(seed, session, t, kind), expected);
        }

        /// The stream draws what the seeded generator draws: a bound from
        /// the first number, then whatever follows, in any order.
        #[test]
        fn the_stream_is_the_seeded_generator(
            key: u64,
            max in proptest::prop_oneof![0i64..5_000, 0..=i64::MAX],
            jitter_first: bool,
        ) {
            let mut want = SmallRng::seed_from_u64(key);
            let mut got = EventStream::of(key);
            if !jitter_first {
                proptest::prop_assert_eq!(got.next_u64(), want.next_u64());
            }
            proptest::prop_assert_eq!(got.up_to(max), want.random_range(0..=max));
            proptest::prop_assert_eq!(got.next_u64(), want.next_u64());
            proptest::prop_assert_eq!(got.up_to(max), want.random_range(0..=max));
        }
    }
}
