/**
 * Human-friendly durations ("60s", "7d") and sizes ("50GB"), or plain numbers (seconds, bytes).
 * Give their defaults with `.prefault(input)`, never `.default(output)`: zod 4 returns a
 * `.default()` value as is, skipping this conversion (a `default(900)` meant as seconds
 * would come out as 900 ms).
 */
import { z } from 'zod';

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_BYTES: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

export const durationMs = z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value * 1000;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as "60s", "5m", "7d" (or seconds as a number)' });
    return z.NEVER;
  }
  return Number(match[1]) * DURATION_MS[match[2]!]!;
});

export const sizeBytes = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)$/i.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'expected a size such as "50GB", "512MiB" (or bytes as a number)' });
    return z.NEVER;
  }
  return Math.floor(Number(match[1]) * SIZE_BYTES[match[2]!.toLowerCase()]!);
});
