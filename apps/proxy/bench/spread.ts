/** Min / median / max of repeated measurements: a single figure hides how noisy a 2-core box is. */
export interface Spread {
  min: number;
  median: number;
  max: number;
  runs: number;
}

export function spreadOf(values: number[]): Spread {
  if (values.length === 0) throw new Error('no measurements');
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted[sorted.length - 1]!, runs: values.length };
}

/** "median (min–max)" with a unit and a number of decimals. */
export function formatSpread(s: Spread, unit: string, digits = 0): string {
  const f = (v: number): string => v.toFixed(digits);
  return `${f(s.median)} ${unit} (${f(s.min)}–${f(s.max)})`;
}
