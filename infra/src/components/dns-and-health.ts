/**
 * The mirror's name and its watchdog, for either topology: a Route 53 record for the domain
 * (an alias to the load balancer, or an A record to the host's address), a Route 53 health
 * check on https://<domain>/healthz, and a CloudWatch alarm on it to an SNS topic (mailed
 * when an address is configured). Health-check metrics exist only in us-east-1, so the alarm
 * and its topic are created there whatever the stack's region.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { HEALTH_PATH } from '../mirror-contract.js';

/** Where Route 53 publishes health-check metrics. */
export const HEALTH_METRICS_REGION = 'us-east-1';

export type DnsTarget =
  | { kind: 'alias'; dnsName: pulumi.Input<string>; zoneId: pulumi.Input<string> }
  | { kind: 'address'; ip: pulumi.Input<string> };

export interface DnsAndHealthArgs {
  domain: string;
  zoneId: pulumi.Input<string>;
  target: DnsTarget;
  alarmEmail?: string;
}

export class DnsAndHealth extends pulumi.ComponentResource {
  readonly url: pulumi.Output<string>;
  readonly recordFqdn: pulumi.Output<string>;
  readonly healthCheckId: pulumi.Output<string>;
  readonly alarmTopicArn: pulumi.Output<string>;

  constructor(name: string, args: DnsAndHealthArgs, opts?: pulumi.ComponentResourceOptions) {
    super('docxy:aws:DnsAndHealth', name, {}, opts);
    const parent = { parent: this };
    const { target } = args;

    const record = new aws.route53.Record(
      `${name}-record`,
      target.kind === 'alias'
        ? {
            zoneId: args.zoneId,
            name: args.domain,
            type: 'A',
            aliases: [{ name: target.dnsName, zoneId: target.zoneId, evaluateTargetHealth: true }],
          }
        : { zoneId: args.zoneId, name: args.domain, type: 'A', ttl: 60, records: [target.ip] },
      parent,
    );

    const health = new aws.route53.HealthCheck(
      `${name}-health`,
      {
        type: 'HTTPS',
        fqdn: args.domain,
        port: 443,
        resourcePath: HEALTH_PATH,
        enableSni: true,
        requestInterval: 30,
        failureThreshold: 3,
        tags: { Name: `${name}-health` },
      },
      parent,
    );

    const topic = new aws.sns.Topic(`${name}-alarms`, { region: HEALTH_METRICS_REGION }, parent);
    if (args.alarmEmail) {
      new aws.sns.TopicSubscription(
        `${name}-alarm-email`,
        { region: HEALTH_METRICS_REGION, topic: topic.arn, protocol: 'email', endpoint: args.alarmEmail },
        parent,
      );
    }

    new aws.cloudwatch.MetricAlarm(
      `${name}-down`,
      {
        region: HEALTH_METRICS_REGION,
        alarmDescription: `https://${args.domain}${HEALTH_PATH} fails Route 53 health checks`,
        namespace: 'AWS/Route53',
        metricName: 'HealthCheckStatus',
        dimensions: { HealthCheckId: health.id },
        statistic: 'Minimum',
        period: 60,
        evaluationPeriods: 3,
        comparisonOperator: 'LessThanThreshold',
        threshold: 1,
        // No data means no health checker reached the mirror: that is down too.
        treatMissingData: 'breaching',
        alarmActions: [topic.arn],
        okActions: [topic.arn],
      },
      parent,
    );

    this.url = pulumi.output(`https://${args.domain}`);
    this.recordFqdn = record.fqdn;
    this.healthCheckId = health.id;
    this.alarmTopicArn = topic.arn;
    this.registerOutputs({
      url: this.url,
      recordFqdn: this.recordFqdn,
      healthCheckId: this.healthCheckId,
      alarmTopicArn: this.alarmTopicArn,
    });
  }
}
