//! Small helpers on polygon rings shared by clipping and simplification.
//!
//! Rings are `geo::LineString`s that are closed (first position == last), as
//! `geo::Polygon::new` guarantees. "Area" here is the signed area by the
//! surveyor's (shoelace) formula, `½ Σ (xᵢ·yᵢ₊₁ − xᵢ₊₁·yᵢ)`: in tile pixel
//! space, where y grows *down*, a positive area means the ring turns
//! clockwise on screen, which is what MVT 2.1 requires of exterior rings.

use geo::{Coord, LineString, Polygon};

/// Twice the signed area of a ring (closed or not), by the surveyor's formula.
pub(crate) fn signed_area2(coords: &[Coord<f64>]) -> f64 {
    let Some(&first) = coords.first() else {
        return 0.0;
    };
    let mut prev = first;
    let mut sum = 0.0;
    for &c in &coords[1..] {
        sum += prev.x * c.y - c.x * prev.y;
        prev = c;
    }
    sum + (prev.x * first.y - first.x * prev.y)
}

/// A ring is usable when it has at least 4 positions (3 distinct + closing)
/// and a non-zero area.
pub(crate) fn is_usable_ring(ring: &LineString<f64>) -> bool {
    ring.0.len() >= 4 && signed_area2(&ring.0) != 0.0
}

/// Drops collapsed interior rings; `None` if the exterior itself has collapsed.
pub(crate) fn drop_collapsed_rings(polygon: &Polygon<f64>) -> Option<Polygon<f64>> {
    if !is_usable_ring(polygon.exterior()) {
        return None;
    }
    let holes = polygon
        .interiors()
        .iter()
        .filter(|r| is_usable_ring(r))
        .cloned()
        .collect();
    Some(Polygon::new(polygon.exterior().clone(), holes))
}

/// Removes consecutive duplicate positions and zero-width spikes (`A B A`)
/// from a ring given *without* its closing position, including spikes that
/// wrap around the ring's start. What is left may still be too short.
pub(crate) fn clean_open_ring(coords: &mut Vec<Coord<f64>>) {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(coords.len());
    for &c in coords.iter() {
        if out.last() == Some(&c) {
            continue;
        }
        if out.len() >= 2 && out[out.len() - 2] == c {
            // `.. c, tip, c`: the tip is a spike; drop it and do not repeat c.
            out.pop();
            continue;
        }
        out.push(c);
    }
    // The ring is cyclic: keep removing duplicates and spikes across the seam.
    loop {
        let n = out.len();
        if n < 3 {
            break;
        }
        if out[0] == out[n - 1] {
            out.pop();
        } else if out[n - 2] == out[0] {
            // `.., a, tip | a, ..`: spike at the end.
            out.pop();
        } else if out[n - 1] == out[1] {
            // `.., a | tip, a, ..`: spike at the start. Removing the tip leaves
            // `a` at both ends, which the next turn of the loop merges.
            out.remove(0);
        } else {
            break;
        }
    }
    *coords = out;
}

/// Closes an open ring (pushes its first position at the end).
pub(crate) fn close(mut coords: Vec<Coord<f64>>) -> LineString<f64> {
    if let Some(&first) = coords.first() {
        coords.push(first);
    }
    LineString(coords)
}

/// The positions of a closed ring without the closing duplicate.
pub(crate) fn open_coords(ring: &LineString<f64>) -> &[Coord<f64>] {
    let c = &ring.0;
    if c.len() >= 2 && c.first() == c.last() {
        &c[..c.len() - 1]
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use geo::coord;

    use super::*;

    fn coords(pts: &[(f64, f64)]) -> Vec<Coord<f64>> {
        pts.iter().map(|&(x, y)| coord! { x: x, y: y }).collect()
    }

    #[test]
    fn a_clockwise_square_on_screen_has_positive_area() {
        // y down: (0,0) → (10,0) → (10,10) → (0,10) turns clockwise on screen.
        let sq = coords(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]);
        assert_eq!(signed_area2(&sq), 200.0);
    }

    #[test]
    fn cleaning_removes_duplicates_and_spikes() {
        let mut ring = coords(&[
            (0.0, 0.0),
            (0.0, 0.0),
            (10.0, 0.0),
            (20.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
        ]);
        clean_open_ring(&mut ring);
        assert_eq!(
            ring,
            coords(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)])
        );
    }

    #[test]
    fn cleaning_removes_a_spike_across_the_seam() {
        let mut ring = coords(&[
            (5.0, -5.0),
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 0.0),
        ]);
        clean_open_ring(&mut ring);
        assert_eq!(ring, coords(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]));
    }

    #[test]
    fn a_flat_ring_is_not_usable() {
        let flat = close(coords(&[(0.0, 0.0), (5.0, 0.0), (10.0, 0.0)]));
        assert!(!is_usable_ring(&flat));
    }
}
