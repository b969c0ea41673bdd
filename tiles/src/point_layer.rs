//! A layer of single points written straight to MVT protobuf: the fast path
//! for the densest tiles (tens of thousands of issue points in one z14 tile).
//!
//! [`TileBuilder::add_layer`](crate::TileBuilder::add_layer) takes any
//! geometry and deduplicates every property value by hashing it, per feature.
//! For a layer of points whose keys are fixed and whose values the caller
//! has already numbered (a category, a status, a day: a few hundred distinct
//! values for tens of thousands of points), that generic path costs most of
//! a dense tile's render time. [`PointLayer`] writes the same bytes without
//! it: the caller adds each distinct value once with [`PointLayer::value`],
//! then every point as an id, a position and one value index per key.
//!
//! Positions are world coordinates ([`lonlat_to_world`](crate::mercator::lonlat_to_world):
//! the unit square, y down), so a caller that keeps its points projected
//! skips the logarithm per point. The tile projection, clipping to the
//! buffered tile and snapping are [`TileBuilder`](crate::TileBuilder)'s own,
//! so a point lands on the same tile unit either way; the tests compare both
//! paths through an independent decoder.
//!
//! ```
//! use qala_tiles::mercator::lonlat_to_world;
//! use qala_tiles::{PointLayer, PropertyValue, TileBuilder, TileId, TileOptions};
//! let tile = TileId::containing(76.95, 43.24, 14)?;
//! let mut builder = TileBuilder::new(tile, TileOptions::default())?;
//! let mut layer = builder.point_layer("issues", &["status"])?;
//! let open = layer.value(&PropertyValue::from("open"));
//! let (x, y) = lonlat_to_world(76.95, 43.24);
//! assert!(layer.add(17, x, y, &[open]));
//! assert!(!layer.add(18, 0.5, 0.5, &[open])); // outside the tile: left out
//! assert_eq!(builder.add_point_layer(layer)?, 1);
//! assert!(!builder.encode().is_empty());
//! # Ok::<(), qala_tiles::TileError>(())
//! ```

use geo::{Point, Rect};

use crate::error::{Result, TileError};
use crate::finest::FinePosition;
use crate::tile_id::{TileId, world_to_tile_pixel};
use crate::value::PropertyValue;

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// MVT `GeomType.POINT`.
const POINT: u64 = 1;
/// `MoveTo` with a count of one: `(1 & 0x7) | (1 << 3)`.
const MOVE_TO_ONE: u64 = 9;

/// A point layer being written; see the [module docs](self).
#[derive(Debug)]
pub struct PointLayer {
    pub(crate) name: String,
    keys: Vec<String>,
    /// The `Layer.values` fields so far, framed.
    values: Vec<u8>,
    value_count: u32,
    points: PointWriter,
    /// Runs appended after `points`, kept apart until the layer is written
    /// so their bytes are copied once, into the tile.
    runs: Vec<PointWriter>,
}

/// Points of a [`PointLayer`] written apart from it, so that a big layer
/// can be written on several threads: each writes a run of points into its
/// own [`PointLayer::writer`], and the runs are [appended](PointLayer::append)
/// in order. Value numbers are the layer's: number every value first.
///
/// ```
/// use qala_tiles::mercator::lonlat_to_world;
/// use qala_tiles::{PropertyValue, TileBuilder, TileId, TileOptions};
/// let tile = TileId::containing(76.95, 43.24, 14)?;
/// let mut builder = TileBuilder::new(tile, TileOptions::default())?;
/// let mut layer = builder.point_layer("issues", &["status"])?;
/// let open = layer.value(&PropertyValue::from("open"));
/// let (x, y) = lonlat_to_world(76.95, 43.24);
/// let mut run = layer.writer();
/// std::thread::scope(|s| s.spawn(|| run.add(1, x, y, &[open])).join()).ok();
/// layer.append(run);
/// assert_eq!(layer.len(), 1);
/// # Ok::<(), qala_tiles::TileError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PointWriter {
    tile: TileId,
    extent: u32,
    clip: Rect<f64>,
    key_count: usize,
    /// `Layer.features` fields, framed, in `features[..written]`. The
    /// rest is room, at least [`feature_room`] long before each
    /// point, that the next feature is written into in place: pushing byte
    /// by byte made the compiler reload the `Vec`'s length after every byte
    /// (a `u8` store may alias it), and writing into a scratch slice first
    /// cost a `memcpy` call per point.
    features: Vec<u8>,
    written: usize,
    feature_count: usize,
}

