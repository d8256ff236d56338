//! Figures written as SVG (the plots' own text, exact and editable) and as PNG beside it, drawn
//! from the same SVG by resvg (a pure-Rust renderer) at twice its size, with the DejaVu Sans
//! fonts that `scripts/bootstrap.sh` fetches (`assets/fonts`), so a PNG never depends on the fonts
//! a machine happens to have. Without the fonts, or if drawing fails, the SVG is still written and
//! the PNG left out with a warning: a figure never fails a run.

use std::{path::Path, sync::OnceLock};

use resvg::{tiny_skia, usvg};
use w2s_core::{atomic_file::write_atomic, Env};

/// The fonts' database, loaded once per process (`None`: the fonts are missing).
fn fonts() -> Option<&'static usvg::fontdb::Database> {
    static FONTS: OnceLock<Option<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let dir = match Env::from_env().asset_dir("fonts") {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!("figures are written as SVG only: {e:#}");
                    return None;
                }
            };
            let mut db = usvg::fontdb::Database::new();
            for file in ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"] {
                if let Ok(bytes) = std::fs::read(dir.join(file)) {
                    db.load_font_data(bytes);
                }
            }
            db.set_sans_serif_family("DejaVu Sans");
            (!db.is_empty()).then_some(db)
        })
        .as_ref()
}

/// The PNG bytes of `svg`, drawn at `scale` times its size on its own background.
pub fn png(svg: &str, scale: f32) -> anyhow::Result<Vec<u8>> {
    let db =
        fonts().ok_or_else(|| anyhow::anyhow!("the fonts for PNG figures are missing (bash scripts/bootstrap.sh)"))?;
    let mut opt = usvg::Options { font_family: "DejaVu Sans".into(), ..Default::default() };
    *opt.fontdb_mut() = db.clone();
    let tree = usvg::Tree::from_str(svg, &opt)?;
    let size = tree.size().to_int_size().scale_by(scale).ok_or_else(|| anyhow::anyhow!("figure too large"))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| anyhow::anyhow!("figure of {}x{} pixels", size.width(), size.height()))?;
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    Ok(pixmap.encode_png()?)
}

/// Write `svg` to `stem.svg` and its drawing to `stem.png` (atomically; the PNG skipped with a
/// warning when it cannot be drawn).
pub fn write(stem: &Path, svg: &str) -> anyhow::Result<()> {
    write_atomic(&stem.with_extension("svg"), svg.as_bytes())?;
    match png(svg, 2.0) {
        Ok(bytes) => write_atomic(&stem.with_extension("png"), &bytes)?,
        Err(e) => tracing::warn!("{}: no PNG: {e:#}", stem.with_extension("png").display()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_figure_is_drawn_with_its_text() {
        let with_text = r#"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="4" y="24" font-size="16">accuracy</text></svg>"#;
        let blank = with_text.replace("accuracy", "");
        let (a, b) = (png(with_text, 2.0).unwrap(), png(&blank, 2.0).unwrap());
        assert_eq!(&a[..8], b"\x89PNG\r\n\x1a\n");
        // 240 x 40 pixels wide and high in the header (twice the SVG's size).
        assert_eq!(u32::from_be_bytes(a[16..20].try_into().unwrap()), 240);
        assert!(a.len() > b.len() + 200, "the text is drawn ({} vs {} bytes)", a.len(), b.len());
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("f"), with_text).unwrap();
        assert!(dir.path().join("f.svg").is_file() && dir.path().join("f.png").is_file());
        assert!(png("<svg", 1.0).is_err(), "bad SVG is an error");
    }
}
