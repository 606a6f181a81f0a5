//! The text of a feature record that only its product decides (ids, names,
//! base price, cost), written once per product instead of once per record:
//! every window writes the same product's strings again.

use std::sync::Arc;

use super::{FeatureRecord, PriceTexts, json_str, write_price};
use crate::sized_writer::append_sized;

/// A product's three fixed pieces, around the record's times and current
/// price. Kept with the record's strings themselves (the same allocations:
/// held here, their addresses are not reused while the entry lives) and its
/// prices' bits, which a record must share to use it.
pub(super) struct ProductText {
    product_id: Arc<str>,
    brand: Arc<str>,
    model: Arc<str>,
    category: Arc<str>,
    base_price: u64,
    cost: u64,
    text: Vec<u8>,
    /// Where the first and second pieces end in `text`.
    ends: [usize; 2],
}

impl ProductText {
    fn of(
        r: &FeatureRecord,
        floats: &mut zmij::Buffer,
        prices: &mut PriceTexts,
    ) -> serde_json::Result<ProductText> {
        let mut text = Vec::new();
        let mut ends = [0; 2];
        let strings = [&r.product_id, &r.brand, &r.model, &r.category];
        // Escaping makes a string at most six times longer; the rest is
        // keys and two prices.
        let bound = 256 + strings.iter().map(|s| 6 * s.len()).sum::<usize>();
        append_sized(&mut text, bound, |w| -> serde_json::Result<()> {
            w.put(b"{\"product_id\":");
            json_str(w, &r.product_id)?;
            w.put(b",\"window_start\":\"");
            Ok(())
        })?;
        ends[0] = text.len();
        append_sized(&mut text, bound, |w| -> serde_json::Result<()> {
            w.put(b"\",\"brand\":");
            json_str(w, &r.brand)?;
            w.put(b",\"model\":");
            json_str(w, &r.model)?;
            w.put(b",\"category\":");
            json_str(w, &r.category)?;
            w.put(b",\"base_price\":");
            write_price(w, floats, prices, r.base_price);
            w.put(b",\"current_price\":");
            Ok(())
        })?;
        ends[1] = text.len();
        append_sized(&mut text, bound, |w| {
            w.put(b",\"cost\":");
            write_price(w, floats, prices, r.cost);
            w.put(b",\"price_version\":");
        });
        Ok(ProductText {
            product_id: r.product_id.clone(),
            brand: r.brand.clone(),
            model: r.model.clone(),
            category: r.category.clone(),
            base_price: r.base_price.to_bits(),
            cost: r.cost.to_bits(),
            text,
            ends,
        })
    }

    fn fits(&self, r: &FeatureRecord) -> bool {
        Arc::ptr_eq(&self.product_id, &r.product_id)
            && Arc::ptr_eq(&self.brand, &r.brand)
            && Arc::ptr_eq(&self.model, &r.model)
            && Arc::ptr_eq(&self.category, &r.category)
            && self.base_price == r.base_price.to_bits()
            && self.cost == r.cost.to_bits()
    }

    /// From the record's start to the window's start time.
    pub(super) fn head(&self) -> &[u8] {
        &self.text[..self.ends[0]]
    }

    /// From after the window's end time to the current price.
    pub(super) fn middle(&self) -> &[u8] {
        &self.text[self.ends[0]..self.ends[1]]
    }

    /// From after the current price to the price version.
    pub(super) fn tail(&self) -> &[u8] {
        &self.text[self.ends[1]..]
    }
}

/// Slots for the products' texts, chosen by the address of the product
/// id's allocation (a catalog's products keep theirs for as long as they
/// are unchanged); two products sharing a slot take turns in it.
pub(super) struct ProductTexts {
    slots: Vec<Option<ProductText>>,
}

const SLOTS: usize = 1024;

impl ProductTexts {
    pub(super) fn new() -> ProductTexts {
        ProductTexts {
            slots: (0..SLOTS).map(|_| None).collect(),
        }
    }

    /// The fixed pieces of `r`'s text, written now unless its slot holds them.
    pub(super) fn get(
        &mut self,
        r: &FeatureRecord,
        floats: &mut zmij::Buffer,
        prices: &mut PriceTexts,
    ) -> serde_json::Result<&ProductText> {
        let address = Arc::as_ptr(&r.product_id) as *const u8 as usize as u64;
        // Fibonacci hashing: allocations are aligned, the top bits mix them all.
        let slot =
            (address.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros())) as usize;
        let entry = &mut self.slots[slot];
        // Another product's text, or this one's before a change, goes.
        entry.take_if(|e| !e.fits(r));
        Ok(match entry {
            Some(e) => e,
            None => entry.insert(ProductText::of(r, floats, prices)?),
        })
    }
}
