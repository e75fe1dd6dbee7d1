/**
 * Progress of a prefetch: a bar redrawn in place on a terminal; elsewhere (CI logs,
 * pipes) only one line per finished image.
 */
import type { WriteStream } from 'node:tty';
import { formatBytes } from './format.js';

const WIDTH = 30;

export class Progress {
  private label = '';
  private blobs = { done: 0, total: 0 };
  private received = 0;
  private expected = 0;
  private drawn = 0;

  constructor(private readonly out: NodeJS.WritableStream & Partial<Pick<WriteStream, 'isTTY'>>) {}

  start(label: string, blobs: number, bytes: number): void {
    this.label = label;
    this.blobs = { done: 0, total: blobs };
    this.received = 0;
    this.expected = bytes;
    this.draw();
  }

  bytes(n: number): void {
    this.received += n;
    // Redraw at most every 256 KiB: a terminal line per chunk would cost more than the pull.
    if (this.received - this.drawn >= 256 * 1024) this.draw();
  }

  blobDone(): void {
    this.blobs.done++;
    this.draw();
  }

  done(line: string): void {
    this.out.write(this.out.isTTY ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  private draw(): void {
    if (!this.out.isTTY) return;
    this.drawn = this.received;
    const fraction =
      this.expected > 0 ? Math.min(1, this.received / this.expected) : this.blobs.total ? this.blobs.done / this.blobs.total : 1;
    const filled = Math.round(fraction * WIDTH);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}`;
    this.out.write(`\r\x1b[2K${this.label} [${bar}] ${this.blobs.done}/${this.blobs.total} blobs ${formatBytes(this.received)}`);
  }
}
