//! A bounded in-memory tile cache that writes invalidate exactly.
//!
//! Entries are grouped by tile address (z/x/y): every variant of that address
//! (which layers, which issue filters) sits in one slot, so a write that
//! touches a tile finds all its variants in one lookup. Eviction is
//! least-recently-used by slot, bounded by the bytes held.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use lru::LruCache;
use parking_lot::Mutex;
use qala_geodata::{IssueFilter, LayerName};
use qala_tiles::{Compression, TileId};

/// A rendered tile: the MVT bytes, and each compressed encoding made once,
/// on the first request that asks for it (so a request pays only for the
/// encoding it takes: a cold tile asked for uncompressed is never gzipped).
#[derive(Debug)]
pub struct EncodedTile {
    /// Uncompressed MVT (empty for a tile with nothing in it).
    pub raw: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
    /// Strong validator: a hash of `raw`, quoted as HTTP wants it.
    pub etag: String,
}

impl EncodedTile {
    /// Fingerprints a freshly rendered tile.
    pub fn new(raw: Vec<u8>) -> Self {
        let etag = format!("\"{:016x}\"", twox_hash::XxHash3_64::oneshot(&raw));
        Self {
            raw: Bytes::from(raw),
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            etag,
        }
    }

    fn cell(&self, coding: Compression) -> Option<&OnceLock<Bytes>> {
        match coding {
            Compression::None => None,
            Compression::Gzip => Some(&self.gzip),
            Compression::Brotli => Some(&self.brotli),
        }
    }

    /// The tile in `coding` if that encoding exists already (no CPU work).
    pub fn made(&self, coding: Compression) -> Option<Bytes> {
        match self.cell(coding) {
            None => Some(self.raw.clone()),
            Some(cell) => cell.get().cloned(),
        }
    }

    /// The tile in `coding`, compressing it on first use: CPU work, to be
    /// called off the async workers.
    pub fn encoded(&self, coding: Compression) -> qala_tiles::Result<Bytes> {
        let Some(cell) = self.cell(coding) else {
            return Ok(self.raw.clone());
        };
        if let Some(b) = cell.get() {
            return Ok(b.clone());
        }
        let made = Bytes::from(qala_tiles::compress(&self.raw, coding)?);
        Ok(cell.get_or_init(|| made).clone())
    }

    /// What the tile is charged in the cache, fixed at insert: the raw bytes
    /// and room for both compressed encodings, made later. Each is bounded
    /// by its input plus an eighth (level-1 deflate codes incompressible
    /// bytes with fixed Huffman codes of at most 9 bits; brotli falls back
    /// to uncompressed blocks) plus headers.
    fn weight(&self) -> usize {
        let compressed_bound = self.raw.len() + self.raw.len() / 8 + 64;
        self.raw.len() + 2 * compressed_bound + 256
    }
}

/// Which variant of a tile address: the layers and the issue filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variant {
    /// Layers in the tile, in request order.
    pub layers: Vec<LayerName>,
    /// The issue filter as the request gave it: lists keep their order, so
    /// the same filter spelled in another order is cached apart (the default,
    /// matching everything, when unfiltered).
    pub filter: IssueFilter,
}

type Slot = Vec<(Variant, Arc<EncodedTile>)>;

/// Slots by tile address, least recently used first out, and the bytes they hold.
#[derive(Debug)]
struct Slots {
    lru: LruCache<(u8, u32, u32), Slot>,
    bytes: usize,
}

/// The cache.
#[derive(Debug)]
pub struct TileCache {
    slots: Mutex<Slots>,
    capacity_bytes: usize,
    /// Bumped by every invalidation; a tile rendered before a bump may be
    /// stale and is not inserted.
    epoch: AtomicU64,
}