/// Bytes the longest point feature with `key_count` tags takes, framed:
/// field keys of one byte, varints of at most ten.
fn feature_room(key_count: usize) -> usize {
    let tags = key_count * 20;
    (1 + 10) + (1 + 10) + (1 + 10 + tags) + 2 + (1 + 1 + 1 + 10 + 10)
}

impl PointLayer {
    pub(crate) fn new(
        name: &str,
        keys: &[&str],
        tile: TileId,
        extent: u32,
        clip: Rect<f64>,
    ) -> Result<Self> {
        if name.is_empty() {
            return Err(TileError::EmptyLayerName);
        }
        Ok(Self {
            name: name.to_owned(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            values: Vec::new(),
            value_count: 0,
            points: PointWriter {
                tile,
                extent,
                clip,
                key_count: keys.len(),
                features: Vec::new(),
                written: 0,
                feature_count: 0,
            },
            runs: Vec::new(),
        })
    }

    /// Adds a value to the layer's value table and returns its index. The
    /// layer does not deduplicate: add each distinct value once and reuse
    /// the index.
    pub fn value(&mut self, value: &PropertyValue<'_>) -> u32 {
        let mut field = Vec::with_capacity(16);
        match value {
            PropertyValue::String(s) => put_bytes(1, s.as_bytes(), &mut field),
            PropertyValue::Float(f) => {
                put_key(2, FIXED32, &mut field);
                field.extend_from_slice(&f.to_le_bytes());
            }
            PropertyValue::Double(f) => {
                put_key(3, FIXED64, &mut field);
                field.extend_from_slice(&f.to_le_bytes());
            }
            PropertyValue::UInt(v) => put_varint_field(5, *v, &mut field),
            PropertyValue::Int(v) => put_varint_field(6, zigzag64(*v), &mut field),
            PropertyValue::Bool(b) => put_varint_field(7, u64::from(*b), &mut field),
        }
        put_bytes(4, &field, &mut self.values);
        let index = self.value_count;
        self.value_count += 1;
        index
    }

    /// Adds a point at world position `(wx, wy)` (unit square, y down) with
    /// feature id `id` and, for the i-th key, the value numbered `values[i]`
    /// (keys past the end of `values` are left off the feature; values past
    /// the last key are ignored). Returns `false`, writing nothing, if the
    /// point lies outside the buffered tile.
    pub fn add(&mut self, id: u64, wx: f64, wy: f64, values: &[u32]) -> bool {
        self.points.add(id, wx, wy, values)
    }

    /// Adds a point at `at` tile units with `(key, value)` tags, as
    /// [`PointWriter::add_tagged`].
    pub fn add_tagged(&mut self, id: Option<u64>, at: [i32; 2], tags: &[(u32, u32)]) {
        self.points.add_tagged(id, at, tags);
    }

    /// Where world position `(wx, wy)` lands in this layer's tile, in whole
    /// tile units, or `None` outside the buffered tile: the first half of
    /// [`Self::add`], for a caller that keeps its points in tile units
    /// before writing them (they take half the memory of world positions).
    #[must_use]
    pub fn tile_units(&self, wx: f64, wy: f64) -> Option<[i32; 2]> {
        self.points.tile_units(wx, wy)
    }

    /// Where world position `(wx, wy)` lands in this layer's tile in the
    /// fixed point of [`FinePosition`], or `None` outside the buffered tile
    /// (or beyond the fixed point's ±2^16 units, for an extent past 65,000
    /// or so: use [`Self::tile_units`] there): for a caller that also
    /// clusters the points on a grid of whole units. Its
    /// [`snapped`](FinePosition::snapped) unit is [`Self::tile_units`]'.
    #[must_use]
    pub fn fine_units(&self, wx: f64, wy: f64) -> Option<FinePosition> {
        self.points.fine_units(wx, wy)
    }

    /// An empty run of points for this layer, to fill apart from it (see
    /// [`PointWriter`]).
    #[must_use]
    pub fn writer(&self) -> PointWriter {
        PointWriter {
            features: Vec::new(),
            written: 0,
            feature_count: 0,
            ..self.points
        }
    }

    /// Appends a run of points after those already in the layer. Points
    /// added to the layer afterwards go after the run.
    pub fn append(&mut self, run: PointWriter) {
        let fresh = self.writer();
        let earlier = std::mem::replace(&mut self.points, fresh);
        self.runs.extend([earlier, run]);
    }

    /// Points written so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.parts().map(|p| p.feature_count).sum()
    }

