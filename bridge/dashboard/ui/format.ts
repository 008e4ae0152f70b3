/** Number and time formatting for the dashboard. */

/** `0.42`, `12.3`, `1,204` ms. */
export function ms(value: number | null): string {
  if (value === null) return '–';
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return Math.round(value).toLocaleString('en-US');
}

/** `42s`, `5m 03s`, `2h 10m`, `3d 4h`. */
export function age(msElapsed: number): string {
  const s = Math.max(0, Math.floor(msElapsed / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** `HH:MM:SS.mmm` in local time. */
export function clock(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** `3.2%`, or an empty string when nothing ran. */
export function errorRate(served: number, failed: number): string {
  const total = served + failed;
  if (total === 0) return '–';
  const pct = (failed / total) * 100;
  return `${pct === 0 ? '0' : pct < 10 ? pct.toFixed(1) : Math.round(pct)}%`;
}

/** Thousands separators. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** The word for `n` things: `one` for exactly 1, `many` (default: `one` + s) otherwise. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

/** `1 page`, `2 pages`, `1,204 calls`. */
export function countOf(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${plural(n, one, many)}`;
}
