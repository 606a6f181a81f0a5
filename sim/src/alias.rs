//! Weighted picks by Walker's alias method. The table is built as
//! `rand_distr`'s `WeightedAliasIndex` builds it, and a pick draws the same
//! two numbers, so from the same random stream the picks are the same (a
//! test compares them on any weights): the simulator's output does not
//! change. The difference is the last step. Whether a draw keeps its slot or
//! goes to the slot's alias is a coin toss the CPU cannot predict; the
//! library branches on it, and the branch was a tenth of the simulator's
//! mispredictions. Here both answers are loaded and one is selected.

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::Uniform;

#[derive(Clone, Debug)]
pub struct AliasTable {
    /// Per slot: the part of the weight sum its draws keep, and the slot
    /// that gets the rest.
    slots: Box<[(f64, u32)]>,
    index: Uniform<u32>,
    within: Uniform<f64>,
}

impl AliasTable {
    /// `None` where the library refuses the weights: none, more than
    /// `u32::MAX`, one negative, not a number or above `f64::MAX / n`, or
    /// a sum of zero.
    pub fn new(weights: &[f64]) -> Option<AliasTable> {
        let n = u32::try_from(weights.len()).ok().filter(|&n| n > 0)?;
        let cap = f64::MAX / f64::from(n);
        if !weights.iter().all(|&w| (0.0..=cap).contains(&w)) {
            return None;
        }
        let sum = pairwise_sum(weights).min(f64::MAX);
        if sum == 0.0 {
            return None;
        }
        let mut odds: Vec<f64> = weights
            .iter()
            .map(|&w| (w * f64::from(n)).min(f64::MAX))
            .collect();
        let mut alias: Vec<u32> = (0..n).collect();
        // Two stacks, filled in index order and taken from the top: the
        // library's two linked lists, in the order it pairs them.
        let (mut small, mut big): (Vec<u32>, Vec<u32>) =
            (0..n).partition(|&i| odds[i as usize] < sum);
        while let (Some(&s), Some(&b)) = (small.last(), big.last()) {
            small.pop();
            big.pop();
            alias[s as usize] = b;
            let (s, b) = (s as usize, b as usize);
            odds[b] = odds[b] - sum + odds[s];
            if odds[b] < sum {
                small.push(b as u32);
            } else {
                big.push(b as u32);
            }
        }
        // What is left keeps all its draws (rounding left it near, not at, the sum).
        for i in small.into_iter().chain(big) {
            odds[i as usize] = sum;
        }
        Some(AliasTable {
            slots: odds.into_iter().zip(alias).collect(),
            index: Uniform::new(0, n).ok()?,
            within: Uniform::new(0.0, sum).ok()?,
        })
    }
}

impl Distribution<usize> for AliasTable {
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let slot = self.index.sample(rng) as usize;
        let u = self.within.sample(rng);
        let (keep, alias) = self.slots[slot];
        // A select, not a branch (see the module's comment).
        let alias = alias as usize;
        [alias, slot][usize::from(u < keep)]
    }
}

/// The weights' sum as the library adds them: halves, down to runs of 32.
fn pairwise_sum(values: &[f64]) -> f64 {
    if values.len() <= 32 {
        values.iter().sum()
    } else {
        let (a, b) = values.split_at(values.len() / 2);
        pairwise_sum(a) + pairwise_sum(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Just;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use rand_distr::weighted::WeightedAliasIndex;

    proptest::proptest! {
        /// Any weights (zeros, ties, a wide range), some with one the
        /// library refuses: the table exists exactly when the library's
        /// does, and from the same stream every pick is the library's.
        #[test]
        fn picks_are_the_librarys_picks(
            mut weights in proptest::collection::vec(
                proptest::prop_oneof![Just(0.0), Just(1.0), 0.0f64..1.0, 0.0f64..1e6],
                0..300,
            ),
            bad in proptest::option::weighted(
                0.2,
                (proptest::num::usize::ANY, proptest::prop_oneof![Just(-1.0), Just(f64::NAN), Just(f64::INFINITY)]),
            ),
            seed: u64,
        ) {
            if let Some((at, w)) = bad.filter(|_| !weights.is_empty()) {
                let at = at % weights.len();
                weights[at] = w;
            }
            let ours = AliasTable::new(&weights);
            let theirs = WeightedAliasIndex::new(weights.clone()).ok();
            proptest::prop_assert_eq!(ours.is_some(), theirs.is_some());
            if let (Some(ours), Some(theirs)) = (ours, theirs) {
                let (mut a, mut b) = (SmallRng::seed_from_u64(seed), SmallRng::seed_from_u64(seed));
                for _ in 0..2_000 {
                    proptest::prop_assert_eq!(ours.sample(&mut a), theirs.sample(&mut b));
                }
            }
        }
    }

    #[test]
    fn a_zero_weight_is_never_picked() {
        let table = AliasTable::new(&[0.0, 3.0, 0.0, 1.0]).expect("valid weights");
        let mut rng = SmallRng::seed_from_u64(7);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[table.sample(&mut rng)] += 1;
        }
        assert_eq!((counts[0], counts[2]), (0, 0));
        // 3 : 1, within sampling error.
        let share = f64::from(counts[1]) / 40_000.0;
        assert!((share - 0.75).abs() < 0.01, "share {share}");
    }
}
