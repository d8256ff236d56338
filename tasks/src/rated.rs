//! Reader of the human-rated sentence files (`*_GroundTruth.txt`: id, mean rating, text;
//! tab-separated, CRLF). Malformed lines are errors naming the file and line.

use std::path::Path;

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
}
