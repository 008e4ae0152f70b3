/** The throughput chart: stacked bars per second (ok below, failed on top) on a canvas. */
import type { RatePoint } from '../events.js';

const SECONDS = 120;

/** Draws `points` (oldest first) into the canvas, sized for the device pixel ratio. */
export function drawChart(canvas: HTMLCanvasElement, points: readonly RatePoint[], now: number): number {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return 0;
  const style = getComputedStyle(document.documentElement);
  const colour = (name: string): string => style.getPropertyValue(name).trim();
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  let max = 0;
  for (const p of points) max = Math.max(max, p.ok + p.failed);
  const top = niceCeiling(Math.max(1, max));
  const base = height - 1;
  ctx.strokeStyle = colour('--line');
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, base + 0.5);
  ctx.lineTo(width, base + 0.5);
  ctx.moveTo(0, 0.5);
  ctx.lineTo(width, 0.5);
  ctx.stroke();
  const slot = width / SECONDS;
  const bar = Math.max(1, slot - 1);
  for (const p of points) {
    const age = Math.round((now - p.t) / 1000);
    if (age < 0 || age >= SECONDS) continue;
    const x = width - (age + 1) * slot;
    const okH = (p.ok / top) * (height - 2);
    const failedH = (p.failed / top) * (height - 2);
    ctx.fillStyle = colour('--ok');
    ctx.fillRect(x, base - okH, bar, okH);
    ctx.fillStyle = colour('--failed');
    ctx.fillRect(x, base - okH - failedH, bar, failedH);
  }
  return top;
}

/** 1, 2, 5, 10, 20, 50… at or above n. */
function niceCeiling(n: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= n) return step * magnitude;
  return 10 * magnitude;
}
