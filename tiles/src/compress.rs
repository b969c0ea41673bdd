//! Compression of encoded tiles, done once per tile before caching so every
//! request is served from the compressed bytes (`Content-Encoding: gzip` or `br`).
//!
//! Levels: gzip 1 and brotli quality 2 (4 MiB window). A tile is compressed
//! on the request that first misses the cache, so speed wins: on a 540 KB
//! z15 tile gzip 1 is about four times faster than gzip 6 for 12 % more
//! bytes (and gzip 9 / brotli 9 cost over 100 ms on a 650 KB tile).

use std::io::Write;

use flate2::Compression as GzLevel;
use flate2::write::GzEncoder;

use crate::error::Result;

/// A `Content-Encoding` a tile can be stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// No compression (`identity`).
    None,
    /// gzip (RFC 1952), understood by every client.
    Gzip,
    /// Brotli (RFC 7932): smaller, supported by all current browsers.
    Brotli,
}

impl Compression {
    /// The HTTP `Content-Encoding` token (`identity`, `gzip` or `br`).
    #[must_use]
    pub fn content_encoding(self) -> &'static str {
        match self {
            Self::None => "identity",
            Self::Gzip => "gzip",
            Self::Brotli => "br",
        }
    }
}

/// Compresses `bytes` with `compression`.
///
/// # Errors
/// [`crate::TileError::Compression`]; writing to memory does not fail in practice.
pub fn compress(bytes: &[u8], compression: Compression) -> Result<Vec<u8>> {
    match compression {
        Compression::None => Ok(bytes.to_vec()),
        Compression::Gzip => gzip(bytes),
        Compression::Brotli => brotli(bytes),
    }
}

/// gzip at level 1 (fastest).
///
/// ```
/// let packed = qala_tiles::gzip(&[0_u8; 10_000])?;
/// assert!(packed.len() < 1_000); // 10 KB of zeros packs to a few hundred bytes at level 1
/// assert_eq!(&packed[..2], &[0x1f, 0x8b]); // gzip magic
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
///
/// # Errors
/// [`crate::TileError::Compression`]; writing to memory does not fail in practice.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 2 + 64), GzLevel::fast());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

/// Brotli at quality 2, window 2^22.
///
/// ```
/// let packed = qala_tiles::brotli(&[0_u8; 10_000])?;
/// assert!(packed.len() < 1_000); // 10 KB of zeros packs to a few hundred bytes at level 1
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
///
/// # Errors
/// [`crate::TileError::Compression`]; writing to memory does not fail in practice.
pub fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let params = ::brotli::enc::BrotliEncoderParams {
        quality: 2,
        lgwin: 22,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(bytes.len() / 2 + 64);
    ::brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn sample() -> Vec<u8> {
        (0..50_000_u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn gzip_round_trips() -> Result<()> {
        let data = sample();
        let packed = gzip(&data)?;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut out)?;
        assert_eq!(out, data);
        assert!(packed.len() < data.len());
        Ok(())
    }

    #[test]
    fn brotli_round_trips() -> Result<()> {
        let data = sample();
        let packed = brotli(&data)?;
        let mut out = Vec::new();
        ::brotli::Decompressor::new(&packed[..], 4096).read_to_end(&mut out)?;
        assert_eq!(out, data);
        assert!(packed.len() < data.len());
        Ok(())
    }

    #[test]
    fn an_empty_tile_compresses_to_a_valid_stream() -> Result<()> {
        let packed = gzip(&[])?;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut out)?;
        assert!(out.is_empty());
        assert_eq!(compress(&[1, 2, 3], Compression::None)?, vec![1, 2, 3]);
        assert_eq!(Compression::Brotli.content_encoding(), "br");
        Ok(())
    }
}
