//! A watched product's demand, price and stock per closed window (what the
//! report charts), and several products taken together.

use pipeline::Millis;
use serde::Serialize;

/// A watched product's demand and price, per closed window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Series {
    pub window_end: Vec<Millis>,
    pub views_per_minute: Vec<f32>,
    pub price: Vec<f64>,
    /// Stock when the window closed.
    pub inventory: Vec<f32>,
}

impl Series {
    /// Several products as one (a brand's sighting): views and stock summed,
    /// the price averaged, at every window any of them closed. A product
    /// without events in a window adds no views and keeps its last price and
    /// stock (its first known ones before it has any).
    pub fn aggregate(parts: &[&Series]) -> Series {
        let mut ends: Vec<Millis> = parts.iter().flat_map(|s| s.window_end.clone()).collect();
        ends.sort_unstable();
        ends.dedup();
        let mut at = vec![0usize; parts.len()];
        let mut out = Series::default();
        for &end in &ends {
            let (mut views, mut price, mut stock, mut n) = (0.0, 0.0, 0.0, 0usize);
            for (s, i) in parts.iter().zip(&mut at) {
                if *i < s.window_end.len() && s.window_end[*i] == end {
                    views += s.views_per_minute[*i];
                    *i += 1;
                }
                let last = i.saturating_sub(1);
                if let (Some(p), Some(q)) = (s.price.get(last), s.inventory.get(last)) {
                    price += p;
                    stock += q;
                    n += 1;
                }
            }
            out.window_end.push(end);
            out.views_per_minute.push(views);
            out.price.push(if n > 0 { price / n as f64 } else { 0.0 });
            out.inventory.push(stock);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_together_sum_views_and_stock_and_average_the_price() {
        let a = Series {
            window_end: vec![100, 200],
            views_per_minute: vec![1.0, 2.0],
            price: vec![10.0, 12.0],
            inventory: vec![5.0, 4.0],
        };
        // Quiet in window 100: no views, its first known price and stock.
        let b = Series {
            window_end: vec![200, 300],
            views_per_minute: vec![3.0, 1.0],
            price: vec![20.0, 22.0],
            inventory: vec![7.0, 6.0],
        };
        let both = Series::aggregate(&[&a, &b]);
        assert_eq!(both.window_end, [100, 200, 300]);
        assert_eq!(both.views_per_minute, [1.0, 5.0, 1.0]);
        assert_eq!(both.price, [15.0, 16.0, 17.0]);
        assert_eq!(both.inventory, [12.0, 11.0, 10.0]);
    }
}
