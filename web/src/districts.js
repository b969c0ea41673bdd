// The city's districts, read once per page from `/api/v1/districts` (a few
// kilobytes): an issue names its district by id, and the reader wants the
// name in their language ("Алмалы", not "Almaly"); and a pin outside every
// district is one the server will refuse (`outside_city`), so the report
// form says so as soon as the pin is placed.

import * as api from './api.js';
import { districtName, t } from './i18n.js';

let features = null;
let loading = null;

/** Loads the districts once; resolves to their features (empty when they could not be read, and asks again next time). */
export function loadDistricts() {
  loading ??= api
    .districts({})
    .then((collection) => (features = collection.features))
    .catch(() => {
      loading = null;
      return [];
    });
  return loading;
}

/**
 * The name of an issue's district in the interface language, from its
 * `district_id` (English `district` until the districts are in), or
 * "no district".
 */
export function issueDistrict(properties) {
  const district = features?.find((f) => f.id === properties.district_id);
  if (district) return districtName(district.properties);
  return properties.district ?? t('issue.no_district');
}

/**
 * Whether a [lon, lat] lies in a ring, by ray casting (the even-odd rule):
 * a dozen lines for polygons of a few dozen vertices, not worth a library
 * in a client with no bundler. The server's exact test has the last word.
 */
function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function inPolygon(point, rings) {
  return inRing(point, rings[0]) && !rings.slice(1).some((hole) => inRing(point, hole));
}

/**
 * The district feature a [lon, lat] falls in; `null` outside every one,
 * and `undefined` while the districts are unknown (no verdict then).
 */
export function districtAt(point) {
  if (!features?.length) return undefined;
  return (
    features.find((f) => {
      const g = f.geometry;
      if (g?.type === 'Polygon') return inPolygon(point, g.coordinates);
      if (g?.type === 'MultiPolygon') return g.coordinates.some((rings) => inPolygon(point, rings));
      return false;
    }) ?? null
  );
}
