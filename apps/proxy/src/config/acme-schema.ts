/**
 * `acme`: built-in certificates (ACME HTTP-01) — owned by the HTTPS work. Until it lands
 * the block is accepted but empty.
 */
import { z } from 'zod';

export const acmeSchema = z.strictObject({}).optional();
