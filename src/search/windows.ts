// A range becomes consecutive windows of at most 7 days (the API's limit). Each window starts where
// the previous one ended: whether the API treats `end` as inclusive or exclusive, no instant falls
// between two windows, and at most the boundary instant itself is seen twice (then counted once).

export const WINDOW_MS = 7 * 24 * 3600_000;

export interface Window {
  /** ms since the epoch (UTC), inclusive. */
  start: number;
  /** ms since the epoch (UTC); the next window's start. */
  end: number;
}

export function splitWindows(from: number, to: number, size = WINDOW_MS): Window[] {
  if (!(to > from) || !(size > 0)) return [];
  const windows: Window[] = [];
  for (let start = from; start < to; start += size) windows.push({ start, end: Math.min(start + size, to) });
  return windows;
}
