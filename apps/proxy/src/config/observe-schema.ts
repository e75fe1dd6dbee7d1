/** `metrics`: what the mirror exposes about itself (Prometheus metrics, status page). */
import { z } from 'zod';

export const metricsSchema = z.strictObject({}).prefault({});
