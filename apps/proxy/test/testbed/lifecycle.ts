/**
 * jest lifecycle for an end-to-end file: one seeded test bed and one mirror in front of
 * it for the whole file. Read the fields inside tests (they are set in beforeAll).
 */
import { afterAll, beforeAll } from '@jest/globals';
import type { ConfigInput } from '../../src/config/schema.js';
import { startTestbed, type SeedImages, type Testbed } from './testbed.js';
import { startTestMirror, type TestMirror } from './mirror.js';

export interface SeededMirror {
  bed: Testbed;
  images: SeedImages;
  mirror: TestMirror;
}

export function useSeededMirror(
  options: { config?: Partial<ConfigInput>; beforeMirror?: (bed: Testbed) => Promise<void> } = {},
): SeededMirror {
  const env = {} as SeededMirror;
  beforeAll(async () => {
    env.bed = await startTestbed();
    env.images = await env.bed.seed();
    await options.beforeMirror?.(env.bed);
    env.mirror = await startTestMirror(env.bed, options.config);
  }, 120_000);
  afterAll(async () => {
    await env.mirror?.stop();
    await env.bed?.stop();
  });
  return env;
}
