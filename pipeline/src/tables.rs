//! In-memory catalog and orders tables (the local stand-ins for DynamoDB).

use rustc_hash::FxHashMap;

use crate::catalog::{Catalog, CatalogItem, Order, OrderTotals, Orders};
use crate::time::Millis;

/// Catalog items by product id.
#[derive(Clone, Debug, Default)]
pub struct CatalogTable {
    items: FxHashMap<String, CatalogItem>,
}

impl CatalogTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces an item; returns the previous one.
    pub fn upsert(&mut self, item: CatalogItem) -> Option<CatalogItem> {
        self.items.insert(item.product_id.to_string(), item)
    }

    pub fn get_mut(&mut self, product_id: &str) -> Option<&mut CatalogItem> {
        self.items.get_mut(product_id)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Items sorted by product id.
    pub fn sorted(&self) -> Vec<&CatalogItem> {
        let mut v: Vec<_> = self.items.values().collect();
        v.sort_by(|a, b| a.product_id.cmp(&b.product_id));
        v
    }
}

impl Catalog for CatalogTable {
    fn item(&self, product_id: &str) -> Option<&CatalogItem> {
        self.items.get(product_id)
    }
}

impl FromIterator<CatalogItem> for CatalogTable {
    fn from_iter<I: IntoIterator<Item = CatalogItem>>(iter: I) -> Self {
        let mut t = CatalogTable::new();
        for item in iter {
            t.upsert(item);
        }
        t
    }
}

/// One product's orders, sorted by time, with running totals so a range sum
/// is two binary searches.
#[derive(Clone, Debug, Default)]
struct ProductOrders {
    times: Vec<Millis>,
    /// `cum_units[i]` = units of orders `0..i`; one longer than `times`.
    cum_units: Vec<u64>,
    cum_revenue: Vec<f64>,
    lines: Vec<(u32, f64)>,
}

impl ProductOrders {
    fn insert(&mut self, time: Millis, quantity: u32, unit_price: f64) {
        if self.cum_units.is_empty() {
            self.cum_units.push(0);
            self.cum_revenue.push(0.0);
        }
        // Orders mostly arrive in time order: then this is a push.
        let at = self.times.partition_point(|&t| t <= time);
        self.times.insert(at, time);
        self.lines.insert(at, (quantity, unit_price));
        self.cum_units.truncate(at + 1);
        self.cum_revenue.truncate(at + 1);
        for &(q, p) in &self.lines[at..] {
            let units = self.cum_units[self.cum_units.len() - 1] + u64::from(q);
            let revenue = self.cum_revenue[self.cum_revenue.len() - 1] + f64::from(q) * p;
            self.cum_units.push(units);
            self.cum_revenue.push(revenue);
        }
    }

    fn totals(&self, from: Millis, to: Millis) -> OrderTotals {
        let [t] = self.totals_until([from], to);
        t
    }

    /// The totals from each of `froms` to `to`: the end is searched once,
    /// each start only below it.
    fn totals_until<const N: usize>(&self, froms: [Millis; N], to: Millis) -> [OrderTotals; N] {
        let b = self.times.partition_point(|&t| t < to);
        froms.map(|from| {
            if self.times.is_empty() || from >= to {
                return OrderTotals::default();
            }
            let a = self.times[..b].partition_point(|&t| t < from);
            OrderTotals {
                units: self.cum_units[b] - self.cum_units[a],
                revenue: self.cum_revenue[b] - self.cum_revenue[a],
            }
        })
    }
}

/// Orders by product.
#[derive(Clone, Debug, Default)]
pub struct OrdersTable {
    by_product: FxHashMap<String, ProductOrders>,
    count: usize,
}