    /// Whether no point has been written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every run in order: the appended ones, then what was added last.
    fn parts(&self) -> impl Iterator<Item = &PointWriter> {
        self.runs.iter().chain(std::iter::once(&self.points))
    }

    /// Appends the framed layer (`Tile.layers`) to `tile`.
    pub(crate) fn write_into(self, tile: &mut Vec<u8>) {
        let mut head = Vec::new();
        put_varint_field(15, 2, &mut head);
        put_bytes(1, self.name.as_bytes(), &mut head);
        let mut tail = Vec::new();
        for key in &self.keys {
            put_bytes(3, key.as_bytes(), &mut tail);
        }
        tail.extend_from_slice(&self.values);
        put_varint_field(5, u64::from(self.points.extent), &mut tail);
        // The features (most of the bytes) are copied once, from each run
        // straight into the tile, behind the layer's length.
        let len = head.len() + self.parts().map(|p| p.written).sum::<usize>() + tail.len();
        tile.reserve(len + 11);
        put_key(3, LEN, tile);
        put_varint(len as u64, tile);
        tile.extend_from_slice(&head);
        for part in self.parts() {
            tile.extend_from_slice(&part.features[..part.written]);
        }
        tile.extend_from_slice(&tail);
    }
}

impl PointWriter {
    /// Makes room for about `points` more points, so that a run whose
    /// size is known up front is not copied as it grows.
    pub fn reserve(&mut self, points: usize) {
        // A point with small values takes about 16 bytes plus 3 per key.
        let wanted = self.written + points * (16 + 3 * self.key_count);
        self.make_room(wanted);
    }

    /// Grows the room to at least `len` bytes plus one longest feature.
    fn make_room(&mut self, len: usize) {
        let len = len + feature_room(self.key_count);
        if self.features.len() < len {
            self.features.resize(len.max(self.features.len() * 2), 0);
        }
    }

    /// As [`PointLayer::add`].
    pub fn add(&mut self, id: u64, wx: f64, wy: f64, values: &[u32]) -> bool {
        let Some(at) = self.tile_units(wx, wy) else {
            return false;
        };
        self.add_tile_units(id, at, values);
        true
    }

    /// As [`PointLayer::tile_units`].
    #[must_use]
    pub fn tile_units(&self, wx: f64, wy: f64) -> Option<[i32; 2]> {
        let (x, y) = world_to_tile_pixel(wx, wy, self.tile, self.extent);
        let inside = crate::clip::clip_point(Point::new(x, y), self.clip)?;
        let snapped = crate::simplify::snap_point(inside);
        Some([snapped.x(), snapped.y()])
    }

    /// As [`PointLayer::fine_units`].
    #[must_use]
    pub fn fine_units(&self, wx: f64, wy: f64) -> Option<FinePosition> {
        let (x, y) = world_to_tile_pixel(wx, wy, self.tile, self.extent);
        let inside = crate::clip::clip_point(Point::new(x, y), self.clip)?;
        FinePosition::new(inside.x(), inside.y())
    }

    /// Writes a point at `[x, y]` tile units, as found by
    /// [`PointLayer::tile_units`], with values as in [`PointLayer::add`].
    pub fn add_tile_units(&mut self, id: u64, at: [i32; 2], values: &[u32]) {
        let values = &values[..values.len().min(self.key_count)];
        self.write(
            Some(id),
            at,
            values
                .iter()
                .enumerate()
                .map(|(k, v)| (k as u64, u64::from(*v))),
        );
    }

    /// Writes a point at `[x, y]` tile units with any of the layer's keys:
    /// `tags` are `(key, value)` pairs, numbered as the layer's keys (in
    /// the order given when it was made) and values; a point without `id`
    /// has none in the tile. Pairs whose key is not the layer's are left
    /// out.
    pub fn add_tagged(&mut self, id: Option<u64>, at: [i32; 2], tags: &[(u32, u32)]) {
        let keys = self.key_count as u32;
        self.write(
            id,
            at,
            tags.iter()
                .filter(|(k, _)| *k < keys)
                .map(|&(k, v)| (u64::from(k), u64::from(v))),
        );
    }

