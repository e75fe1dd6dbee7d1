/** Where the mirror runs: the configured VPC and subnets, else the region's default VPC and its default subnets. */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface Network {
  vpcId: pulumi.Output<string>;
  vpcCidr: pulumi.Output<string>;
  /** Public subnets (a route to an internet gateway): the ALB needs two in different zones. */
  subnetIds: pulumi.Output<string[]>;
}

export function lookupNetwork(config: { vpcId?: string; subnetIds?: string[] }, opts?: pulumi.InvokeOutputOptions): Network {
  const vpc = aws.ec2.getVpcOutput(config.vpcId ? { id: config.vpcId } : { default: true }, opts);
  const subnetIds = config.subnetIds
    ? pulumi.output(config.subnetIds)
    : aws.ec2
        .getSubnetsOutput(
          {
            filters: [
              { name: 'vpc-id', values: [vpc.id] },
              { name: 'default-for-az', values: ['true'] },
            ],
          },
          opts,
        )
        .ids.apply((ids) => [...ids].sort());
  return { vpcId: vpc.id, vpcCidr: vpc.cidrBlock, subnetIds };
}

/** Route 53 health checkers' IPv4 ranges (asked for only when the mirror is not open to everyone). */
export function healthCheckerCidrs(opts?: pulumi.InvokeOutputOptions): pulumi.Output<string[]> {
  return aws.getIpRangesOutput({ services: ['route53_healthchecks'] }, opts).cidrBlocks;
}
