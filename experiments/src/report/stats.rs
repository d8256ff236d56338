//! The one statistic the findings use: the mean of paired effects with a 95% interval
//! (mean ± 1.96 standard errors, the standard error over the pairs), and the verdict rule.

/// An effect measured over `n` pairs (or runs).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub n: usize,
}

impl Estimate {
    /// Mean and 95% interval of finite `xs`; NaN with n = 0 when there are none. With one value
    /// the interval is unbounded (no spread to estimate).
    pub fn of(xs: impl IntoIterator<Item = f64>) -> Estimate {
        let v: Vec<f64> = xs.into_iter().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return Estimate { mean: f64::NAN, low: f64::NAN, high: f64::NAN, n };
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Estimate { mean, low: f64::NEG_INFINITY, high: f64::INFINITY, n };
        }
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let half = 1.96 * (var / n as f64).sqrt();
        Estimate { mean, low: mean - half, high: mean + half, n }
    }

    /// `0.12 [0.05, 0.19], n = 30`.
    pub fn text(&self) -> String {
        if self.n == 0 {
            return "NaN (nothing to measure)".into();
        }
        format!("{:.3} [{:.3}, {:.3}], n = {}", self.mean, self.low, self.high, self.n)
    }
}

/// What a measurement says about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Reproduced,
    NotReproduced,
    Inconclusive,
    /// The preset that measures it is not among the results.
    Missing,
}

impl Verdict {
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::NotReproduced => "not reproduced",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Missing => "missing",
        }
    }
}

/// The claim's side of a bound: the effect is above it (`Above`) or below it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Side {
    Above(f64),
    Below(f64),
    /// Strictly between the two bounds.
    Between(f64, f64),
}

impl Side {
    /// `> 0`, `< 0.3`, `in (0, 1)`.
    pub fn text(self) -> String {
        match self {
            Side::Above(b) => format!("> {b}"),
            Side::Below(b) => format!("< {b}"),
            Side::Between(a, b) => format!("in ({a}, {b})"),
        }
    }
}

/// The rule stated in the report: reproduced when the whole 95% interval is on the claimed side
/// of the bound, not reproduced when it is wholly on the other side, inconclusive otherwise.
pub fn verdict(e: &Estimate, side: Side) -> Verdict {
    if e.n < 2 || !e.mean.is_finite() {
        return Verdict::Inconclusive;
    }
    match side {
        Side::Above(b) if e.low > b => Verdict::Reproduced,
        Side::Above(b) if e.high < b => Verdict::NotReproduced,
        Side::Below(b) if e.high < b => Verdict::Reproduced,
        Side::Below(b) if e.low > b => Verdict::NotReproduced,
        Side::Between(a, b) if e.low > a && e.high < b => Verdict::Reproduced,
        Side::Between(a, b) if e.high < a || e.low > b => Verdict::NotReproduced,
        _ => Verdict::Inconclusive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_and_verdicts() {
        let e = Estimate::of([1.0, 2.0, 3.0, f64::NAN]);
        assert_eq!(e.n, 3);
        assert!((e.mean - 2.0).abs() < 1e-12);
        // sd 1, se 1/sqrt(3): half-width 1.96 * 0.577 = 1.132.
        assert!((e.high - 3.1316).abs() < 1e-3, "{e:?}");
        assert_eq!(verdict(&e, Side::Above(0.5)), Verdict::Reproduced);
        assert_eq!(verdict(&e, Side::Above(1.5)), Verdict::Inconclusive);
        assert_eq!(verdict(&e, Side::Below(0.5)), Verdict::NotReproduced);
        assert_eq!(verdict(&e, Side::Below(3.5)), Verdict::Reproduced);
        assert_eq!(verdict(&e, Side::Between(0.5, 3.5)), Verdict::Reproduced);
        assert_eq!(verdict(&e, Side::Between(0.5, 2.5)), Verdict::Inconclusive);
        assert_eq!(verdict(&e, Side::Between(4.0, 5.0)), Verdict::NotReproduced);
        assert_eq!(verdict(&Estimate::of([1.0]), Side::Above(0.0)), Verdict::Inconclusive, "one value: no interval");
        assert_eq!(Estimate::of([]).n, 0);
        assert!(Estimate::of([]).text().contains("NaN"));
    }
}
