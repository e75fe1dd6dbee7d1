/**
 * The mirror's secrets (upstream account passwords; in proxy mode on Fargate, the token
 * signing key) as SSM SecureString parameters under the stack's path: ECS injects them as
 * container secrets, the EC2 host decrypts the passwords into a root-only file at start.
 * They never appear in a task definition or in user data.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { UpstreamAccount } from '../config.js';
import { SIGNING_KEY_ENV, upstreamPasswordEnv } from '../mirror-contract.js';
import { parameterName, upstreamSecretName } from '../plan/names.js';

export interface MirrorSecretsArgs {
  /** The stack's SSM path (names.ts parameterPath). */
  parameterPath: string;
  accounts: UpstreamAccount[];
  signingKey?: pulumi.Output<string>;
}

export interface InjectedSecret {
  /** The environment variable the container gets it in (the config's passwordEnv, or SIGNING_KEY_ENV). */
  env: string;
  parameterArn: pulumi.Output<string>;
}

export class MirrorSecrets extends pulumi.ComponentResource {
  readonly secrets: InjectedSecret[];

  constructor(name: string, args: MirrorSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('docxy:aws:MirrorSecrets', name, {}, opts);
    const secret = (suffix: string, env: string, parameter: string, value: pulumi.Input<string>, description: string): InjectedSecret => {
      const created = new aws.ssm.Parameter(
        `${name}-${suffix}`,
        { name: parameter, type: 'SecureString', value, description },
        { parent: this },
      );
      return { env, parameterArn: created.arn };
    };
    this.secrets = args.accounts.map((account, index) =>
      secret(
        String(index),
        upstreamPasswordEnv(index),
        upstreamSecretName(args.parameterPath, index),
        account.password,
        `Docxy: password of ${account.username} at ${account.registry}`,
      ),
    );
    if (args.signingKey)
      this.secrets.push(
        secret(
          'signing-key',
          SIGNING_KEY_ENV,
          parameterName(args.parameterPath, 'signingKey'),
          args.signingKey,
          'Docxy: token signing key (proxy mode)',
        ),
      );
    this.registerOutputs({ parameterArns: this.secrets.map((s) => s.parameterArn) });
  }
}
