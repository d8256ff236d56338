//! Readers of the human-rated sentence files: `*_GroundTruth.txt` (id, mean rating, text;
//! tab-separated, CRLF) and `*_anonDataRatings.txt` (id, mean, standard deviation, and the list of
//! every rater's integer rating, e.g. `[0, -1, 2]`). Malformed lines are errors naming the file
//! and line.

use std::path::Path;

use std::collections::HashMap;

use anyhow::{bail, Context};

/// One rated sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Rated {
    pub id: String,
    /// Mean rating of the human raters, from −4 (most negative) to +4.
    pub mean: f64,
    pub text: String,
}

/// Parse a ground-truth file.
pub fn read(path: &Path) -> anyhow::Result<Vec<Rated>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&String::from_utf8_lossy(&bytes), &path.display().to_string())
}

/// Parse the text of a ground-truth file; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> anyhow::Result<Vec<Rated>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(id), Some(mean), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
            bail!("{origin} line {}: expected `id<TAB>mean rating<TAB>text`, found {line:?}", i + 1);
        };
        let mean: f64 = mean
            .trim()
            .parse()
            .with_context(|| format!("{origin} line {}: mean rating {mean:?} is not a number", i + 1))?;
        out.push(Rated { id: id.to_string(), mean, text: text.trim().to_string() });
    }
    Ok(out)
}

/// Every rater's rating of each sentence, by sentence id.
pub type Ratings = HashMap<String, Vec<f32>>;

/// Parse a per-rater ratings file.
pub fn read_ratings(path: &Path) -> anyhow::Result<Ratings> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_ratings(&String::from_utf8_lossy(&bytes), &path.display().to_string())
}

/// Parse the text of a per-rater ratings file; `origin` names it in errors.
pub fn parse_ratings(text: &str, origin: &str) -> anyhow::Result<Ratings> {
    let mut out = Ratings::new();
    for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{origin} line {}", i + 1);
        let fields: Vec<&str> = line.splitn(4, '\t').collect();
        let [id, _mean, _sd, list] = fields[..] else {
            bail!("{}: expected `id<TAB>mean<TAB>sd<TAB>[ratings]`, found {line:?}", at());
        };
        let inner = list.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']'));
        let Some(inner) = inner else { bail!("{}: ratings {list:?} are not a [..] list", at()) };
        let ratings = inner
            .split(',')
            .map(|r| r.trim())
            .map(|r| r.parse::<f32>().with_context(|| format!("{}: rating {r:?} is not a number", at())))
            .collect::<anyhow::Result<Vec<f32>>>()?;
        if ratings.is_empty() {
            bail!("{}: no ratings", at());
        }
        out.insert(id.trim().to_string(), ratings);
    }
    Ok(out)
}

/// Probability that a random rater's rating of `a` is above a random rater's rating of `b`, ties
/// counting one half: the raters' soft preference for `a` over `b`.
pub fn preference(a: &[f32], b: &[f32]) -> f32 {
    let mut wins = 0.0f64;
    for &x in a {
        for &y in b {
            wins += if x > y {
                1.0
            } else if x == y {
                0.5
            } else {
                0.0
            };
        }
    }
    (wins / (a.len() * b.len()).max(1) as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_bad_lines() {
        let ok = parse("1\t2.5\tGreat fun.\r\n2\t-1\tDull\twith tab\r\n", "f.txt").unwrap();
        assert_eq!(ok[1], Rated { id: "2".into(), mean: -1.0, text: "Dull\twith tab".into() });
        let err = parse("1\t2.5\tok\n2\tgood\ttext\n", "f.txt").unwrap_err().to_string();
        assert!(err.contains("f.txt line 2") && err.contains("not a number"), "{err}");
        let err = parse("1\t2.5\n", "f.txt").unwrap_err().to_string();
        assert!(err.contains("f.txt line 1") && err.contains("expected"), "{err}");
    }

    #[test]
    fn ratings_parse_and_give_rater_preferences() {
        let r = parse_ratings("\u{feff}1_1\t-0.5\t0.5\t[0, -1]\r\n1_2\t1\t0\t[1, 1]\r\n", "r.txt").unwrap();
        assert_eq!(r["1_1"], vec![0.0, -1.0]);
        // 1 beats both 0 and -1: P = 1; 0 vs {0, -1}: (0.5 + 1) / 2.
        assert_eq!(preference(&r["1_2"], &r["1_1"]), 1.0);
        assert_eq!(preference(&[0.0], &[0.0, -1.0]), 0.75);
        assert_eq!(preference(&[0.0, -1.0], &[0.0]), 0.25, "P(a over b) + P(b over a) = 1");
        let err = parse_ratings("1\t0\t0\t[1, x]\n", "r.txt").unwrap_err().to_string();
        assert!(err.contains("r.txt line 1") && err.contains("\"x\""), "{err}");
        let err = parse_ratings("1\t0\t0\n", "r.txt").unwrap_err().to_string();
        assert!(err.contains("r.txt line 1") && err.contains("expected"), "{err}");
    }
}
