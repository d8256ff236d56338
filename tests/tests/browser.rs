//! The headless-Chromium page check (`w2s_tests::browser`) on hand-written pages. Each test skips
//! (after the helper's `skipped: no Chromium …` line) where there is no Chromium.

use std::path::{Path, PathBuf};

use w2s_tests::browser::{render_check, render_check_with};

/// A 2×2 red PNG.
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg==";
/// `<svg … width="10" height="10"><rect … fill="blue"/></svg>`.
const SVG: &str = "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxMCIgaGVpZ2h0PSIxMCI+PHJlY3Qgd2lkdGg9IjEwIiBoZWlnaHQ9IjEwIiBmaWxsPSJibHVlIi8+PC9zdmc+";

/// `<svg width="10" height="10"><rect width="10" height="10"/></svg>`: no `xmlns`, so not an SVG image.
const NO_XMLNS: &str = "PHN2ZyB3aWR0aD0iMTAiIGhlaWdodD0iMTAiPjxyZWN0IHdpZHRoPSIxMCIgaGVpZ2h0PSIxMCIvPjwvc3ZnPg==";

/// Write `body` as a page titled `title` into `dir`.
fn page(dir: &Path, title: &str, body: &str) -> PathBuf {
    let path = dir.join("report.html");
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n{body}\n</body></html>\n"
    );
    std::fs::write(&path, html).unwrap();
    path
}

fn img(alt: &str, mime: &str, data: &str) -> String {
    format!("<img alt=\"{alt}\" src=\"data:{mime};base64,{data}\">")
}

#[test]
fn png_and_svg_figures_and_the_findings_table_are_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "<h1>Report</h1>\n{}\n{}\n\
         <svg width=\"20\" height=\"20\"><svg><circle r=\"5\"/></svg></svg>\n\
         <table id=\"findings\"><thead><tr><th>finding</th><th>value</th></tr></thead>\n\
         <tbody><tr><td>PGR</td><td>0.4</td></tr><tr><td>gap</td><td>0.1</td></tr></tbody></table>",
        img("accuracy curve", "image/png", PNG),
        img("PGR by run", "image/svg+xml", SVG),
    );
    let html = page(dir.path(), "w2s report — é", &body);
    let Some(check) = render_check(&html).unwrap() else { return };
    assert_eq!(check.images, 2, "{check:?}");
    assert_eq!(check.drawn, 2, "{check:?}");
    assert!(check.undrawn.is_empty(), "{check:?}");
    assert!(check.all_drawn());
    assert_eq!(check.inline_svgs, 1, "{check:?}");
    assert_eq!(check.findings_rows, Some(2), "{check:?}");
    assert_eq!(check.title, "w2s report — é");
}

#[test]
fn a_broken_data_uri_is_reported_undrawn() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{}\n{}\n<img src=\"data:image/svg+xml;base64,{NO_XMLNS}\">\n\
         <table id=\"findings\"><tr><th>finding</th></tr><tr><td>one</td></tr></table>",
        img("good", "image/png", PNG),
        img("broken figure", "image/png", "AAAAbm90IGEgcG5n!!"),
    );
    let html = page(dir.path(), "broken", &body);
    let Some(check) = render_check(&html).unwrap() else { return };
    assert_eq!(check.images, 3, "{check:?}");
    assert_eq!(check.drawn, 1, "{check:?}");
    // An SVG without `xmlns` is not decoded as an image: undrawn, and named by its index as it has no alt.
    assert_eq!(check.undrawn, vec!["broken figure".to_string(), "#2".to_string()]);
    assert!(!check.all_drawn());
    // A header row outside `<thead>` (the parser puts it in the body) is not a finding.
    assert_eq!(check.findings_rows, Some(1), "{check:?}");
}

#[test]
fn no_findings_table_and_no_relative_files() {
    let dir = tempfile::tempdir().unwrap();
    // A real PNG next to the page, loaded by relative path: the page is not self-contained.
    std::fs::write(dir.path().join("figure.png"), decode(PNG)).unwrap();
    let html = page(dir.path(), "", "<p>no table</p>\n<img alt=\"side file\" src=\"figure.png\">");
    let Some(check) = render_check(&html).unwrap() else { return };
    assert_eq!(check.findings_rows, None, "{check:?}");
    assert_eq!((check.images, check.drawn, check.inline_svgs), (1, 0, 0), "{check:?}");
    assert_eq!(check.undrawn, vec!["side file".to_string()]);
    assert_eq!(check.title, "");
}

#[test]
fn a_failing_browser_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let html = page(dir.path(), "t", "");
    let err = format!("{:#}", render_check_with(Path::new("/bin/false"), &html).unwrap_err());
    assert!(err.contains("/bin/false failed (exit status: 1)"), "{err}");
    let err = format!("{:#}", render_check_with(Path::new("/bin/true"), &html).unwrap_err());
    assert!(err.contains("dumped no DOM"), "{err}");
    let err = format!("{:#}", render_check_with(Path::new("/bin/true"), &dir.path().join("missing.html")).unwrap_err());
    assert!(err.contains("reading the page"), "{err}");
}

/// Standard base64 (of a constant, so no error handling).
fn decode(b64: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextets: Vec<u32> =
        b64.bytes().filter(|&c| c != b'=').map(|c| ALPHABET.iter().position(|&a| a == c).unwrap() as u32).collect();
    let mut out = Vec::new();
    for chunk in sextets.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &v)| n | v << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}
