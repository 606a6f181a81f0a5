//! Statistical properties of the simulator, with fixed seeds. Each tolerance
//! is about four standard errors of the estimate, so a correct simulator
//! fails with probability well under 1e-3 per check, and a seed change does
//! not make the suite flaky.

use pipeline::time::{DAY, HOUR};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use sim::hawkes::cluster_size;
use sim::scenario::{DEFAULT_DAILY_SHAPE, Scenario, TrafficSpec};
use sim::traffic::Intensity;
use sim::{Shop, Simulator};

const MONDAY: i64 = 1_795_392_000_000; // 2026-11-23T00:00:00Z

fn steady(days: u32, extra: &str) -> Scenario {
    let toml = format!(
        "name = \"t\"\nseed = 9\nstart = \"2026-11-23T00:00:00Z\"\nduration = \"{days}d\"\n{extra}"
    );
    Scenario::parse(&toml).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn mean_hawkes_cluster_size_is_one_over_one_minus_n() {
    let mut rng = SmallRng::seed_from_u64(1);
    for n in [0.3, 0.5, 0.8] {
        let clusters = 40_000;
        let total: u64 = (0..clusters)
            .map(|_| cluster_size(n, 1_000_000, &mut rng))
            .sum();
        let mean = total as f64 / clusters as f64;
        // Var(size) = n / (1 − n)^3 for Poisson offspring.
        let se = (n / (1.0f64 - n).powi(3) / clusters as f64).sqrt();
        let expected = 1.0 / (1.0 - n);
        assert!(
            (mean - expected).abs() < 4.0 * se,
            "n = {n}: mean {mean:.3}, expected {expected:.3} ± {:.3}",
            4.0 * se
        );
    }
}

#[test]
fn arrivals_follow_the_daily_and_weekly_shape() {
    let spec = TrafficSpec {
        sessions_per_day: 40_000.0,
        ..TrafficSpec::default()
    };
    let mut intensity = Intensity::new(&spec);
    let mut rng = SmallRng::seed_from_u64(2);
    let (start, end) = (MONDAY as f64, (MONDAY + 28 * DAY) as f64);
    let mut by_hour = [0u64; 24];
    let (mut weekday, mut weekend) = (0u64, 0u64);
    let mut t = start;
    while let Some(next) = intensity.next_arrival(t, end, &mut rng) {
        t = next;
        let ms = t as i64;
        by_hour[((ms % DAY) / HOUR) as usize] += 1;
        if ((ms - MONDAY) / DAY) % 7 >= 5 {
            weekend += 1
        } else {
            weekday += 1
        }
    }
    let total: u64 = by_hour.iter().sum();
    let mean_shape = DEFAULT_DAILY_SHAPE.iter().sum::<f64>() / 24.0;
    for (h, &count) in by_hour.iter().enumerate() {
        let expected_share = DEFAULT_DAILY_SHAPE[h] / mean_shape / 24.0;
        let share = count as f64 / total as f64;
        let se = (expected_share * (1.0 - expected_share) / total as f64).sqrt();
        assert!(
            (share - expected_share).abs() < 4.0 * se,
            "hour {h}: {share:.5} vs {expected_share:.5}"
        );
    }
    // The calibration targets themselves: 03:00 at ~0.23× the hourly mean, 10–19 h at ~1.4×.
    let hourly_mean = total as f64 / 24.0;
    assert!((by_hour[3] as f64 / hourly_mean - 0.23).abs() < 0.03);
    for (h, &count) in by_hour.iter().enumerate().take(19).skip(10) {
        assert!((count as f64 / hourly_mean - 1.4).abs() < 0.06, "hour {h}");
    }
    // Per weekend day vs per weekday: the configured 0.8.
    let ratio = (weekend as f64 / 8.0) / (weekday as f64 / 20.0);
    assert!((ratio - 0.8).abs() < 0.02, "weekend ratio {ratio:.3}");
}

fn run(sc: Scenario) -> (Simulator, Shop) {
    let (mut sim, mut shop) = Simulator::new(sc, None).unwrap();
    sim.finish(&mut shop, &mut |_: u32, _: i64, _: &[u8]| {});
    (sim, shop)
}

fn within(name: &str, observed: u64, trials: u64, p: f64) {
    let rate = observed as f64 / trials as f64;
    let se = (p * (1.0 - p) / trials as f64).sqrt();
    assert!(
        (rate - p).abs() < 4.0 * se,
        "{name}: {rate:.4} over {trials}, expected {p} ± {:.4}",
        4.0 * se
    );
}

#[test]
fn funnel_rates_match_the_configuration() {
    let (sim, _) = run(steady(10, ""));
    let [views, clicks, carts, _, purchases] = sim.stats().events;
    within("view → click", clicks, views, 0.20);
    within("click → cart", carts, clicks, 0.13);
    within("cart → purchase", purchases, sim.stats().decisions, 0.32);
    // The real-data anchors: view → cart ≈ 2.6 %, cart → purchase ≈ 32 %.
    within("view → cart", carts, views, 0.026);
}

#[test]
fn a_price_increase_lowers_purchases_by_the_elasticity_factor() {
    // A high-traffic funnel so many shoppers reach the decision.
    let extra =
        "[funnel]\nclick_rate = 0.6\ncart_rate = 0.6\n[demand]\nreference_sensitivity = 0.0\n";
    let purchase_rate = |markup: f64| {
        let sc = steady(4, extra);
        let (mut sim, mut shop) = Simulator::new(sc, None).unwrap();
        for ix in 0..shop.len() as u32 {
            let base = shop.get(ix).base_price;
            shop.set_price(ix, base * markup);
        }
        // Plenty of stock, so no purchase is refused.
        for item in (0..shop.len()).map(|i| format!("sku-{i:04}")) {
            shop.item_mut(&item).unwrap().inventory = 1_000_000;
        }
        sim.finish(&mut shop, &mut |_: u32, _: i64, _: &[u8]| {});
        let s = sim.stats();
        (s.events[4] as f64 / s.decisions as f64, s.decisions)
    };
    let (at_base, n0) = purchase_rate(1.0);
    let (raised, n1) = purchase_rate(1.1);
    let predicted = 1.1f64.powf(-2.62);
    let ratio = raised / at_base;
    // Delta method: se(ratio) ≈ ratio · sqrt((1−p0)/(p0 n0) + (1−p1)/(p1 n1)).
    let se = ratio
        * ((1.0 - at_base) / (at_base * n0 as f64) + (1.0 - raised) / (raised * n1 as f64)).sqrt();
    assert!(
        (ratio - predicted).abs() < 4.0 * se,
        "ratio {ratio:.4}, predicted {predicted:.4} ± {:.4}",
        4.0 * se
    );
}

#[test]
fn stock_never_goes_negative_and_orders_match_stock_drawn() {
    for seed in 0..4 {
        let extra = format!(
            "seed = {seed}\n[catalog]\nproducts = 20\ncover_days = 0.5\ninventory_range = [0, 5]\nrestock_every = \"never\"\n"
        );
        let toml =
            format!("name = \"t\"\nstart = \"2026-11-23T00:00:00Z\"\nduration = \"1d\"\n{extra}");
        let sc = Scenario::parse(&toml).unwrap();
        let (mut sim, mut shop) = Simulator::new(sc, None).unwrap();
        let initial: Vec<i64> = shop.items().iter().map(|i| i.inventory).collect();
        sim.finish(&mut shop, &mut |_: u32, _: i64, _: &[u8]| {});
        for (i, item) in shop.items().iter().enumerate() {
            assert!(item.inventory >= 0);
            let sold = shop
                .orders()
                .iter()
                .filter(|o| *o.product_id == *item.product_id)
                .count() as i64;
            assert_eq!(initial[i] - item.inventory, sold, "{}", item.product_id);
        }
        assert!(
            sim.stats().missed_out_of_stock > 0,
            "seed {seed}: stock ran out"
        );
    }
}
