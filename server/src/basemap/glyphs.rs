//! Glyph PBFs for the style's text (`/fonts/{fontstack}/{range}.pbf`):
//! signed distance fields rendered from the vendored DejaVu Sans TTFs
//! (web/vendor/fonts/, copied from npm by `npm run vendor`) with
//! `pbf_font_tools` over FreeType, the tooling martin uses, and kept in
//! memory once rendered. Nothing is fetched; a range the font has no
//! letters in answers an empty (valid) PBF, so a label in another script
//! is left out rather than breaking the map.

use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use parking_lot::Mutex;
use pbf_font_tools::prost::Message;
use pbf_font_tools::{Fontstack, Glyphs as GlyphsPbf};

/// Font size the SDFs are rendered at, and the distance field's radius and
/// cutoff: the values MapLibre's glyphs are made with.
const SIZE: usize = 24;
const RADIUS: usize = 8;
const CUTOFF: f64 = 0.25;
/// Characters per range, as MapLibre asks for them.
const RANGE: u32 = 256;

/// The fonts served: name (as the style's `text-font` names it) and TTF.
pub const FONTS: [(&str, &[u8]); 2] = [
    (
        "DejaVu Sans Book",
        include_bytes!("../../../web/vendor/fonts/DejaVuSans.ttf"),
    ),
    (
        "DejaVu Sans Bold",
        include_bytes!("../../../web/vendor/fonts/DejaVuSans-Bold.ttf"),
    ),
];

/// The font stack every Qala label uses.
pub const DEFAULT_FONT: &str = FONTS[0].0;

/// Why a range could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum GlyphError {
    /// FreeType or the SDF renderer failed.
    #[error("rendering glyphs: {0}")]
    Render(String),
}

/// Rendered ranges, per font and first character. At most
/// `FONTS.len() × 256` entries (every Unicode BMP range of every font),
/// so the memory is bounded without eviction.
#[derive(Debug, Default)]
pub struct Glyphs {
    rendered: Mutex<HashMap<(usize, u32), Bytes>>,
}

/// The font of a font stack: its first name Qala has, else the default.
/// MapLibre asks for a stack as comma-separated names.
pub fn font_of(stack: &str) -> usize {
    stack
        .split(',')
        .find_map(|name| FONTS.iter().position(|(font, _)| *font == name.trim()))
        .unwrap_or(0)
}

/// `"256-511"` → 256: a range as MapLibre asks for it, or `None`.
pub fn parse_range(range: &str) -> Option<u32> {
    let (start, end) = range.split_once('-')?;
    let (start, end): (u32, u32) = (start.parse().ok()?, end.parse().ok()?);
    (start % RANGE == 0 && end == start + RANGE - 1 && end <= 0xFFFF).then_some(start)
}

impl Glyphs {
    /// The PBF of `start..start+255` in font `font` (an index of
    /// [`FONTS`]), rendered on first use. CPU work: call it off the
    /// async runtime.
    pub fn range(&self, font: usize, start: u32) -> Result<Bytes, GlyphError> {
        if let Some(hit) = self.rendered.lock().get(&(font, start)) {
            return Ok(hit.clone());
        }
        let (name, ttf) = FONTS.get(font).copied().unwrap_or(FONTS[0]);
        let stack = render(ttf, start).map_err(|e| GlyphError::Render(e.to_string()))?;
        let pbf = GlyphsPbf {
            stacks: vec![Fontstack {
                name: name.to_owned(),
                ..stack
            }],
        };
        let bytes = Bytes::from(pbf.encode_to_vec());
        self.rendered.lock().insert((font, start), bytes.clone());
        Ok(bytes)
    }
}

fn render(ttf: &'static [u8], start: u32) -> Result<Fontstack, pbf_font_tools::PbfFontError> {
    // FreeType's library and face are not Send: made for each range (a
    // few milliseconds, once per range).
    let library = pbf_font_tools::freetype::Library::init()?;
    let face = library.new_memory_face(Rc::new(ttf.to_vec()), 0)?;
    pbf_font_tools::glyph_range_for_face(&face, start, start + RANGE - 1, SIZE, RADIUS, CUTOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_maplibre_asks() {
        assert_eq!(parse_range("0-255"), Some(0));
        assert_eq!(parse_range("1024-1279"), Some(1024));
        assert_eq!(parse_range("65280-65535"), Some(65280));
        assert_eq!(parse_range("1-256"), None);
        assert_eq!(parse_range("0-511"), None);
        assert_eq!(parse_range("65536-65791"), None);
        assert_eq!(parse_range("a-b"), None);
    }

    #[test]
    fn stacks_pick_a_known_font_or_the_default() {
        assert_eq!(font_of("DejaVu Sans Bold"), 1);
        assert_eq!(font_of("Noto Sans Regular,DejaVu Sans Bold"), 1);
        assert_eq!(font_of("Open Sans Regular"), 0);
    }

    #[test]
    fn cyrillic_and_kazakh_letters_render_and_cjk_is_empty() {
        let glyphs = Glyphs::default();
        let decode = |bytes: Bytes| GlyphsPbf::decode(bytes).expect("a glyph PBF");
        let cyrillic = decode(glyphs.range(0, 1024).expect("rendered"));
        let ids: Vec<u32> = cyrillic.stacks[0].glyphs.iter().map(|g| g.id).collect();
        // А, я, and Kazakh і (U+0456), ү (U+04AF), ә (U+04D9).
        for letter in ['А', 'я', 'і', 'ү', 'ә'] {
            assert!(ids.contains(&u32::from(letter)), "{letter} missing");
        }
        let cjk = decode(glyphs.range(0, 0x4E00).expect("rendered"));
        assert!(cjk.stacks[0].glyphs.is_empty());
    }
}