    /// Writes one point feature.
    #[inline]
    fn write(&mut self, id: Option<u64>, [x, y]: [i32; 2], tags: impl Iterator<Item = (u64, u64)>) {
        let (zx, zy) = (zigzag32(x), zigzag32(y));
        self.make_room(self.written);
        let out = &mut self.features[self.written..];
        // Each length goes before what it measures, so one byte is kept for
        // it and filled in afterwards (a point feature is shorter than 128
        // bytes unless its id or values are huge; then `close` moves the
        // bytes to fit a longer varint). Adding the lengths up first took
        // a fifth of the time per point (`point_run_20k` 0.49 → 0.41 ms).
        let mut at = put_key_at(2, LEN, out, 0);
        let feature_at = at;
        at += 1;
        if let Some(id) = id {
            at = put_key_at(1, VARINT, out, at);
            at = put_varint_at(id, out, at);
        }
        let tags_key_at = at;
        at = put_key_at(2, LEN, out, at);
        let tags_at = at;
        at += 1;
        let mut tagged = false;
        // At most one tag per key: the room kept is sized by them.
        for (k, v) in tags.take(self.key_count) {
            at = put_varint_at(k, out, at);
            at = put_varint_at(v, out, at);
            tagged = true;
        }
        at = if tagged {
            close(out, tags_at, at)
        } else {
            tags_key_at
        };
        at = put_key_at(3, VARINT, out, at);
        at = put_varint_at(POINT, out, at);
        at = put_key_at(4, LEN, out, at);
        // At most 11 bytes: its length is always one byte.
        let geometry_at = at;
        at = put_varint_at(MOVE_TO_ONE, out, at + 1);
        at = put_varint_at(zx, out, at);
        at = put_varint_at(zy, out, at);
        out[geometry_at] = (at - geometry_at - 1) as u8;
        at = close(out, feature_at, at);
        self.written += at;
        self.feature_count += 1;
    }

    /// Points written so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.feature_count
    }

    /// Whether no point has been written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.feature_count == 0
    }
}

fn put_key(field: u32, wire_type: u8, out: &mut Vec<u8>) {
    put_varint(u64::from(field << 3 | u32::from(wire_type)), out);
}

fn put_varint_field(field: u32, value: u64, out: &mut Vec<u8>) {
    put_key(field, VARINT, out);
    put_varint(value, out);
}

fn put_bytes(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    put_key(field, LEN, out);
    put_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        // Truncation intended: the low seven bits plus the continuation bit.
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// [`put_varint`] into a slice at `at`; returns where the next byte goes.
/// Panics if the slice is too short: the room left is sized for the
/// longest feature.
fn put_varint_at(mut value: u64, out: &mut [u8], mut at: usize) -> usize {
    while value >= 0x80 {
        out[at] = (value as u8 & 0x7f) | 0x80;
        value >>= 7;
        at += 1;
    }
    out[at] = value as u8;
    at + 1
}

/// Writes the length of `out[len_at + 1..end]` at `len_at`, where one byte
/// was kept for it, moving those bytes on if the length needs more; returns
/// the new end.
#[inline]
fn close(out: &mut [u8], len_at: usize, end: usize) -> usize {
    let len = end - len_at - 1;
    if len < 0x80 {
        out[len_at] = len as u8;
        end
    } else {
        widen(out, len_at, end)
    }
}

#[cold]
fn widen(out: &mut [u8], len_at: usize, end: usize) -> usize {
    let len = end - len_at - 1;
    let extra = varint_len(len as u64) - 1;
    out.copy_within(len_at + 1..end, len_at + 1 + extra);
    put_varint_at(len as u64, out, len_at);
    end + extra
}

fn put_key_at(field: u32, wire_type: u8, out: &mut [u8], at: usize) -> usize {
    put_varint_at(u64::from(field << 3 | u32::from(wire_type)), out, at)
}

fn varint_len(value: u64) -> usize {
    // One byte per started group of seven significant bits (at least one).
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

fn zigzag32(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_protobuf() {
        for (value, bytes) in [
            (0_u64, vec![0x00]),
            (1, vec![0x01]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (300, vec![0xac, 0x02]),
            (u64::MAX, vec![0xff; 9].into_iter().chain([0x01]).collect()),
        ] {
            let mut out = Vec::new();
            put_varint(value, &mut out);
            assert_eq!(out, bytes, "{value}");
            assert_eq!(varint_len(value), bytes.len(), "{value}");
        }
    }

    #[test]
    fn zigzag_matches_protobuf() {
        assert_eq!(zigzag32(0), 0);
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        assert_eq!(zigzag32(-2), 3);
        assert_eq!(zigzag32(i32::MAX), 0xffff_fffe);
        assert_eq!(zigzag32(i32::MIN), 0xffff_ffff);
        assert_eq!(zigzag64(-3), 5);
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
    }
}