impl TileCache {
    /// A cache holding at most `capacity_bytes` (0 disables caching).
    pub fn new(capacity_bytes: usize) -> Self {
        Self {
            slots: Mutex::new(Slots {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
            capacity_bytes,
            epoch: AtomicU64::new(0),
        }
    }

    /// The current epoch; read it *before* reading the index to render a tile.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// A cached tile.
    pub fn get(&self, tile: TileId, variant: &Variant) -> Option<Arc<EncodedTile>> {
        let mut guard = self.slots.lock();
        let slot = guard.lru.get(&(tile.z(), tile.x(), tile.y()))?;
        slot.iter()
            .find(|(v, _)| v == variant)
            .map(|(_, t)| Arc::clone(t))
    }

    /// Caches a tile rendered at `epoch`, unless a write invalidated tiles since.
    pub fn insert(&self, tile: TileId, variant: Variant, encoded: Arc<EncodedTile>, epoch: u64) {
        if self.capacity_bytes == 0 {
            return;
        }
        let weight = encoded.weight();
        let mut guard = self.slots.lock();
        // Checked under the lock that invalidation also takes, so a write
        // cannot slip between this check and the insert.
        if self.epoch.load(Ordering::Acquire) != epoch || weight > self.capacity_bytes {
            return;
        }
        let Slots { lru: slots, bytes } = &mut *guard;
        let slot = slots.get_or_insert_mut((tile.z(), tile.x(), tile.y()), Vec::new);
        if let Some(existing) = slot.iter_mut().find(|(v, _)| *v == variant) {
            *bytes -= existing.1.weight();
            existing.1 = encoded;
        } else {
            slot.push((variant, encoded));
        }
        *bytes += weight;
        while *bytes > self.capacity_bytes {
            let Some((_, evicted)) = slots.pop_lru() else {
                break;
            };
            *bytes -= evicted.iter().map(|(_, t)| t.weight()).sum::<usize>();
        }
    }

    /// Drops every cached variant containing `layer` at the given tiles.
    pub fn invalidate(&self, layer: LayerName, tiles: impl IntoIterator<Item = TileId>) {
        let mut guard = self.slots.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let Slots { lru: slots, bytes } = &mut *guard;
        for tile in tiles {
            let key = (tile.z(), tile.x(), tile.y());
            let Some(slot) = slots.peek_mut(&key) else {
                continue;
            };
            slot.retain(|(variant, t)| {
                let keep = !variant.layers.contains(&layer);
                if !keep {
                    *bytes -= t.weight();
                }
                keep
            });
            if slot.is_empty() {
                slots.pop(&key);
            }
        }
    }

    /// Drops every cached variant containing `layer` (the layer was replaced).
    pub fn invalidate_layer(&self, layer: LayerName) {
        let tiles: Vec<TileId> = self
            .slots
            .lock()
            .lru
            .iter()
            .filter_map(|(k, _)| TileId::new(k.0, k.1, k.2).ok())
            .collect();
        self.invalidate(layer, tiles);
    }

    /// Number of cached tile variants (for tests and metrics).
    pub fn len(&self) -> usize {
        self.slots
            .lock()
            .lru
            .iter()
            .map(|(_, slot)| slot.len())
            .sum()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(layers: &[LayerName]) -> Variant {
        Variant {
            layers: layers.to_vec(),
            filter: IssueFilter::default(),
        }
    }

    #[test]
    fn invalidation_drops_only_variants_with_the_layer() {
        let cache = TileCache::new(1 << 20);
        let tile = TileId::new(3, 1, 2).unwrap();
        let e = cache.epoch();
        cache.insert(
            tile,
            variant(&[LayerName::Issues]),
            Arc::new(EncodedTile::new(vec![1])),
            e,
        );
        cache.insert(
            tile,
            variant(&[LayerName::Districts]),
            Arc::new(EncodedTile::new(vec![2])),
            e,
        );
        cache.invalidate(LayerName::Issues, [tile]);
        assert!(cache.get(tile, &variant(&[LayerName::Issues])).is_none());
        assert!(cache.get(tile, &variant(&[LayerName::Districts])).is_some());
    }

    #[test]
    fn a_tile_rendered_before_an_invalidation_is_not_cached() {
        let cache = TileCache::new(1 << 20);
        let tile = TileId::new(3, 1, 2).unwrap();
        let before = cache.epoch();
        cache.invalidate(LayerName::Issues, [TileId::new(0, 0, 0).unwrap()]);
        cache.insert(
            tile,
            variant(&[LayerName::Issues]),
            Arc::new(EncodedTile::new(vec![1])),
            before,
        );
        assert!(cache.is_empty());
    }

    #[test]
    fn the_byte_bound_evicts_least_recently_used_tiles() {
        let one = EncodedTile::new(vec![0; 1000]).weight();
        let cache = TileCache::new(one * 2 + one / 2);
        let e = cache.epoch();
        let tiles: Vec<TileId> = (0..3).map(|x| TileId::new(2, x, 0).unwrap()).collect();
        for t in &tiles[..2] {
            cache.insert(
                *t,
                variant(&[LayerName::Issues]),
                Arc::new(EncodedTile::new(vec![0; 1000])),
                e,
            );
        }
        assert!(
            cache
                .get(tiles[0], &variant(&[LayerName::Issues]))
                .is_some()
        ); // tiles[0] now most recent
        cache.insert(
            tiles[2],
            variant(&[LayerName::Issues]),
            Arc::new(EncodedTile::new(vec![0; 1000])),
            e,
        );
        assert!(
            cache
                .get(tiles[1], &variant(&[LayerName::Issues]))
                .is_none()
        );
        assert!(
            cache
                .get(tiles[0], &variant(&[LayerName::Issues]))
                .is_some()
        );
        assert_eq!(cache.len(), 2);
    }
}
