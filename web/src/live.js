// Live updates: one EventSource on /api/v1/events/stream for the page. The
// server sends an `issue` event ({id, kind, status, category, lon, lat}, or
// {id, kind: 'removed', removed}) for every committed change, after its
// tiles are fresh, and `resync` when this client missed changes it cannot
// replay. A browser that loses the stream reconnects by itself with
// Last-Event-ID and is sent what it missed (or `resync`); a stream opened
// anew after the server refused one cannot resume, so listeners hear
// `resync` then. Whoever listens (the map's tiles, the issue panel) hears
// each change.

/** How long to wait before asking again when the server refused (503: full). */
const RETRY_MS = 30_000;

const listeners = new Set();
let source = null;
// True once a stream was lost for good: the next one starts without an id.
let missedSome = false;

/** Whether the stream is open now; while it is not, the panel polls. */
export const live = { connected: false };

function tell(message) {
  for (const listener of listeners) {
    try {
      listener(message);
    } catch (error) {
      console.error(error);
    }
  }
}

function connect() {
  if (source || typeof EventSource === 'undefined') return;
  source = new EventSource('/api/v1/events/stream');
  source.addEventListener('open', () => {
    live.connected = true;
    tell({ type: 'status', connected: true });
    if (missedSome) tell({ type: 'resync' });
    missedSome = false;
  });
  source.addEventListener('issue', (event) => {
    try {
      tell({ type: 'issue', issue: JSON.parse(event.data) });
    } catch {
      tell({ type: 'resync' });
    }
  });
  source.addEventListener('resync', () => tell({ type: 'resync' }));
  source.addEventListener('error', () => {
    if (live.connected) {
      live.connected = false;
      tell({ type: 'status', connected: false });
    }
    // The browser retries a dropped stream by itself, but not one the
    // server refused (a 503 when it holds its most connections).
    if (source?.readyState === EventSource.CLOSED) {
      source = null;
      missedSome = true;
      setTimeout(connect, RETRY_MS);
    }
  });
}

/**
 * Calls `listener({type: 'issue', issue} | {type: 'resync'} | {type: 'status', connected})`
 * for every live message; opens the stream on first use. Returns the unsubscribe function.
 */
export function onLive(listener) {
  listeners.add(listener);
  connect();
  return () => listeners.delete(listener);
}