impl OrdersTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, order: &Order) {
        self.by_product
            .entry(order.product_id.clone())
            .or_default()
            .insert(order.order_time, order.quantity, order.unit_price);
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl Orders for OrdersTable {
    fn totals(&self, product_id: &str, from: Millis, to: Millis) -> OrderTotals {
        self.by_product
            .get(product_id)
            .map_or_else(OrderTotals::default, |p| p.totals(from, to))
    }

    fn totals_until(&self, product_id: &str, froms: [Millis; 2], to: Millis) -> [OrderTotals; 2] {
        self.by_product
            .get(product_id)
            .map_or_else(Default::default, |p| p.totals_until(froms, to))
    }
}

impl<'a> FromIterator<&'a Order> for OrdersTable {
    fn from_iter<I: IntoIterator<Item = &'a Order>>(iter: I) -> Self {
        let mut t = OrdersTable::new();
        for o in iter {
            t.insert(o);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(t: Millis, q: u32, p: f64) -> Order {
        Order {
            order_id: format!("o{t}"),
            product_id: "p".into(),
            quantity: q,
            unit_price: p,
            order_time: t,
        }
    }

    #[test]
    fn range_totals_with_out_of_order_inserts() {
        let orders = [order(300, 1, 10.0), order(100, 2, 5.0), order(200, 3, 1.0)];
        let t: OrdersTable = orders.iter().collect();
        assert_eq!(
            t.totals("p", 100, 300),
            OrderTotals {
                units: 5,
                revenue: 13.0
            }
        );
        assert_eq!(t.totals("p", 0, 1_000).units, 6);
        assert_eq!(t.totals("p", 301, 1_000), OrderTotals::default());
        assert_eq!(t.totals("q", 0, 1_000), OrderTotals::default());
    }

    proptest::proptest! {
        /// Ranges that share their end, asked at once, total what their
        /// orders add up to: starts before, at, between and after the
        /// orders, and empty or reversed ranges.
        #[test]
        fn totals_until_one_end_are_the_totals_of_each_range(
            orders in proptest::collection::vec((0i64..50, 1u32..4, 1u8..20), 0..30),
            froms in proptest::array::uniform2(-5i64..60),
            to in -5i64..60,
            product in proptest::sample::select(vec!["p", "q"]),
        ) {
            let orders: Vec<Order> = orders
                .iter()
                .map(|&(t, q, p)| order(t, q, f64::from(p)))
                .collect();
            let table: OrdersTable = orders.iter().collect();
            // Whole prices: the sums are exact in any order.
            let each = froms.map(|from| {
                let hit = orders
                    .iter()
                    .filter(|o| o.product_id == product && from <= o.order_time && o.order_time < to);
                hit.fold(OrderTotals::default(), |t, o| OrderTotals {
                    units: t.units + u64::from(o.quantity),
                    revenue: t.revenue + f64::from(o.quantity) * o.unit_price,
                })
            });
            proptest::prop_assert_eq!(table.totals_until(product, froms, to), each);
            // The trait's own answer (a store without a shortcut) agrees.
            struct Plain<'a>(&'a OrdersTable);
            impl Orders for Plain<'_> {
                fn totals(&self, product_id: &str, from: Millis, to: Millis) -> OrderTotals {
                    self.0.totals(product_id, from, to)
                }
            }
            proptest::prop_assert_eq!(Plain(&table).totals_until(product, froms, to), each);
        }
    }
}

/// One window's product ids in [`FeaturesTable`] (a fixed hash: no
/// per-process seed, and ids that differ in their last bytes spread well).
type WindowKeys = std::collections::HashSet<std::sync::Arc<str>, foldhash::fast::FixedState>;

/// The features table with its change feed (the local DynamoDB table +
/// DynamoDB Streams). Puts are conditional on the key `(product_id,
/// window_end)`, so a replayed record changes nothing; new records go to the
/// feed the pricer consumes. Records older than `retention` behind the newest
/// window are dropped, bounding memory.
#[derive(Debug)]
pub struct FeaturesTable {
    /// The keys held: per window end, that window's product ids (shared
    /// with the records). A put hashes its id once instead of comparing
    /// `(end, id)` tuples down a tree, and retention drops whole windows.
    rows: std::collections::BTreeMap<Millis, WindowKeys>,
    /// Keys held over all windows.
    len: usize,
    /// The last window dropped, emptied: the next window's set, already
    /// grown to a window's size.
    spare: WindowKeys,
    feed: std::collections::VecDeque<crate::features::FeatureRecord>,
    retention: Millis,
    newest: Millis,
    puts: u64,
    rejected: u64,
}

