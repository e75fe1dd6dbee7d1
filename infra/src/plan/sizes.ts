/** Sizes the program derives or checks, kept pure so they are tested without Pulumi. */

/** Fargate's CPU (units) → allowed memory (MiB) ranges, ARM64 included. */
const FARGATE_MEMORY: Record<number, { min: number; max: number; step: number; only?: number[] }> = {
  256: { min: 512, max: 2048, step: 512, only: [512, 1024, 2048] },
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
  8192: { min: 16384, max: 61440, step: 4096 },
  16384: { min: 32768, max: 122880, step: 8192 },
};

/** The task size, or why Fargate would refuse it. */
export function fargateSize(cpu: number, memory: number): { cpu: number; memory: number } | string {
  const range = FARGATE_MEMORY[cpu];
  if (!range) return `cpu ${cpu} is not a Fargate size (${Object.keys(FARGATE_MEMORY).join(', ')})`;
  const fits = range.only
    ? range.only.includes(memory)
    : memory >= range.min && memory <= range.max && (memory - range.min) % range.step === 0;
  if (!fits)
    return `memory ${memory} MiB does not fit cpu ${cpu}: ${range.only ? range.only.join(', ') : `${range.min}..${range.max} in steps of ${range.step}`} MiB`;
  return { cpu, memory };
}

/** Share of the EC2 data volume the blob cache may fill; the rest is room for downloads in progress and certificates. */
export const CACHE_SHARE_OF_VOLUME = 0.85;

/** cache.maxSize for an EC2 data volume of this many GiB ("42GiB"). */
export function cacheMaxSizeFor(dataVolumeGiB: number): string {
  return `${Math.floor(dataVolumeGiB * CACHE_SHARE_OF_VOLUME)}GiB`;
}
