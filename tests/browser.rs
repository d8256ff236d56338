//! Render an HTML page in a real headless Chromium and report whether its figures are drawn.
//!
//! [`render_check`] copies the page into a fresh temporary folder with a small script appended that
//! waits for `window.load`, then inspects the DOM (images, inline SVGs, the `table#findings`) and
//! writes what it found as JSON into a `<pre>`; Chromium's `--dump-dom` output is then parsed.
//! The copy is not next to the original, so a page that loads files by relative path shows those
//! images as undrawn: a self-contained page (data URIs only) is what passes.
//!
//! Chromium is found by [`chromium`]; `scripts/install-chromium.sh` (run by `scripts/test.sh`)
//! installs it where it can. Without it, [`render_check`] says so and returns `Ok(None)`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Deserialize;

/// How long Chromium may take to load and dump one page before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The binary names searched on `PATH`, in order.
const NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/// The id of the `<pre>` the injected script writes its JSON into.
const CHECK_ID: &str = "w2s-render-check";

/// What the injected script found in the page once it had loaded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PageCheck {
    /// `<img>` elements in the page.
    pub images: usize,
    /// Those of them that were decoded and drawn (`complete && naturalWidth > 0`).
    pub drawn: usize,
    /// The undrawn images, each named by its `alt` text, or `#<index>` (0-based, document order)
    /// when it has none.
    pub undrawn: Vec<String>,
    /// Top-level inline `<svg>` elements (an `<svg>` nested in another is not counted again).
    pub inline_svgs: usize,
    /// The rows of `table#findings` that hold data (body rows with at least one `<td>`; header rows
    /// of `<th>` cells only are not counted, in `<thead>` or not). `None`: the page has no such table.
    pub findings_rows: Option<usize>,
    /// `document.title`.
    pub title: String,
}

impl PageCheck {
    /// Every `<img>` was drawn.
    pub fn all_drawn(&self) -> bool {
        self.drawn == self.images && self.undrawn.is_empty()
    }
}

/// The Chromium (or Chrome) binary: `$W2S_CHROMIUM` when it names an existing file (a path, or a
/// name on `PATH`), else the first of `chromium`, `chromium-browser`, `google-chrome`,
/// `google-chrome-stable` on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(named) = std::env::var_os("W2S_CHROMIUM").filter(|v| !v.is_empty()) {
        let named = PathBuf::from(named);
        if named.is_file() {
            return Some(named);
        }
        if let Some(found) = named.to_str().and_then(on_path) {
            return Some(found);
        }
        eprintln!("W2S_CHROMIUM={} is not a file nor on PATH; looking for Chromium on PATH", named.display());
    }
    NAMES.iter().find_map(|name| on_path(name))
}

/// An executable file called `name` in a `PATH` folder.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if name.contains('/') {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false))
}

/// Open `html` in headless Chromium and report what was drawn; `Ok(None)` (after a `skipped: …`
/// line on stderr) when there is no Chromium. Errors name what failed: the page unreadable,
/// Chromium failing or timing out (with the tail of its stderr), the check's JSON missing.
pub fn render_check(html: &Path) -> anyhow::Result<Option<PageCheck>> {
    let Some(browser) = chromium() else {
        eprintln!(
            "skipped: no Chromium (run `bash scripts/install-chromium.sh` as root, or \
             `apt-get install chromium`, or set W2S_CHROMIUM to a Chromium/Chrome binary)"
        );
        return Ok(None);
    };
    render_check_with(&browser, html).map(Some)
}

/// [`render_check`] with a given browser binary.
pub fn render_check_with(browser: &Path, html: &Path) -> anyhow::Result<PageCheck> {
    let page = fs::read_to_string(html).with_context(|| format!("reading the page {}", html.display()))?;
    let dir = tempfile::Builder::new().prefix("w2s-render-").tempdir().context("making a temporary folder")?;
    let copy = dir.path().join("page.html");
    fs::write(&copy, inject(&page)).with_context(|| format!("writing {}", copy.display()))?;
    let dom = dump_dom(browser, &copy, dir.path(), TIMEOUT).with_context(|| format!("rendering {}", html.display()))?;
    parse_check(&dom).with_context(|| format!("checking {}", html.display()))
}

/// The script run on `window.load`: it appends `<pre id=CHECK_ID>` holding the JSON of a
/// [`PageCheck`], with `&`, `<`, `>` and non-ASCII written as `\uXXXX` so that the dumped DOM's
/// HTML escaping leaves it as it is.
fn script() -> String {
    SCRIPT.replace("@ID@", CHECK_ID)
}

