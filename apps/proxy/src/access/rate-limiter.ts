/**
 * Per-client token buckets (one per user or client IP, bounded LRU map): requests per
 * second answered with 429 + Retry-After when exceeded, and bytes per second applied
 * by pacing the response body. 0 means unlimited.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';

class Bucket {
  tokens: number;
  updated: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updated = now;
  }

  refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updated) / 1000) * this.rate);
    this.updated = now;
  }
}

export interface LimitConfig {
  requestsPerSecond: number;
  bytesPerSecond: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
    /** How a paced chunk waits (injectable so tests need no wall clock). */
    private readonly schedule: (release: () => void, ms: number) => void = (release, ms) => void setTimeout(release, ms),
  ) {}

  private bucket(key: string, rate: number, burst: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket || bucket.rate !== rate) {
      bucket = new Bucket(rate, burst, this.now());
      this.buckets.set(key, bucket);
      while (this.buckets.size > this.max) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    return bucket;
  }

  /** Takes one request; returns 0, or the seconds to wait before retrying. */
  takeRequest(client: string, limit: LimitConfig): number {
    if (limit.requestsPerSecond <= 0) return 0;
    // A burst of one second's worth.
    const bucket = this.bucket(`req|${client}`, limit.requestsPerSecond, Math.max(1, limit.requestsPerSecond));
    bucket.refill(this.now());
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.requestsPerSecond));
  }

  /** Paces `body` so this client's bytes stay under its limit (shared by its responses). */
  pace(client: string, limit: LimitConfig, body: Readable): Readable {
    if (limit.bytesPerSecond <= 0) return body;
    const bucket = this.bucket(`bytes|${client}`, limit.bytesPerSecond, limit.bytesPerSecond);
    const now = this.now;
    const schedule = this.schedule;
    const pacer = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        bucket.refill(now());
        bucket.tokens -= chunk.length;
        const wait = bucket.tokens < 0 ? (-bucket.tokens / bucket.rate) * 1000 : 0;
        if (wait > 0) schedule(() => done(null, chunk), wait);
        else done(null, chunk);
      },
    });
    pacer.on('error', () => {});
    body.on('error', (err) => pacer.destroy(err));
    pacer.on('close', () => body.destroy());
    return body.pipe(pacer);
  }
}
