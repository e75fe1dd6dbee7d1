/**
 * The policy pack's entry, run by `pulumi up --policy-pack infra/policy` (after `pnpm build`).
 * Thin on purpose: constructing a PolicyPack starts the analyzer's gRPC server, so tests
 * import ./policies.js instead of this file.
 */
import { PolicyPack } from '@pulumi/policy';
import { policies } from './policies.js';

new PolicyPack('docxy', { policies });
