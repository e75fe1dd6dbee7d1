/**
 * Upstream account passwords (stack secrets) as SSM SecureString parameters under the stack's
 * path: ECS injects them as container secrets, the EC2 host decrypts them into a root-only
 * file at start. They never appear in a task definition or in user data.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { UpstreamAccount } from '../config.js';
import { upstreamPasswordEnv } from '../mirror-contract.js';
import { upstreamSecretName } from '../plan/names.js';

export interface UpstreamSecretsArgs {
  /** The stack's SSM path (names.ts parameterPath). */
  parameterPath: string;
  accounts: UpstreamAccount[];
}

export interface InjectedSecret {
  /** The environment variable the mirror's config names (passwordEnv). */
  env: string;
  parameterArn: pulumi.Output<string>;
}

export class UpstreamSecrets extends pulumi.ComponentResource {
  readonly secrets: InjectedSecret[];

  constructor(name: string, args: UpstreamSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('docxy:aws:UpstreamSecrets', name, {}, opts);
    this.secrets = args.accounts.map((account, index) => {
      const parameter = new aws.ssm.Parameter(
        `${name}-${index}`,
        {
          name: upstreamSecretName(args.parameterPath, index),
          type: 'SecureString',
          value: account.password,
          description: `Docxy: password of ${account.username} at ${account.registry}`,
        },
        { parent: this },
      );
      return { env: upstreamPasswordEnv(index), parameterArn: parameter.arn };
    });
    this.registerOutputs({ parameterArns: this.secrets.map((s) => s.parameterArn) });
  }
}