impl FeaturesTable {
    pub fn new(retention: Millis) -> Self {
        FeaturesTable {
            rows: Default::default(),
            len: 0,
            spare: WindowKeys::default(),
            feed: Default::default(),
            retention,
            newest: Millis::MIN,
            puts: 0,
            rejected: 0,
        }
    }

    /// Conditional put: `true` if the key was new (the record joins the feed).
    pub fn put(&mut self, record: crate::features::FeatureRecord) -> bool {
        let end = record.window.end;
        if end < self.newest.saturating_sub(self.retention)
            || !self
                .rows
                .entry(end)
                .or_insert_with(|| std::mem::take(&mut self.spare))
                .insert(record.product_id.clone())
        {
            self.rejected += 1;
            return false;
        }
        self.len += 1;
        self.newest = self.newest.max(end);
        let horizon = self.newest.saturating_sub(self.retention);
        while let Some(oldest) = self.rows.first_entry()
            && *oldest.key() < horizon
        {
            let mut keys = oldest.remove();
            self.len -= keys.len();
            keys.clear();
            self.spare = keys;
        }
        self.feed.push_back(record);
        self.puts += 1;
        true
    }

    /// Takes up to `max` records from the change feed, oldest first.
    pub fn take_feed(&mut self, max: usize) -> Vec<crate::features::FeatureRecord> {
        let n = max.min(self.feed.len());
        self.feed.drain(..n).collect()
    }

    pub fn feed_len(&self) -> usize {
        self.feed.len()
    }

    /// (accepted puts, refused puts: duplicates or past retention).
    pub fn counts(&self) -> (u64, u64) {
        (self.puts, self.rejected)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod features_table_tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::features::{FEATURE_COUNT, FeatureRecord};
    use crate::window::Window;

    fn record(product: usize, end: Millis) -> FeatureRecord {
        FeatureRecord {
            product_id: format!("sku-{product:04}").into(),
            window: Window {
                start: end - 100_000,
                end,
            },
            brand: "B".into(),
            model: "M".into(),
            category: "c".into(),
            base_price: 100.0,
            current_price: 100.0,
            cost: 45.0,
            price_version: 0,
            features: [0.0; FEATURE_COUNT],
        }
    }

    proptest::proptest! {
        /// The conditional put against its plainest statement: a sorted set
        /// of `(window end, product)` keys, trimmed to the retention behind
        /// the newest end. Windows arrive late and repeat; every put's
        /// answer, the feed and the size agree.
        #[test]
        fn puts_are_conditional_on_the_key_within_retention(
            puts in proptest::collection::vec((0usize..6, 0i64..12), 0..200),
            retention_windows in 0i64..5,
        ) {
            let retention = retention_windows * 100_000;
            let mut table = FeaturesTable::new(retention);
            let mut keys: BTreeSet<(Millis, usize)> = BTreeSet::new();
            let mut newest = Millis::MIN;
            let mut fed = Vec::new();
            for (product, w) in puts {
                let end = 1_000_000 + w * 100_000;
                let new = end >= newest.saturating_sub(retention) && keys.insert((end, product));
                if new {
                    newest = newest.max(end);
                    keys.retain(|&(e, _)| e >= newest - retention);
                    fed.push((end, product));
                }
                proptest::prop_assert_eq!(table.put(record(product, end)), new);
                proptest::prop_assert_eq!(table.len(), keys.len());
                proptest::prop_assert_eq!(table.is_empty(), keys.is_empty());
            }
            let feed: Vec<(Millis, String)> = table
                .take_feed(usize::MAX)
                .iter()
                .map(|r| (r.window.end, r.product_id.to_string()))
                .collect();
            let want: Vec<(Millis, String)> =
                fed.iter().map(|&(e, p)| (e, format!("sku-{p:04}"))).collect();
            proptest::prop_assert_eq!(feed, want);
            let (accepted, refused) = table.counts();
            proptest::prop_assert_eq!(accepted as usize, fed.len());
            proptest::prop_assert!(refused as usize + fed.len() <= 200);
        }
    }
}
