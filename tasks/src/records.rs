//! Reader of users' labelled files: JSON lines (one object per line, e.g.
//! `{"txt": "...", "hard_label": 1}`, as the reference code writes them) or CSV with a header
//! row. Each record gives a text and a raw label, a class index or a class name; a malformed
//! line is an error naming the file, the line and what was expected.

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated, with a header row naming the columns.
    Csv,
}

impl Format {
    /// The format that a file's extension names (`.jsonl`, `.csv`), if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "jsonl" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// A label as written: a class index or a class name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawLabel {
    Index(usize),
    Name(String),
}

/// One example as read, with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub line: usize,
    pub text: String,
    pub label: RawLabel,
}

/// Which fields (JSON keys or CSV columns) hold the text and the label, and what to do with a
/// malformed line: fail naming it (default), or skip it, warn, and count it.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    pub text: &'a str,
    pub label: &'a str,
    pub skip_bad_lines: bool,
}

/// Keep `record`, or (when skipping) log the error of a malformed line and count it.
fn keep_or_skip(
    record: anyhow::Result<Record>,
    fields: Fields<'_>,
    skipped: &mut usize,
    out: &mut Vec<Record>,
) -> anyhow::Result<()> {
    match record {
        Ok(r) => out.push(r),
        Err(e) if fields.skip_bad_lines => {
            *skipped += 1;
            if *skipped <= 5 {
                tracing::warn!("skipped: {e:#}");
            }
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Read a file.
pub fn read(path: &Path, format: Format, fields: Fields<'_>) -> anyhow::Result<Vec<Record>> {
    let text = crate::text_file::read_user_text(path)?;
    parse(&text, &path.display().to_string(), format, fields)
}

/// Parse the text of a file; `origin` names it in errors. A file without examples is an error.
pub fn parse(text: &str, origin: &str, format: Format, fields: Fields<'_>) -> anyhow::Result<Vec<Record>> {
    if text.trim().is_empty() {
        bail!("{origin}: the file is empty; expected labelled examples");
    }
    let mut skipped = 0;
    let records = match format {
        Format::Jsonl => parse_jsonl(text, origin, fields, &mut skipped)?,
        Format::Csv => parse_csv(text, origin, fields, &mut skipped)?,
    };
    if skipped > 0 {
        tracing::warn!("{origin}: skipped {skipped} malformed line(s), kept {}", records.len());
    }
    if records.is_empty() {
        bail!("{origin}: the file has no examples, only a header");
    }
    Ok(records)
}

fn parse_jsonl(text: &str, origin: &str, fields: Fields<'_>, skipped: &mut usize) -> anyhow::Result<Vec<Record>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        keep_or_skip(jsonl_record(line, i + 1, origin, fields), fields, skipped, &mut out)?;
    }
    Ok(out)
}

fn jsonl_record(line: &str, number: usize, origin: &str, fields: Fields<'_>) -> anyhow::Result<Record> {
    let at = format!("{origin} line {number}");
    {
        let expected = format!("a JSON object such as {{\"{}\": \"some text\", \"{}\": 0}}", fields.text, fields.label);
        let value: Value = serde_json::from_str(line).with_context(|| format!("{at}: expected {expected}"))?;
        let Value::Object(obj) = value else { bail!("{at}: expected {expected}, found {line}") };
        let get = |field: &str| obj.get(field).ok_or_else(|| anyhow::anyhow!("{at}: field \"{field}\" is missing"));
        let text = match get(fields.text)? {
            Value::String(s) => s.clone(),
            other => bail!("{at}: field \"{}\" must be a string, found {other}", fields.text),
        };
        let label = match get(fields.label)? {
            Value::String(s) => name_label(s, &at, fields)?,
            Value::Number(n) => match (n.as_u64(), n.as_f64()) {
                (Some(u), _) => RawLabel::Index(u as usize),
                (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 => RawLabel::Index(f as usize),
                _ => return Err(bad_label(&at, fields, &n.to_string())),
            },
            other => return Err(bad_label(&at, fields, &other.to_string())),
        };
        Ok(Record { line: number, text, label })
    }
}

fn parse_csv(text: &str, origin: &str, fields: Fields<'_>, skipped: &mut usize) -> anyhow::Result<Vec<Record>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader.headers().with_context(|| format!("{origin} line 1: expected a header row"))?.clone();
    let column = |field: &str| {
        header.iter().position(|h| h.trim() == field).ok_or_else(|| {
            let names: Vec<&str> = header.iter().collect();
            anyhow::anyhow!("{origin} line 1: the header has no column \"{field}\" (columns: {})", names.join(", "))
        })
    };
    let (text_col, label_col) = (column(fields.text)?, column(fields.label)?);
    let mut out = Vec::new();
    for row in reader.records() {
        let record = csv_record(row, origin, fields, text_col, label_col);
        keep_or_skip(record, fields, skipped, &mut out)?;
    }
    Ok(out)
}

fn csv_record(
    row: Result<csv::StringRecord, csv::Error>,
    origin: &str,
    fields: Fields<'_>,
    text_col: usize,
    label_col: usize,
) -> anyhow::Result<Record> {
    {
        let row = row.map_err(|e| match (e.position(), e.kind()) {
            (Some(pos), csv::ErrorKind::UnequalLengths { expected_len, len, .. }) => anyhow::anyhow!(
                "{origin} line {}: expected {expected_len} fields, as in the header, found {len}",
                pos.line()
            ),
            (Some(pos), _) => anyhow::anyhow!("{origin} line {}: {e}", pos.line()),
            (None, _) => anyhow::anyhow!("{origin}: {e}"),
        })?;
        let line = row.position().map_or(0, |p| p.line() as usize);
        let at = format!("{origin} line {line}");
        let cell = row.get(label_col).unwrap_or_default().trim();
        let label = if let Ok(i) = cell.parse::<i64>() {
            usize::try_from(i).map(RawLabel::Index).map_err(|_| bad_label(&at, fields, cell))?
        } else if cell.parse::<f64>().is_ok_and(f64::is_finite) {
            return Err(bad_label(&at, fields, cell));
        } else {
            name_label(cell, &at, fields)?
        };
        Ok(Record { line, text: row.get(text_col).unwrap_or_default().to_string(), label })
    }
}

fn name_label(name: &str, at: &str, fields: Fields<'_>) -> anyhow::Result<RawLabel> {
    if name.trim().is_empty() {
        bail!("{at}: field \"{}\" is empty; expected a class index or name", fields.label);
    }
    Ok(RawLabel::Name(name.to_string()))
}

fn bad_label(at: &str, fields: Fields<'_>, found: &str) -> anyhow::Error {
    anyhow::anyhow!("{at}: field \"{}\" must be a class index (0, 1, ...) or a class name, found {found}", fields.label)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Fields<'static> = Fields { text: "txt", label: "hard_label", skip_bad_lines: false };

    #[test]
    fn skipping_keeps_the_good_lines_and_still_fails_without_it() {
        let text =
            "{\"txt\": \"a\", \"hard_label\": 0}\nnot json\n{\"txt\": \"b\"}\n{\"txt\": \"c\", \"hard_label\": 1}\n";
        let skip = Fields { skip_bad_lines: true, ..F };
        let kept = parse(text, "d.jsonl", Format::Jsonl, skip).unwrap();
        assert_eq!(kept.iter().map(|r| (r.line, r.text.as_str())).collect::<Vec<_>>(), [(1, "a"), (4, "c")]);
        let err = parse(text, "d.jsonl", Format::Jsonl, F).unwrap_err().to_string();
        assert!(err.contains("d.jsonl line 2"), "{err}");
        let csv_text = "txt,hard_label\na,0\nb,0,extra\nc,1\n";
        let kept = parse(csv_text, "d.csv", Format::Csv, skip).unwrap();
        assert_eq!(kept.len(), 2);
        assert!(parse(csv_text, "d.csv", Format::Csv, F).unwrap_err().to_string().contains("d.csv line 3"));
    }

    fn err(text: &str, format: Format) -> String {
        format!("{:#}", parse(text, "data.x", format, F).unwrap_err())
    }

    #[test]
    fn reads_jsonl_and_csv() {
        let j = parse(
            "{\"txt\": \"good\", \"hard_label\": 1, \"extra\": true}\n\n{\"txt\": \"bad\", \"hard_label\": 0.0}\n",
            "d",
            Format::Jsonl,
            F,
        )
        .unwrap();
        assert_eq!(j[0], Record { line: 1, text: "good".into(), label: RawLabel::Index(1) });
        assert_eq!(j[1], Record { line: 3, text: "bad".into(), label: RawLabel::Index(0) });
        let c =
            parse("id,hard_label,txt\n1,pos,\"fine, really\"\n2, neg ,\"two\nlines\"\n3,1,x\n", "d", Format::Csv, F)
                .unwrap();
        assert_eq!(c[0], Record { line: 2, text: "fine, really".into(), label: RawLabel::Name("pos".into()) });
        assert_eq!(c[1], Record { line: 3, text: "two\nlines".into(), label: RawLabel::Name("neg".into()) });
        assert_eq!(c[2], Record { line: 5, text: "x".into(), label: RawLabel::Index(1) });
        assert_eq!(Format::from_path(Path::new("a/b.JSONL")), Some(Format::Jsonl));
        assert_eq!(Format::from_path(Path::new("b.tsv")), None);
    }

    #[test]
    fn bad_lines_name_file_line_and_expectation() {
        let ok = "{\"txt\": \"a\", \"hard_label\": 0}\n";
        let cases: [(String, Format, &[&str]); 11] = [
            (
                format!("{ok}{{\"text\": \"b\", \"hard_label\": 1}}\n"),
                Format::Jsonl,
                &["data.x line 2", "field \"txt\" is missing"],
            ),
            (
                format!("{ok}{ok}{{\"txt\": \"b\"}}\n"),
                Format::Jsonl,
                &["data.x line 3", "field \"hard_label\" is missing"],
            ),
            (
                format!("{ok}{{\"txt\": \"b\", \"hard_label\": 1\n"),
                Format::Jsonl,
                &["data.x line 2", "expected a JSON object"],
            ),
            (format!("{ok}[1, 2]\n"), Format::Jsonl, &["data.x line 2", "expected a JSON object", "found [1, 2]"]),
            (
                format!("{ok}{{\"txt\": 5, \"hard_label\": 1}}\n"),
                Format::Jsonl,
                &["data.x line 2", "\"txt\" must be a string"],
            ),
            (
                format!("{ok}{{\"txt\": \"b\", \"hard_label\": 1.5}}\n"),
                Format::Jsonl,
                &["data.x line 2", "class index", "found 1.5"],
            ),
            (format!("{ok}{{\"txt\": \"b\", \"hard_label\": -1}}\n"), Format::Jsonl, &["data.x line 2", "found -1"]),
            ("txt,hard_label\na,0\nb,-2\n".into(), Format::Csv, &["data.x line 3", "class index", "found -2"]),
            ("txt,hard_label\na,0\nb,0.5\n".into(), Format::Csv, &["data.x line 3", "found 0.5"]),
            (
                "txt,hard_label\na,0\nb,1,extra\n".into(),
                Format::Csv,
                &["data.x line 3", "expected 2 fields", "found 3"],
            ),
            ("text,label\na,0\n".into(), Format::Csv, &["data.x line 1", "no column \"txt\"", "columns: text, label"]),
        ];
        for (text, format, needles) in cases {
            let e = err(&text, format);
            assert!(needles.iter().all(|n| e.contains(n)), "{text:?}: {e}");
        }
        assert!(err("", Format::Jsonl).contains("data.x: the file is empty"));
        assert!(err(" \n\n", Format::Csv).contains("the file is empty"));
        assert!(err("txt,hard_label\n", Format::Csv).contains("no examples"));
        assert!(err("txt,hard_label\na, \n", Format::Csv).contains("line 2: field \"hard_label\" is empty"));
    }
}
