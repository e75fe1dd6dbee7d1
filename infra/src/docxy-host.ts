/**
 * One EC2 host running the Docxy container, with its own security group (no default,
 * no open SSH), an encrypted data volume for the cache, a DNS record and a Route 53
 * health check on /healthz. Child names derive from the component's name.
 */
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { planHost } from './plan.js';

export interface DocxyHostArgs {
  image: string;
  domain: string;
  zoneId: pulumi.Input<string>;
  instanceType?: string;
  dataVolumeGiB?: number;
  allowedCidrs?: string[];
  port?: number;
  vpcId?: pulumi.Input<string>;
  subnetId?: pulumi.Input<string>;
}

export class DocxyHost extends pulumi.ComponentResource {
  readonly publicIp: pulumi.Output<string>;
  readonly url: pulumi.Output<string>;
  readonly healthCheckId: pulumi.Output<string>;
  readonly dnsRecordName: pulumi.Output<string>;

  constructor(name: string, args: DocxyHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super('docxy:aws:DocxyHost', name, {}, opts);
    const parent = { parent: this };
    const dataVolumeGiB = args.dataVolumeGiB ?? 100;
    const plan = planHost({
      image: args.image,
      domain: args.domain,
      port: args.port ?? 5000,
      dataVolumeGiB,
      allowedCidrs: args.allowedCidrs ?? ['0.0.0.0/0'],
    });

    const group = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        description: 'Docxy registry mirror',
        vpcId: args.vpcId,
        ingress: plan.ingress.map((rule) => ({ protocol: 'tcp', ...rule })),
        egress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'], description: 'upstream registries over HTTPS' }],
      },
      parent,
    );

    const ami = aws.ec2.getAmiOutput(
      {
        mostRecent: true,
        owners: ['amazon'],
        filters: [{ name: 'name', values: ['al2023-ami-2023.*-x86_64'] }],
      },
      parent,
    );

    const instance = new aws.ec2.Instance(
      `${name}-host`,
      {
        ami: ami.id,
        instanceType: args.instanceType ?? 't3.medium',
        subnetId: args.subnetId,
        vpcSecurityGroupIds: [group.id],
        userData: plan.userData,
        userDataReplaceOnChange: true,
        metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
        rootBlockDevice: { volumeSize: 20, encrypted: true },
        ebsBlockDevices: [{ deviceName: '/dev/sdf', volumeSize: dataVolumeGiB, volumeType: 'gp3', encrypted: true }],
        tags: { Name: `${name}-host` },
      },
      parent,
    );

    const address = new aws.ec2.Eip(`${name}-ip`, { instance: instance.id, domain: 'vpc' }, parent);

    const record = new aws.route53.Record(
      `${name}-dns`,
      { zoneId: args.zoneId, name: args.domain, type: 'A', ttl: 60, records: [address.publicIp] },
      parent,
    );

    const health = new aws.route53.HealthCheck(
      `${name}-health`,
      {
        fqdn: args.domain,
        port: 443,
        type: 'HTTPS',
        resourcePath: plan.healthCheckPath,
        failureThreshold: 3,
        requestInterval: 30,
        tags: { Name: `${name}-health` },
      },
      parent,
    );

    this.publicIp = address.publicIp;
    this.url = pulumi.output(`https://${args.domain}`);
    this.healthCheckId = health.id;
    this.dnsRecordName = record.name;
    this.registerOutputs({ publicIp: this.publicIp, url: this.url, healthCheckId: this.healthCheckId, dnsRecordName: this.dnsRecordName });
  }
}
