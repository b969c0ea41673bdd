//! An uploaded image made safe to publish: the type sniffed from its bytes
//! (JPEG, PNG or WebP), decoded within pixel and memory limits checked
//! from the header before any pixel buffer is allocated, turned upright by
//! its EXIF orientation, and re-encoded from pixels alone as a JPEG, so
//! nothing of the original file survives: no EXIF (GPS position, camera,
//! time), XMP, ICC profile or comment. Plus a thumbnail of at most
//! [`THUMBNAIL_PX`] on its longest side. CPU work: callers run it on the
//! blocking pool ([`super::Media::sanitize`]).

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage};

/// Widest or tallest image accepted, in pixels (a 100-megapixel camera
/// is under 12,000 on its long side).
pub const MAX_SIDE_PX: u32 = 12_000;
/// Most bytes a decoded image may take (8,000 × 8,000 RGBA; a 48-megapixel
/// phone photo is 144 MiB as RGB).
pub const MAX_DECODED_BYTES: u64 = 256 << 20;
/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_PX: u32 = 320;
/// JPEG quality of stored photos and thumbnails: visually lossless for
/// photographs at a third of the size of quality 95.
const JPEG_QUALITY: u8 = 85;

/// A sanitised photo: JPEG bytes of the picture and of its thumbnail.
#[derive(Debug, Clone)]
pub struct Sanitized {
    /// The photo, upright, re-encoded.
    pub jpeg: Vec<u8>,
    /// The thumbnail.
    pub thumbnail: Vec<u8>,
    /// Width of the photo, upright.
    pub width: u32,
    /// Height of the photo, upright.
    pub height: u32,
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    /// Not a JPEG, PNG or WebP by its bytes (`415`).
    #[error("the file is not a JPEG, PNG or WebP image")]
    UnsupportedType,
    /// Larger than the limits (`422 image_too_large`).
    #[error("{0}")]
    TooLarge(String),
    /// A JPEG, PNG or WebP that does not decode (`422 invalid_image`).
    #[error("the image could not be decoded: {0}")]
    Invalid(String),
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    limits
}

fn refused(e: ImageError) -> Refused {
    match e {
        ImageError::Limits(e) => Refused::TooLarge(format!(
            "the image is larger than allowed ({MAX_SIDE_PX} pixels a side at most): {e}"
        )),
        ImageError::Unsupported(e) => Refused::Invalid(e.to_string()),
        other => Refused::Invalid(other.to_string()),
    }
}

/// The format of `bytes`, if it is one accepted.
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, Refused> {
    match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => Ok(format),
        _ => Err(Refused::UnsupportedType),
    }
}

/// Decodes, orients and re-encodes `bytes` (see the module's text).
pub fn sanitize(bytes: &[u8]) -> Result<Sanitized, Refused> {
    let format = sniff(bytes)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits());
    // The header alone is read here: dimensions over the limits fail now,
    // before any buffer for the pixels exists.
    let mut decoder = reader.into_decoder().map_err(refused)?;
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        let (w, h) = decoder.dimensions();
        return Err(Refused::TooLarge(format!(
            "a {w}×{h} image needs more memory to decode than allowed"
        )));
    }
    // A missing or unreadable orientation is upright: the pixels are fine.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(refused)?;
    picture.apply_orientation(orientation);
    let rgb = flatten(&picture);
    let (width, height) = rgb.dimensions();
    let thumbnail = if width.max(height) > THUMBNAIL_PX {
        DynamicImage::ImageRgb8(rgb.clone())
            .thumbnail(THUMBNAIL_PX, THUMBNAIL_PX)
            .to_rgb8()
    } else {
        rgb.clone()
    };
    Ok(Sanitized {
        jpeg: encode(&rgb)?,
        thumbnail: encode(&thumbnail)?,
        width,
        height,
    })
}

/// 8-bit RGB, transparency laid over white (JPEG has no alpha; dropping it
/// would show whatever colour transparent pixels happen to hold).
fn flatten(picture: &DynamicImage) -> RgbImage {
    if !picture.color().has_alpha() {
        return picture.to_rgb8();
    }
    let rgba = picture.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over_white = |c: u8| {
            let c = u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a));
            u8::try_from(c / 255).unwrap_or(u8::MAX)
        };
        image::Rgb([over_white(r), over_white(g), over_white(b)])
    })
}

fn encode(rgb: &RgbImage) -> Result<Vec<u8>, Refused> {
    let mut out = Vec::with_capacity(rgb.as_raw().len() / 8);
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(rgb)
        .map_err(refused)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            width,
            height,
            image::Rgba([10, 20, 30, 0]),
        ))
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
        out
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(
            sanitize(b"hello, I am a JPEG").unwrap_err(),
            Refused::UnsupportedType
        );
    }

    #[test]
    fn a_png_becomes_a_jpeg_and_a_thumbnail_transparency_over_white() {
        let done = sanitize(&png(1000, 500)).unwrap();
        assert_eq!((done.width, done.height), (1000, 500));
        assert_eq!(sniff(&done.jpeg).unwrap(), ImageFormat::Jpeg);
        let thumb = image::load_from_memory(&done.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
        let photo = image::load_from_memory(&done.jpeg).unwrap().to_rgb8();
        assert!(photo.get_pixel(5, 5).0.iter().all(|&c| c > 240));
    }

    #[test]
    fn a_small_image_keeps_its_size_as_thumbnail() {
        let done = sanitize(&png(100, 50)).unwrap();
        let thumb = image::load_from_memory(&done.thumbnail).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (100, 50));
    }
}
