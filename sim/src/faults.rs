//! Fault injection: which records to damage, re-send or back-date, and how
//! many of each, so a test can check the pipeline dead-letters exactly those.

use rand::Rng;
use serde::Serialize;

use crate::scenario::FaultSpec;

/// A fault that replaces an event's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    MalformedJson,
    MissingField,
    BadValue,
    Oversize,
    UnknownProduct,
}

/// Injected faults by the dead-letter reason each should produce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FaultCounts {
    pub malformed_json: u64,
    pub missing_field: u64,
    pub bad_value: u64,
    pub oversize: u64,
    pub unknown_product: u64,
    pub duplicate: u64,
    pub late: u64,
    pub event_time_out_of_range: u64,
}

impl FaultCounts {
    pub fn total(&self) -> u64 {
        self.malformed_json
            + self.missing_field
            + self.bad_value
            + self.oversize
            + self.unknown_product
            + self.duplicate
            + self.late
            + self.event_time_out_of_range
    }

    /// The count for a pipeline dead-letter reason code.
    pub fn get(&self, reason: &str) -> u64 {
        match reason {
            "malformed_json" => self.malformed_json,
            "missing_field" => self.missing_field,
            "bad_value" => self.bad_value,
            "oversize" => self.oversize,
            "unknown_product" => self.unknown_product,
            "duplicate" => self.duplicate,
            "late" => self.late,
            "event_time_out_of_range" => self.event_time_out_of_range,
            _ => 0,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Faults {
    /// Cumulative thresholds of the replacing faults, in `Fault` order.
    replace: [(f64, Fault); 5],
    duplicate: f64,
    late: f64,
    future: f64,
    counts: FaultCounts,
}

impl Faults {
    pub fn new(spec: &FaultSpec) -> Faults {
        let mut acc = 0.0;
        let mut step = |rate: f64, f: Fault| {
            acc += rate;
            (acc, f)
        };
        Faults {
            replace: [
                step(spec.malformed_json, Fault::MalformedJson),
                step(spec.missing_field, Fault::MissingField),
                step(spec.bad_value, Fault::BadValue),
                step(spec.oversize, Fault::Oversize),
                step(spec.unknown_product, Fault::UnknownProduct),
            ],
            duplicate: spec.duplicate,
            late: spec.late,
            future: spec.future,
            counts: FaultCounts::default(),
        }
    }

    fn any_replace(&self) -> bool {
        self.replace[4].0 > 0.0
    }

    /// Whether to replace this event's record, and with what.
    pub fn draw<R: Rng>(&mut self, rng: &mut R) -> Option<Fault> {
        if !self.any_replace() {
            return None;
        }
        let u: f64 = rng.random();
        let fault = self.replace.iter().find(|(t, _)| u < *t).map(|x| x.1)?;
        let c = &mut self.counts;
        *match fault {
            Fault::MalformedJson => &mut c.malformed_json,
            Fault::MissingField => &mut c.missing_field,
            Fault::BadValue => &mut c.bad_value,
            Fault::Oversize => &mut c.oversize,
            Fault::UnknownProduct => &mut c.unknown_product,
        } += 1;
        Some(fault)
    }

    /// Whether to re-send this record (counted).
    pub fn duplicate<R: Rng>(&mut self, rng: &mut R) -> bool {
        let hit = self.duplicate > 0.0 && rng.random::<f64>() < self.duplicate;
        self.counts.duplicate += u64::from(hit);
        hit
    }

    /// Whether to add a back-dated event (counted).
    pub fn late<R: Rng>(&mut self, rng: &mut R) -> bool {
        let hit = self.late > 0.0 && rng.random::<f64>() < self.late;
        self.counts.late += u64::from(hit);
        hit
    }

    /// Whether to add an event from a wrong clock, far ahead (counted).
    pub fn future<R: Rng>(&mut self, rng: &mut R) -> bool {
        let hit = self.future > 0.0 && rng.random::<f64>() < self.future;
        self.counts.event_time_out_of_range += u64::from(hit);
        hit
    }

    pub fn counts(&self) -> &FaultCounts {
        &self.counts
    }
}
