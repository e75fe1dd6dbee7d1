/**
 * The one-host topology: a Graviton instance running the mirror's container from a systemd
 * unit, HTTPS on 443 with the mirror's built-in ACME (HTTP-01 on 80), the cache on a separate
 * encrypted EBS volume that outlives the instance. No SSH: Session Manager through the
 * instance role. The image, the config file and upstream passwords live in SSM under the
 * stack's path, so a redeploy changes parameters, never the instance (see plan/ec2-host.ts).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { ec2MirrorConfig } from '../mirror-contract.js';
import { bootScript } from '../plan/ec2-host.js';
import { parameterName } from '../plan/names.js';
import { cacheMaxSizeFor } from '../plan/sizes.js';
import { clientIngress, type MirrorArgs, mirrorScope, serviceAssumeRolePolicy, webEgress } from './mirror-common.js';

export interface Ec2MirrorArgs extends MirrorArgs {
  /** SSM path of the stack (image, config, upstream/<n>); upstream/<n> are created by MirrorSecrets. */
  parameterPath: string;
  /** The ECR repository the image comes from (pull rights for the instance role). */
  repositoryArn: pulumi.Input<string>;
  instanceType: string;
  dataVolumeGiB: number;
  acmeEmail?: string;
  acmeDirectoryUrl?: string;
  acmeStaging: boolean;
}

export class Ec2Mirror extends pulumi.ComponentResource {
  readonly publicIp: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;
  readonly dataVolumeId: pulumi.Output<string>;
  readonly imageParameterName: pulumi.Output<string>;

  constructor(name: string, args: Ec2MirrorArgs, opts?: pulumi.ComponentResourceOptions) {
    super('docxy:aws:Ec2Mirror', name, {}, opts);
    const { parent, region } = mirrorScope(this);
    const account = aws.getCallerIdentityOutput({}, parent).accountId;

    // ---- what the host follows: image and config in SSM --------------------------------------
    const imageParameter = new aws.ssm.Parameter(
      `${name}-image`,
      {
        name: parameterName(args.parameterPath, 'image'),
        type: 'String',
        value: args.image,
        description: 'Docxy: the image the host runs (CI sets it)',
      },
      parent,
    );
    const configParameter = new aws.ssm.Parameter(
      `${name}-config`,
      {
        name: parameterName(args.parameterPath, 'config'),
        type: 'String',
        value: ec2MirrorConfig({
          domain: args.domain,
          authMode: args.authMode,
          acmeEmail: args.acmeEmail,
          acmeDirectoryUrl: args.acmeDirectoryUrl,
          acmeStaging: args.acmeStaging,
          cacheMaxSize: cacheMaxSizeFor(args.dataVolumeGiB),
          accounts: args.accounts,
        }),
        description: 'Docxy: the mirror config file (no secrets: passwords by environment variable name)',
      },
      parent,
    );

    // ---- instance role: Session Manager, its own parameters, image pulls --------------------
    const role = new aws.iam.Role(`${name}-host`, { assumeRolePolicy: serviceAssumeRolePolicy('ec2.amazonaws.com') }, parent);
    new aws.iam.RolePolicyAttachment(
      `${name}-host-ssm`,
      { role: role.name, policyArn: 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore' },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-host-docxy`,
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
              Resource: [
                pulumi.interpolate`arn:aws:ssm:${region}:${account}:parameter${args.parameterPath}`,
                pulumi.interpolate`arn:aws:ssm:${region}:${account}:parameter${args.parameterPath}/*`,
              ],
            },
            { Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
            {
              Effect: 'Allow',
              Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
              Resource: args.repositoryArn,
            },
          ],
        }),
      },
      parent,
    );
    const profile = new aws.iam.InstanceProfile(`${name}-host`, { role: role.name }, parent);

    // ---- network: 80/443 only (no SSH), outbound web only -------------------------------------
    const group = new aws.ec2.SecurityGroup(
      `${name}-host`,
      {
        description: 'Docxy host: HTTPS from clients, HTTP for ACME challenges',
        vpcId: args.network.vpcId,
        // 80 open to everyone: Let's Encrypt validates HTTP-01 from addresses it does not publish.
        ingress: clientIngress(args, true),
        egress: webEgress('upstreams, ACME, SSM, ECR, packages'),
      },
      parent,
    );

    // ---- the data volume lives beside the instance, in its zone ----------------------------
    const subnetId = args.network.subnetIds.apply((ids) => {
      if (!ids[0]) throw new Error('no subnet to place the host in');
      return ids[0];
    });
    const zone = aws.ec2.getSubnetOutput({ id: subnetId }, parent).availabilityZone;
    const volume = new aws.ebs.Volume(
      `${name}-data`,
      { availabilityZone: zone, size: args.dataVolumeGiB, type: 'gp3', encrypted: true, tags: { Name: `${name}-data` } },
      // The cache outlives hosts; deleting the stack keeps it unless this is removed.
      { parent: this, retainOnDelete: true },
    );

    // Amazon Linux 2023 for ARM64, looked up once: later releases are ignored (see ignoreChanges).
    const ami = aws.ec2.getAmiOutput(
      { mostRecent: true, owners: ['amazon'], filters: [{ name: 'name', values: ['al2023-ami-2023.*-kernel-*-arm64'] }] },
      parent,
    );
    const instance = new aws.ec2.Instance(
      `${name}-host`,
      {
        ami: ami.id,
        instanceType: args.instanceType,
        subnetId,
        vpcSecurityGroupIds: [group.id],
        iamInstanceProfile: profile.name,
        associatePublicIpAddress: true,
        userData: pulumi
          .all([region, volume.id])
          .apply(([regionName, volumeId]) => bootScript({ region: regionName, parameterPath: args.parameterPath, volumeId })),
        // IMDSv2 only; 2 hops so the container (one hop behind docker's bridge) reaches the role too.
        metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 2, httpEndpoint: 'enabled' },
        rootBlockDevice: { volumeSize: 20, volumeType: 'gp3', encrypted: true },
        tags: { Name: `${name}-host` },
      },
      // A new AMI release must not replace the host: move to one deliberately with `pulumi up --replace`.
      { parent: this, ignoreChanges: ['ami'], dependsOn: [imageParameter, configParameter] },
    );
    new aws.ec2.VolumeAttachment(
      `${name}-data`,
      { instanceId: instance.id, volumeId: volume.id, deviceName: '/dev/sdf', stopInstanceBeforeDetaching: true },
      // When the host is replaced, detach from the old one before attaching to the new one.
      { parent: this, deleteBeforeReplace: true },
    );
    const address = new aws.ec2.Eip(`${name}-ip`, { domain: 'vpc', instance: instance.id, tags: { Name: `${name}-ip` } }, parent);

    this.publicIp = address.publicIp;
    this.instanceId = instance.id;
    this.dataVolumeId = volume.id;
    this.imageParameterName = imageParameter.name;
    this.registerOutputs({
      publicIp: this.publicIp,
      instanceId: this.instanceId,
      dataVolumeId: this.dataVolumeId,
      imageParameterName: this.imageParameterName,
    });
  }
}
