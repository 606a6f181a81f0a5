//! The simulated shop: catalog (live prices, stock), popularity and orders.
//! Implements the pipeline's `Catalog` and `Orders` traits, so the streaming
//! core reads the very table the shoppers buy from.

use pipeline::{Catalog, CatalogItem, Millis, Order, OrderTotals, Orders, OrdersTable};
use rand::Rng;
use rustc_hash::FxHashMap;

use crate::scenario::CatalogSpec;

#[derive(Clone, Debug)]
pub struct Shop {
    items: Vec<CatalogItem>,
    index: FxHashMap<String, u32>,
    /// Share of baseline browsing per product (sums to 1).
    popularity: Vec<f64>,
    initial_inventory: Vec<i64>,
    orders: OrdersTable,
    order_log: Vec<Order>,
}

/// Product index inside the shop (dense, in catalog order).
pub type ProductIx = u32;

impl Shop {
    /// Builds a shop from items in popularity order (first = most popular).
    pub fn new(items: Vec<CatalogItem>, zipf_exponent: f64) -> Shop {
        let weights: Vec<f64> = (0..items.len())
            .map(|r| 1.0 / ((r + 1) as f64).powf(zipf_exponent))
            .collect();
        let total: f64 = weights.iter().sum();
        let index = items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.product_id.to_string(), i as u32))
            .collect();
        Shop {
            initial_inventory: items.iter().map(|i| i.inventory).collect(),
            popularity: weights.iter().map(|w| w / total).collect(),
            items,
            index,
            orders: OrdersTable::new(),
            order_log: Vec::new(),
        }
    }

    /// Generates `spec.products` products: `sku-0000` is the most popular.
    /// Starting stock covers `cover_days` of expected baseline sales.
    pub fn generate<R: Rng>(spec: &CatalogSpec, expected_units_per_day: f64, rng: &mut R) -> Shop {
        let [lo, hi] = spec.price_range;
        let weights: Vec<f64> = (0..spec.products)
            .map(|r| 1.0 / ((r + 1) as f64).powf(spec.zipf_exponent))
            .collect();
        let total: f64 = weights.iter().sum();
        let items = (0..spec.products)
            .map(|i| {
                let base = round_price((lo.ln() + rng.random::<f64>() * (hi / lo).ln()).exp());
                let cost_ratio = spec.cost_ratio[0]
                    + rng.random::<f64>() * (spec.cost_ratio[1] - spec.cost_ratio[0]);
                let brand = &spec.brands[rng.random_range(0..spec.brands.len())];
                let expected = expected_units_per_day * weights[i] / total * spec.cover_days;
                let stock = (expected * (0.5 + rng.random::<f64>())).round() as i64;
                CatalogItem {
                    product_id: format!("sku-{i:04}").into(),
                    brand: brand.as_str().into(),
                    model: format!("{brand} {}", 100 + i).into(),
                    category: spec.categories[rng.random_range(0..spec.categories.len())]
                        .as_str()
                        .into(),
                    base_price: base,
                    current_price: Some(base),
                    cost: cents(base * cost_ratio),
                    min_price: cents(base * spec.min_ratio),
                    max_price: cents(base * spec.max_ratio),
                    map_price: cents(base * spec.map_ratio),
                    inventory: stock.clamp(spec.inventory_range[0], spec.inventory_range[1]),
                    price_version: 0,
                    last_window: 0,
                    next_restock: 0,
                }
            })
            .collect();
        Shop::new(items, spec.zipf_exponent)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn items(&self) -> &[CatalogItem] {
        &self.items
    }

    pub fn get(&self, p: ProductIx) -> &CatalogItem {
        &self.items[p as usize]
    }

    pub fn ix(&self, product_id: &str) -> Option<ProductIx> {
        self.index.get(product_id).copied()
    }

    pub fn popularity(&self) -> &[f64] {
        &self.popularity
    }

    pub fn price(&self, p: ProductIx) -> f64 {
        self.items[p as usize].current_price()
    }

    /// Sets the live price (a pricing decision or a sale); bumps the price version.
    pub fn set_price(&mut self, p: ProductIx, price: f64) {
        let item = &mut self.items[p as usize];
        item.current_price = Some(price);
        item.price_version += 1;
    }

    pub fn item_mut(&mut self, product_id: &str) -> Option<&mut CatalogItem> {
        let i = self.ix(product_id)?;
        Some(&mut self.items[i as usize])
    }

    pub fn inventory(&self, p: ProductIx) -> i64 {
        self.items[p as usize].inventory
    }

    /// Books an order of one unit at the live price, drawing stock; `None` when out of stock.
    pub fn buy(&mut self, p: ProductIx, order_id: String, t: Millis) -> Option<f64> {
        let item = &mut self.items[p as usize];
        if item.inventory < 1 {
            return None;
        }
        item.inventory -= 1;
        let order = Order {
            order_id,
            product_id: item.product_id.to_string(),
            quantity: 1,
            unit_price: item.current_price(),
            order_time: t,
        };
        self.orders.insert(&order);
        let price = order.unit_price;
        self.order_log.push(order);
        Some(price)
    }

    /// Refills every product to its starting stock.
    /// Sets a product's stock, now and at every restock.
    pub fn set_stock(&mut self, p: ProductIx, stock: i64) {
        self.items[p as usize].inventory = stock;
        self.initial_inventory[p as usize] = stock;
    }

    /// The stock a restock refills a product to.
    pub fn restock_level(&self, p: ProductIx) -> i64 {
        self.initial_inventory[p as usize]
    }

    /// Announces the next restock (epoch ms, 0 = none) on every item.
    pub fn set_next_restock(&mut self, at: Millis) {
        for item in &mut self.items {
            item.next_restock = at;
        }
    }

    pub fn restock(&mut self) {
        for (item, &init) in self.items.iter_mut().zip(&self.initial_inventory) {
            item.inventory = item.inventory.max(init);
        }
    }

    pub fn orders(&self) -> &[Order] {
        &self.order_log
    }
}

impl Catalog for Shop {
    fn item(&self, product_id: &str) -> Option<&CatalogItem> {
        self.ix(product_id).map(|i| &self.items[i as usize])
    }
}

impl Orders for Shop {
    fn totals(&self, product_id: &str, from: Millis, to: Millis) -> OrderTotals {
        self.orders.totals(product_id, from, to)
    }

    fn totals_until(&self, product_id: &str, froms: [Millis; 2], to: Millis) -> [OrderTotals; 2] {
        self.orders.totals_until(product_id, froms, to)
    }
}

fn cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Shop prices end in .99 (or .49 under 100).
fn round_price(v: f64) -> f64 {
    if v < 100.0 {
        cents(v.floor() + 0.49)
    } else {
        cents(v.floor() + 0.99)
    }
}