const SCRIPT: &str = r##"<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var undrawn = [];
  imgs.forEach(function (img, i) {
    if (!(img.complete && img.naturalWidth > 0)) undrawn.push(img.alt ? img.alt : "#" + i);
  });
  var table = document.querySelector("table#findings");
  var rows = null;
  if (table) {
    rows = 0;
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var data = Array.prototype.some.call(row.cells, function (cell) { return cell.tagName === "TD"; });
        if (data) rows += 1;
      });
    });
  }
  var check = {
    images: imgs.length,
    drawn: imgs.length - undrawn.length,
    undrawn: undrawn,
    inline_svgs: document.querySelectorAll("svg:not(svg svg)").length,
    findings_rows: rows,
    title: document.title
  };
  var pre = document.createElement("pre");
  pre.id = "@ID@";
  pre.textContent = JSON.stringify(check).replace(/[^\x20-\x7e]|[&<>]/g, function (c) {
    return "\\u" + ("0000" + c.charCodeAt(0).toString(16)).slice(-4);
  });
  document.body.appendChild(pre);
});
</script>
"##;

/// The page with the check script inserted before its last `</body>` (or at its end).
fn inject(page: &str) -> String {
    let at = page.to_ascii_lowercase().rfind("</body>").unwrap_or(page.len());
    format!("{}{}{}", &page[..at], script(), &page[at..])
}

/// Run Chromium on `page` and return the DOM it dumps, killing it (and the processes it started)
/// after `timeout`. `scratch` holds its profile and output.
fn dump_dom(browser: &Path, page: &Path, scratch: &Path, timeout: Duration) -> anyhow::Result<String> {
    use std::os::unix::process::CommandExt;
    let out_path = scratch.join("dom.html");
    let err_path = scratch.join("stderr.txt");
    let mut child = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox", // needed as root (and in most containers)
            "--disable-gpu",
            "--disable-dev-shm-usage", // small /dev/shm in containers
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", scratch.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path)?)
        .stderr(fs::File::create(&err_path)?)
        .process_group(0) // so a timeout kills its helper processes too
        .spawn()
        .with_context(|| format!("starting {}", browser.display()))?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > timeout {
            // SAFETY: kill(2) on the process group we made for the child; no memory involved.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
            bail!("{} timed out after {:?}; its stderr ends:\n{}", browser.display(), timeout, tail(&err_path));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        bail!("{} failed ({status}); its stderr ends:\n{}", browser.display(), tail(&err_path));
    }
    let mut dom = String::new();
    fs::File::open(&out_path)?.read_to_string(&mut dom).context("reading Chromium's dumped DOM")?;
    if dom.trim().is_empty() {
        bail!("{} dumped no DOM; its stderr ends:\n{}", browser.display(), tail(&err_path));
    }
    Ok(dom)
}

/// The last lines of a log file (at most 2000 bytes), for error messages.
fn tail(path: &Path) -> String {
    let text = fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines[lines.len().saturating_sub(15)..].join("\n");
    if out.len() > 2000 {
        let mut cut = out.len() - 2000;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = out[cut..].to_string();
    }
    if out.is_empty() {
        "(empty)".into()
    } else {
        out
    }
}

/// The [`PageCheck`] in the dumped DOM (the last `<pre id=CHECK_ID>`).
fn parse_check(dom: &str) -> anyhow::Result<PageCheck> {
    let open = format!("<pre id=\"{CHECK_ID}\">");
    let Some(start) = dom.rfind(&open).map(|i| i + open.len()) else {
        bail!(
            "the check's JSON (<pre id=\"{CHECK_ID}\">) is not in the dumped DOM ({} bytes): \
             did window.load never fire, or a page script stop it?",
            dom.len()
        );
    };
    let Some(len) = dom[start..].find("</pre>") else { bail!("the check's <pre> is not closed in the dumped DOM") };
    let json = &dom[start..start + len];
    serde_json::from_str(json).with_context(|| format!("parsing the check's JSON: {json}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injects_before_the_last_body_end() {
        let page = inject("<html><body><p>a</p></BODY></html>");
        assert!(page.starts_with("<html><body><p>a</p><script>"));
        assert!(page.ends_with("</script>\n</BODY></html>"));
        assert!(inject("<p>no body</p>").starts_with("<p>no body</p><script>"));
    }

    #[test]
    fn parses_the_dumped_check() {
        let dom = format!(
            "<html><body><pre id=\"{CHECK_ID}\">{}</pre></body></html>",
            r#"{"images":2,"drawn":1,"undrawn":["\u003cx\u003e \u00e9"],"inline_svgs":0,"findings_rows":null,"title":"T"}"#
        );
        let check = parse_check(&dom).unwrap();
        assert_eq!(check.undrawn, vec!["<x> é".to_string()]);
        assert_eq!(check.findings_rows, None);
        assert!(!check.all_drawn());
        assert!(parse_check("<html></html>").unwrap_err().to_string().contains("not in the dumped DOM"));
    }

    #[test]
    fn a_hanging_browser_is_killed_with_its_children() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake-chromium");
        fs::write(&fake, "#!/bin/sh\necho starting >&2\nsleep 30 &\nsleep 30\n").unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        let start = Instant::now();
        let err = dump_dom(&fake, &dir.path().join("page.html"), dir.path(), Duration::from_millis(300)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5));
        let err = err.to_string();
        assert!(err.contains("timed out after 300ms") && err.ends_with("starting"), "{err}");
    }
}
