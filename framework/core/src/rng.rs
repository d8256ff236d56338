//! Deterministic randomness keyed by (seed, stream, item), so that results never depend on
//! thread scheduling or on the order in which things are computed.

/// SplitMix64 finalizer: a well-mixed 64-bit hash of `x`.
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hash of a seed, a named stream and an item index.
pub fn key(seed: u64, stream: &str, item: u64) -> u64 {
    let mut h = mix64(seed);
    for b in stream.bytes() {
        h = mix64(h ^ b as u64);
    }
    mix64(h ^ item)
}

/// A uniform number in [0, 1) for (seed, stream, item).
pub fn uniform(seed: u64, stream: &str, item: u64) -> f64 {
    (key(seed, stream, item) >> 11) as f64 / (1u64 << 53) as f64
}

/// A small seeded generator for shuffles.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64, stream: &str) -> Self {
        Rng(key(seed, stream, 0))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// 0..n in a seeded random order.
pub fn permutation(n: usize, seed: u64, stream: &str) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    Rng::new(seed, stream).shuffle(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_deterministic_and_complete() {
        let a = permutation(100, 7, "split");
        assert_eq!(a, permutation(100, 7, "split"));
        assert_ne!(a, permutation(100, 8, "split"));
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn uniform_is_roughly_uniform() {
        let n = 20_000;
        let mean: f64 = (0..n).map(|i| uniform(1, "u", i)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }
}
