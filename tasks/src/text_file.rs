//! Reading a user's text file: UTF-8, with an optional byte-order mark (which editors on Windows
//! write and which would otherwise corrupt the first field name or label); anything else is an
//! error naming the file, the line and the byte offset, not silently replaced characters.

use std::path::Path;

use anyhow::{bail, Context};

/// The text of `path`, without a leading UTF-8 byte-order mark.
pub fn read_user_text(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    decode(&bytes, &path.display().to_string())
}

/// `bytes` as UTF-8 text without a byte-order mark; `origin` names the file in errors.
pub fn decode(bytes: &[u8], origin: &str) -> anyhow::Result<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let at = e.valid_up_to();
            let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
            let column = 1 + at - bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            bail!(
                "{origin} line {line}, column {column} (byte {at}): not UTF-8 text (byte 0x{:02x}); \
                 save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`",
                bytes[at]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_dropped_and_bad_bytes_name_their_line() {
        assert_eq!(decode(b"\xEF\xBB\xBFtext,label\n", "f.csv").unwrap(), "text,label\n");
        let err = decode(b"text,label\nok,1\ncaf\xe9,0\n", "f.csv").unwrap_err().to_string();
        assert!(err.contains("f.csv line 3, column 4") && err.contains("0xe9") && err.contains("UTF-8"), "{err}");
    }
}
