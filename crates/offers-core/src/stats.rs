//! Plain statistics for A/B figures: the Wilson score interval of a rate, the two-proportion
//! z-test, and which arm of an experiment leads ([`compare`]). Pure functions over counts, so
//! the API's figures and the Studio's verdict are the same numbers.

use serde::{Deserialize, Serialize};

/// The normal quantile of a two-sided 95 % interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// A p-value under this is significant.
pub const SIGNIFICANCE: f64 = 0.05;

/// A closed interval of a rate, both ends in `0.0..=1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The lower end.
    pub low: f64,
    /// The upper end.
    pub high: f64,
}

/// The 95 % Wilson score interval of `successes` out of `trials`. No trials (or nonsense
/// counts): `0..0`, as a rate without trials is shown as 0. Successes beyond the trials are
/// taken as the trials.
pub fn wilson_interval(successes: i64, trials: i64) -> Interval {
    if trials <= 0 {
        return Interval {
            low: 0.0,
            high: 0.0,
        };
    }
    let n = trials as f64;
    let p = successes.clamp(0, trials) as f64 / n;
    let z2 = Z_95 * Z_95;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z_95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Interval {
        low: (center - half).clamp(0.0, 1.0),
        high: (center + half).clamp(0.0, 1.0),
    }
}

/// The complementary error function (W. J. Cody's rational Chebyshev fit as in Numerical
/// Recipes' `erfcc`: relative error under 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The two-sided p-value of the pooled two-proportion z-test of `s1` of `n1` against `s2` of
/// `n2`. `None` when it is not defined: an arm without trials, or both rates 0 or both 1.
pub fn two_proportion_p_value(s1: i64, n1: i64, s2: i64, n2: i64) -> Option<f64> {
    if n1 <= 0 || n2 <= 0 {
        return None;
    }
    let (s1, s2) = (s1.clamp(0, n1) as f64, s2.clamp(0, n2) as f64);
    let (n1, n2) = (n1 as f64, n2 as f64);
    let pooled = (s1 + s2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se <= 0.0 || !se.is_finite() {
        return None;
    }
    let z = (s1 / n1 - s2 / n2) / se;
    Some(erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0))
}

/// One arm of an experiment: successes (clicks or conversions) out of trials (impressions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Arm {
    /// Clicks or conversions.
    pub successes: i64,
    /// Impressions.
    pub trials: i64,
}

impl Arm {
    /// successes / trials; 0 without trials.
    pub fn rate(&self) -> f64 {
        if self.trials <= 0 {
            0.0
        } else {
            self.successes.clamp(0, self.trials) as f64 / self.trials as f64
        }
    }
}

/// Which arm leads and whether its lead over the next one is significant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The index of the arm with the highest rate (ties: the lower index).
    pub leader: usize,
    /// The index of the arm with the next highest rate.
    pub runner_up: usize,
    /// The two-proportion test of leader against runner-up (`None`: not defined).
    pub p_value: Option<f64>,
    /// `p_value < 0.05`.
    pub significant: bool,
}

/// The leader of `arms` by rate and the test against the runner-up; `None` for fewer than
/// two arms.
pub fn compare(arms: &[Arm]) -> Option<Comparison> {
    if arms.len() < 2 {
        return None;
    }
    let mut order: Vec<usize> = (0..arms.len()).collect();
    // Stable: equal rates keep the lower index first.
    order.sort_by(|a, b| arms[*b].rate().total_cmp(&arms[*a].rate()));
    let (leader, runner_up) = (order[0], order[1]);
    let (l, r) = (arms[leader], arms[runner_up]);
    let p_value = two_proportion_p_value(l.successes, l.trials, r.successes, r.trials);
    Some(Comparison {
        leader,
        runner_up,
        p_value,
        significant: p_value.is_some_and(|p| p < SIGNIFICANCE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn wilson_matches_known_values() {
        // Reference values: scipy / statsmodels proportion_confint(method="wilson").
        let i = wilson_interval(10, 100);
        assert!(
            close(i.low, 0.055_229, 1e-6) && close(i.high, 0.174_366, 1e-6),
            "{i:?}"
        );
        let i = wilson_interval(0, 10);
        assert!(
            close(i.low, 0.0, 1e-12) && close(i.high, 0.277_533, 1e-6),
            "{i:?}"
        );
        let i = wilson_interval(10, 10);
        assert!(
            close(i.low, 0.722_467, 1e-6) && close(i.high, 1.0, 1e-12),
            "{i:?}"
        );
        let i = wilson_interval(1, 2);
        assert!(
            close(i.low, 0.094_531, 1e-6) && close(i.high, 0.905_469, 1e-6),
            "{i:?}"
        );
        assert_eq!(
            wilson_interval(0, 0),
            Interval {
                low: 0.0,
                high: 0.0
            }
        );
        let i = wilson_interval(20, 10);
        assert!(i.low > 0.6 && i.high <= 1.0, "clamped to the trials");
    }

    #[test]
    fn two_proportion_test_matches_known_values() {
        let p = two_proportion_p_value(60, 1000, 40, 1000).unwrap();
        assert!(close(p, 0.040_174, 1e-5), "{p}");
        let p = two_proportion_p_value(120, 1000, 80, 1000).unwrap();
        assert!(close(p, 0.002_869, 1e-5), "{p}");
        let p = two_proportion_p_value(10, 100, 10, 100).unwrap();
        assert!(close(p, 1.0, 1e-6), "{p}");
        assert_eq!(two_proportion_p_value(1, 0, 1, 10), None);
        assert_eq!(two_proportion_p_value(0, 10, 0, 10), None);
        assert_eq!(two_proportion_p_value(10, 10, 5, 5), None);
        assert_eq!(
            two_proportion_p_value(40, 1000, 60, 1000),
            two_proportion_p_value(60, 1000, 40, 1000),
            "symmetric"
        );
    }

    #[test]
    fn compare_names_the_leader_and_its_significance() {
        let arm = |successes, trials| Arm { successes, trials };
        assert_eq!(compare(&[]), None);
        assert_eq!(compare(&[arm(1, 2)]), None);
        let c = compare(&[arm(40, 1000), arm(120, 1000), arm(80, 1000)]).unwrap();
        assert_eq!((c.leader, c.runner_up, c.significant), (1, 2, true));
        assert!(close(c.p_value.unwrap(), 0.002_869, 1e-5));
        let c = compare(&[arm(10, 100), arm(11, 100)]).unwrap();
        assert_eq!((c.leader, c.runner_up, c.significant), (1, 0, false));
        let c = compare(&[arm(0, 0), arm(0, 0)]).unwrap();
        assert_eq!(
            (c.leader, c.runner_up, c.p_value, c.significant),
            (0, 1, None, false)
        );
        assert_eq!(arm(3, 0).rate(), 0.0);
    }
}
