/**
 * The role GitHub Actions assumes to redeploy (no long-lived keys): trusted through GitHub's
 * OIDC provider, only for jobs of one repository's main branch. It may run `pulumi up` on
 * this stack: PowerUserAccess for the services the stack uses, plus IAM limited to the
 * stack's own roles (all named after the component, e.g. docxy-*).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { githubMainSubject } from '../plan/names.js';

export const GITHUB_OIDC_URL = 'https://token.actions.githubusercontent.com';
const ISSUER = 'token.actions.githubusercontent.com';

export interface CiDeployRoleArgs {
  /** owner/name on GitHub. */
  repository: string;
  /** An existing GitHub OIDC provider in the account (an account holds one per issuer). */
  existingProviderArn?: string;
  /** Prefix of the IAM roles and instance profiles the stack manages. */
  iamNamePrefix: string;
}

export class CiDeployRole extends pulumi.ComponentResource {
  readonly roleArn: pulumi.Output<string>;
  readonly providerArn: pulumi.Output<string>;

  constructor(name: string, args: CiDeployRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super('docxy:aws:CiDeployRole', name, {}, opts);
    const parent = { parent: this };
    const account = aws.getCallerIdentityOutput({}, parent).accountId;

    const providerArn = args.existingProviderArn
      ? pulumi.output(args.existingProviderArn)
      : new aws.iam.OpenIdConnectProvider(`${name}-github`, { url: GITHUB_OIDC_URL, clientIdLists: ['sts.amazonaws.com'] }, parent).arn;

    const role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `GitHub Actions deploys of ${args.repository} (main branch only)`,
        maxSessionDuration: 3600,
        assumeRolePolicy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: providerArn },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: {
                StringEquals: { [`${ISSUER}:aud`]: 'sts.amazonaws.com', [`${ISSUER}:sub`]: githubMainSubject(args.repository) },
              },
            },
          ],
        }),
      },
      parent,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-power-user`,
      { role: role.name, policyArn: 'arn:aws:iam::aws:policy/PowerUserAccess' },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-iam`,
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'StackRoles',
              Effect: 'Allow',
              Action: ['iam:*'],
              Resource: [
                pulumi.interpolate`arn:aws:iam::${account}:role/${args.iamNamePrefix}*`,
                pulumi.interpolate`arn:aws:iam::${account}:instance-profile/${args.iamNamePrefix}*`,
                pulumi.interpolate`arn:aws:iam::${account}:oidc-provider/${ISSUER}`,
              ],
            },
            { Sid: 'ReadIam', Effect: 'Allow', Action: ['iam:Get*', 'iam:List*'], Resource: '*' },
          ],
        }),
      },
      parent,
    );

    this.roleArn = role.arn;
    this.providerArn = providerArn;
    this.registerOutputs({ roleArn: this.roleArn, providerArn: this.providerArn });
  }
}
