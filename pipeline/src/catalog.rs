//! Reference data the core joins against: catalog items and orders, read
//! through small traits so the same core runs over in-memory tables or DynamoDB.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::time::Millis;

/// One product of the catalog (docs/catalog.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogItem {
    // Shared, not copied, into every feature record of the product.
    pub product_id: Arc<str>,
    pub brand: Arc<str>,
    pub model: Arc<str>,
    pub category: Arc<str>,
    pub base_price: f64,
    /// Defaults to `base_price`.
    #[serde(default)]
    pub current_price: Option<f64>,
    pub cost: f64,
    pub min_price: f64,
    pub max_price: f64,
    /// Minimum advertised price; 0 means none.
    #[serde(default)]
    pub map_price: f64,
    pub inventory: i64,
    /// Bumped by every applied price change.
    #[serde(default)]
    pub price_version: u64,
    /// End (epoch ms) of the last window whose decision was applied.
    #[serde(default)]
    pub last_window: Millis,
    /// When stock is next replenished (epoch ms); 0 when none is scheduled.
    #[serde(default)]
    pub next_restock: Millis,
}

impl CatalogItem {
    pub fn current_price(&self) -> f64 {
        self.current_price.unwrap_or(self.base_price)
    }

    /// Checks the invariants a pricer relies on; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("`{name}` must be a positive number, got {v}"))
            }
        };
        if self.product_id.is_empty() {
            return Err("`product_id` is empty".into());
        }
        positive("base_price", self.base_price)?;
        positive("current_price", self.current_price())?;
        positive("max_price", self.max_price)?;
        for (name, v) in [
            ("cost", self.cost),
            ("min_price", self.min_price),
            ("map_price", self.map_price),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("`{name}` must be a number >= 0, got {v}"));
            }
        }
        if self.min_price > self.max_price {
            return Err(format!(
                "`min_price` ({}) is above `max_price` ({})",
                self.min_price, self.max_price
            ));
        }
        if self.next_restock < 0 {
            return Err(format!(
                "`next_restock` must be epoch ms >= 0, got {}",
                self.next_restock
            ));
        }
        if self.inventory < 0 {
            return Err(format!("`inventory` must be >= 0, got {}", self.inventory));
        }
        Ok(())
    }
}

/// One order line (docs/catalog.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub product_id: String,
    pub quantity: u32,
    pub unit_price: f64,
    /// Epoch milliseconds.
    pub order_time: Millis,
}

/// Units and revenue ordered over a time range.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OrderTotals {
    pub units: u64,
    pub revenue: f64,
}

/// Read access to the catalog.
pub trait Catalog {
    fn item(&self, product_id: &str) -> Option<&CatalogItem>;
}

/// Read access to orders.
pub trait Orders {
    /// Totals of orders for `product_id` with `from <= order_time < to`.
    fn totals(&self, product_id: &str, from: Millis, to: Millis) -> OrderTotals;

    /// [`Orders::totals`] from each of `froms` to the one `to` (a closing
    /// window asks for its own range and a recent horizon, both ending at
    /// its end): a store may find the product and the end once for all.
    fn totals_until(&self, product_id: &str, froms: [Millis; 2], to: Millis) -> [OrderTotals; 2] {
        froms.map(|from| self.totals(product_id, from, to))
    }
}
