# DejaVu Sans (regular and bold; free licence, see copyright beside them) from the Debian package
# fonts-dejavu-core 2.37-6, for drawing the figures' text into PNG (w2s renders its SVG figures
# with resvg, which needs a font file; none is assumed installed). Into $CACHE/assets/fonts.
# Sourced by scripts/bootstrap.sh (say, verify, asset, fetch_deb, $CACHE, $DL); idempotent.
fetch_deb "fonts-dejavu-core=2.37-6" "fonts-dejavu-core_2.37-6_all.deb" \
  "8892669e51aab4dc56682c8e39d8ddb7d70fad83c369344e1e240bf3ca22bb76"
build_fonts() {
  dpkg -x "$DL/fonts-dejavu-core_2.37-6_all.deb" "$1"
  mv "$1/usr/share/fonts/truetype/dejavu"/DejaVuSans{,-Bold}.ttf "$1/usr/share/doc/fonts-dejavu-core/copyright" "$2/"
}
asset "the DejaVu Sans fonts" "$CACHE/assets/fonts" build_fonts
