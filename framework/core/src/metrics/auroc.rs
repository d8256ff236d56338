//! Area under the ROC curve of a binary score, as EleutherAI/w2s reports it next to accuracy
//! (`w2s/roc_auc.py`, which computes it from the sorted scores; here the equivalent
//! Mann–Whitney form: the probability that a random positive scores above a random negative,
//! ties counting ½, the convention of `sklearn.metrics.roc_auc_score`).

/// AUROC of `scores` against binary `labels`; NaN when one class is absent (undefined), or when
/// the lengths differ (a caller's bug, logged).
pub fn auroc(scores: &[f64], labels: &[bool]) -> f64 {
    if scores.len() != labels.len() {
        tracing::error!("AUROC of {} scores against {} labels is undefined", scores.len(), labels.len());
        return f64::NAN;
    }
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 || scores.iter().any(|s| s.is_nan()) {
        return f64::NAN;
    }
    // Ranks 1..=n of the sorted scores, tied scores sharing their average rank.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));
    let mut ranks = vec![0.0; scores.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let average = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        start = end;
    }
    let positive_ranks: f64 = (0..scores.len()).filter(|&i| labels[i]).map(|i| ranks[i]).sum();
    let (p, n) = (n_pos as f64, n_neg as f64);
    (positive_ranks - p * (p + 1.0) / 2.0) / (p * n)
}

/// AUROC of two-class probabilities (the score is the probability of class 1) against labels;
/// `None` when the task has another number of classes (AUROC is then not defined here).
pub fn auroc_of_probs(probs: &[Vec<f32>], labels: &[usize]) -> Option<f64> {
    if probs.iter().any(|p| p.len() != 2) {
        return None;
    }
    let scores: Vec<f64> = probs.iter().map(|p| p[1] as f64).collect();
    let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
    Some(auroc(&scores, &positive))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers_and_ties() {
        // sklearn's documented example: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.75
        // (of the 4 positive-negative pairs, 3 are ordered right: (0.35 < 0.4) is the one wrong).
        let auc = auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]);
        assert!((auc - 0.75).abs() < 1e-12, "{auc}");
        // Perfect, reversed, and all tied (½).
        assert_eq!(auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), 1.0);
        assert_eq!(auroc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), 0.0);
        assert_eq!(auroc(&[0.5; 4], &[false, true, false, true]), 0.5);
        // One tie between a positive and a negative counts ½: pairs (p=0.5 vs n=0.5) ½, (p=0.5 vs
        // n=0.1) 1, (p=0.9 vs both) 2: 3.5 of 4.
        assert_eq!(auroc(&[0.1, 0.5, 0.5, 0.9], &[false, false, true, true]), 0.875);
        assert!(auroc(&[0.1, 0.2], &[true, true]).is_nan(), "one class only");
        assert!(auroc(&[0.1], &[true, false]).is_nan(), "lengths differ");
    }

    #[test]
    fn probabilities_of_two_classes_only() {
        let probs = vec![vec![0.9, 0.1], vec![0.2, 0.8]];
        assert_eq!(auroc_of_probs(&probs, &[0, 1]), Some(1.0));
        assert_eq!(auroc_of_probs(&[vec![0.2, 0.3, 0.5]], &[2]), None);
    }
}
