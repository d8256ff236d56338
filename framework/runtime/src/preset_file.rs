//! Preset files: a preset written as JSON or TOML, read into the JSON value that
//! `Preset::from_value` parses; syntax errors name the file, line and column, and [`locate`] finds
//! the line and column of a field named in a later error.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// Read a preset file (`.json` or `.toml`). Syntax errors name the file, line and column.
pub fn read(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading preset file {}", path.display()))?;
    parse(path, &text)
}

/// Parse the `text` of the preset file at `path` (TOML if its extension says so, else JSON).
pub fn parse(path: &Path, text: &str) -> anyhow::Result<Value> {
    let is_toml = path.extension().and_then(|e| e.to_str()) == Some("toml");
    if is_toml {
        let v: toml::Value =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("preset file {}: {e}", path.display()))?;
        Ok(serde_json::to_value(v)?)
    } else {
        serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!("preset file {}: line {}, column {}: {e}", path.display(), e.line(), e.column())
        })
    }
}

/// The line and column (1-based) where the field at `path` (`task[0].n_train`, `strong_train.lr`)
/// is written in a preset file's `text` (JSON or TOML), when it can be found: each key of the
/// path is searched for as a key (`"key":` or `key =`, or a TOML table header) after the
/// previous one. `None` when a key is not written in the file (a default, an override).
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let keys: Vec<&str> =
        path.split(['.', '[', ']']).filter(|k| !k.is_empty() && k.parse::<usize>().is_err()).collect();
    let lines: Vec<&str> = text.lines().collect();
    let (mut line, mut found) = (0usize, None);
    for key in keys {
        let quoted = format!("\"{key}\"");
        let hit = lines.iter().enumerate().skip(line).find_map(|(n, l)| key_column(l, key, &quoted).map(|c| (n, c)))?;
        line = hit.0;
        found = Some((hit.0 + 1, hit.1 + 1));
    }
    found
}

/// The column where `key` is written as a key on `line`: `"key":` (JSON), `key =` or `key=`
/// (TOML, also inside an inline table), or a table header `[key]`, `[[key]]`, `[a.key]`.
fn key_column(line: &str, key: &str, quoted: &str) -> Option<usize> {
    let followed_by = |rest: &str, c: char| rest.trim_start().starts_with(c);
    let mut from = 0;
    while let Some(pos) = line[from..].find(quoted).map(|p| p + from) {
        if followed_by(&line[pos + quoted.len()..], ':') || followed_by(&line[pos + quoted.len()..], '=') {
            return Some(pos);
        }
        from = pos + quoted.len();
    }
    let mut from = 0;
    while let Some(pos) = line[from..].find(key).map(|p| p + from) {
        let before = line[..pos].chars().next_back();
        let after = &line[pos + key.len()..];
        let starts = before.is_none_or(|c| c.is_whitespace() || "{,.[".contains(c));
        if starts && (followed_by(after, '=') || after.starts_with(']') || after.starts_with('.')) {
            return Some(pos);
        }
        from = pos + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.json");
        std::fs::write(&f, "{\n  \"task\": \"sentiment\",\n  \"weak\" \"bow\"\n}").unwrap();
        let err = read(&f).unwrap_err().to_string();
        assert!(err.contains("p.json") && err.contains("line 3"), "{err}");
        let t = dir.path().join("p.toml");
        std::fs::write(&t, "task = \"sentiment\"\nweak = [\n").unwrap();
        let err = read(&t).unwrap_err().to_string();
        assert!(err.contains("p.toml") && err.contains("line 2") || err.contains("line 3"), "{err}");
    }

    #[test]
    fn fields_are_located_in_toml_and_json() {
        // The file position of a field, in TOML and in JSON.
        let toml = "description = \"x\"\nseeds = [0]\n\n[strong_train]\nepochs = 2\nlr = \"fast\"\n\n[[task]]\nkind = \"sentiment\"\nn_train = \"many\"\n";
        assert_eq!(locate(toml, "strong_train.lr"), Some((6, 1)));
        assert_eq!(locate(toml, "task[0].n_train"), Some((10, 1)));
        assert_eq!(locate(toml, "weak_train.lr"), None, "not written in the file");
        let inline = "task = { kind = \"sentiment\", n_train = \"many\" }\n";
        assert_eq!(locate(inline, "task.n_train"), Some((1, 30)));
        let json_text = "{\n  \"task\": {\"kind\": \"sentiment\",\n    \"n_train\": \"many\"},\n  \"strong_train\": {\"lr\": \"fast\"}\n}";
        assert_eq!(locate(json_text, "task.n_train"), Some((3, 5)));
        assert_eq!(locate(json_text, "strong_train.lr"), Some((4, 20)));
    }
}
