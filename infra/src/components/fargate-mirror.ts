/**
 * The serverless topology: an ECS Fargate service (ARM64) behind an internet-facing ALB.
 * TLS ends at the ALB (ACM certificate validated through Route 53); port 80 only redirects.
 * Tasks speak plain HTTP, reachable only from the ALB's security group, and share an S3
 * bucket as the cache, answering warm blob GETs with presigned redirects. Built from
 * @pulumi/aws resources (not awsx) so every input is visible to tests and policies.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { FARGATE_PORT, HEALTH_PATH, STOP_GRACE_SECONDS, fargateMirror } from '../mirror-contract.js';
import { clientIngress, type MirrorArgs, mirrorScope, serviceAssumeRolePolicy, webEgress } from './mirror-common.js';
import type { InjectedSecret } from './mirror-secrets.js';

export interface FargateMirrorArgs extends MirrorArgs {
  /** The Route 53 zone the certificate is validated in. */
  zoneId: pulumi.Input<string>;
  /** Container secrets: account passwords, and the signing key in proxy mode. */
  secrets: InjectedSecret[];
  desiredCount: number;
  maxCount: number;
  cpu: number;
  memory: number;
  /** S3 blobs expire this long after they were cached. */
  cacheExpiryDays: number;
  logRetentionDays?: number;
  /** Average CPU the autoscaler aims for. */
  cpuTargetPercent?: number;
}

const CONTAINER = 'docxy';

export class FargateMirror extends pulumi.ComponentResource {
  readonly loadBalancerDnsName: pulumi.Output<string>;
  readonly loadBalancerZoneId: pulumi.Output<string>;
  readonly bucketName: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  readonly serviceName: pulumi.Output<string>;
  readonly logGroupName: pulumi.Output<string>;

  constructor(name: string, args: FargateMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
    super('docxy:aws:FargateMirror', name, {}, opts);
    const { parent, region } = mirrorScope(this);

    // ---- cache bucket: private, encrypted, TLS only, blobs expire --------------------------
    const bucket = new aws.s3.Bucket(`${name}-cache`, { forceDestroy: true }, parent);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-cache-sse`,
      { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }] },
      parent,
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-cache-private`,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      parent,
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-cache-owner`,
      { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } },
      parent,
    );
    new aws.s3.BucketPolicy(
      `${name}-cache-tls-only`,
      {
        bucket: bucket.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      },
      { parent: this, dependsOn: [publicAccess] },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-cache-expiry`,
      {
        bucket: bucket.id,
        rules: [
          // The S3 store keeps blobs under blobs/ (proxy-core s3-blob-store keyOf); an expired blob is fetched again on demand.
          { id: 'expire-blobs', status: 'Enabled', filter: { prefix: 'blobs/' }, expiration: { days: args.cacheExpiryDays } },
          { id: 'abort-uploads', status: 'Enabled', filter: { prefix: '' }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
        ],
      },
      parent,
    );

    // ---- security groups: the internet reaches the ALB on 80/443; tasks only from the ALB --
    const albGroup = new aws.ec2.SecurityGroup(
      `${name}-alb`,
      {
        description: 'Docxy load balancer: HTTPS and HTTP redirect from clients',
        vpcId: args.network.vpcId,
        // 80 from the clients only: the load balancer just redirects it to 443.
        ingress: clientIngress(args, false),
        // To the tasks (by CIDR: a group reference would make the two groups depend on each other).
        egress: [
          {
            protocol: 'tcp',
            fromPort: FARGATE_PORT,
            toPort: FARGATE_PORT,
            cidrBlocks: [args.network.vpcCidr],
            description: 'to the tasks',
          },
        ],
      },
      parent,
    );
    const taskGroup = new aws.ec2.SecurityGroup(
      `${name}-tasks`,
      {
        description: 'Docxy tasks: the mirror port from the load balancer only',
        vpcId: args.network.vpcId,
        ingress: [
          {
            protocol: 'tcp',
            fromPort: FARGATE_PORT,
            toPort: FARGATE_PORT,
            securityGroups: [albGroup.id],
            description: 'from the load balancer',
          },
        ],
        egress: webEgress('upstream registries, S3, ECR, SSM, logs'),
      },
      parent,
    );

    // ---- certificate, load balancer, listeners ---------------------------------------------
    const certificate = new aws.acm.Certificate(`${name}-cert`, { domainName: args.domain, validationMethod: 'DNS' }, parent);
    const validationOption = certificate.domainValidationOptions.apply((options) => {
      const option = options.find((o) => o.domainName === args.domain);
      if (!option) throw new Error(`ACM returned no DNS validation record for ${args.domain}`);
      return option;
    });
    const validationRecord = new aws.route53.Record(
      `${name}-cert-validation`,
      {
        zoneId: args.zoneId,
        name: validationOption.resourceRecordName,
        type: validationOption.resourceRecordType,
        records: [validationOption.resourceRecordValue],
        ttl: 300,
        allowOverwrite: true,
      },
      parent,
    );
    const validation = new aws.acm.CertificateValidation(
      `${name}-cert-validated`,
      { certificateArn: certificate.arn, validationRecordFqdns: [validationRecord.fqdn] },
      parent,
    );

    const loadBalancer = new aws.lb.LoadBalancer(
      `${name}-alb`,
      {
        loadBalancerType: 'application',
        internal: false,
        subnets: args.network.subnetIds,
        securityGroups: [albGroup.id],
        // A cold blob can take a while before its first byte arrives from the upstream.
        idleTimeout: 120,
        dropInvalidHeaderFields: true,
      },
      parent,
    );
    const targetGroup = new aws.lb.TargetGroup(
      `${name}-tasks`,
      {
        port: FARGATE_PORT,
        protocol: 'HTTP',
        targetType: 'ip',
        vpcId: args.network.vpcId,
        // Slightly longer than the mirror's drain (server.drainTimeoutMs, 30 s).
        deregistrationDelay: STOP_GRACE_SECONDS - 5,
        healthCheck: { path: HEALTH_PATH, protocol: 'HTTP', matcher: '200', interval: 15, healthyThreshold: 2, unhealthyThreshold: 3 },
      },
      parent,
    );
    const https = new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: loadBalancer.arn,
        port: 443,
        protocol: 'HTTPS',
        sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        certificateArn: validation.certificateArn,
        defaultActions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
      },
      parent,
    );
    new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: loadBalancer.arn,
        port: 80,
        protocol: 'HTTP',
        defaultActions: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } }],
      },
      parent,
    );

    // ---- roles: execution (pull, logs, secrets) and task (the cache bucket only) ------------
    const executionRole = new aws.iam.Role(
      `${name}-execution`,
      { assumeRolePolicy: serviceAssumeRolePolicy('ecs-tasks.amazonaws.com') },
      parent,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-execution-managed`,
      { role: executionRole.name, policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy' },
      parent,
    );
    if (args.secrets.length > 0) {
      new aws.iam.RolePolicy(
        `${name}-execution-secrets`,
        {
          role: executionRole.id,
          policy: pulumi.jsonStringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: ['ssm:GetParameters'], Resource: args.secrets.map((s) => s.parameterArn) }],
          }),
        },
        parent,
      );
    }
    const taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy: serviceAssumeRolePolicy('ecs-tasks.amazonaws.com') }, parent);
    new aws.iam.RolePolicy(
      `${name}-task-cache`,
      {
        role: taskRole.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: bucket.arn },
            {
              Effect: 'Allow',
              Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
              Resource: pulumi.interpolate`${bucket.arn}/*`,
            },
          ],
        }),
      },
      parent,
    );

    // ---- the task and the service ----------------------------------------------------------
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: args.logRetentionDays ?? 30 }, parent);
    const mirror = pulumi.all([bucket.bucket, region, args.network.vpcCidr]).apply(([bucketName, regionName, vpcCidr]) =>
      fargateMirror({
        domain: args.domain,
        authMode: args.authMode,
        bucket: bucketName,
        region: regionName,
        vpcCidr,
        accounts: args.accounts,
      }),
    );
    const containerDefinitions = pulumi.jsonStringify([
      {
        name: CONTAINER,
        image: args.image,
        essential: true,
        entryPoint: mirror.entryPoint,
        command: mirror.command,
        portMappings: [{ containerPort: FARGATE_PORT, protocol: 'tcp' }],
        environment: mirror.environment.apply((env) => Object.entries(env).map(([key, value]) => ({ name: key, value }))),
        // Passwords by reference: ECS reads them from SSM when the task starts.
        secrets: args.secrets.map((s) => ({ name: s.env, valueFrom: s.parameterArn })),
        stopTimeout: STOP_GRACE_SECONDS,
        logConfiguration: {
          logDriver: 'awslogs',
          options: { 'awslogs-group': logGroup.name, 'awslogs-region': region, 'awslogs-stream-prefix': CONTAINER },
        },
      },
    ]);
    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: `${name}-mirror`,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(args.cpu),
        memory: String(args.memory),
        runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        containerDefinitions,
      },
      parent,
    );

    const cluster = new aws.ecs.Cluster(`${name}-cluster`, {}, parent);
    const service = new aws.ecs.Service(
      `${name}-service`,
      {
        cluster: cluster.arn,
        launchType: 'FARGATE',
        taskDefinition: taskDefinition.arn,
        desiredCount: args.desiredCount,
        // Public subnets and a public address: the tasks reach upstream registries without a NAT gateway.
        networkConfiguration: { subnets: args.network.subnetIds, securityGroups: [taskGroup.id], assignPublicIp: true },
        loadBalancers: [{ targetGroupArn: targetGroup.arn, containerName: CONTAINER, containerPort: FARGATE_PORT }],
        healthCheckGracePeriodSeconds: 60,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        propagateTags: 'SERVICE',
      },
      // The autoscaler owns the running count once the service exists.
      { parent: this, dependsOn: [https], ignoreChanges: ['desiredCount'] },
    );

    const scaling = new aws.appautoscaling.Target(
      `${name}-scaling`,
      {
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
        minCapacity: args.desiredCount,
        maxCapacity: args.maxCount,
      },
      parent,
    );
    new aws.appautoscaling.Policy(
      `${name}-cpu`,
      {
        policyType: 'TargetTrackingScaling',
        serviceNamespace: scaling.serviceNamespace,
        scalableDimension: scaling.scalableDimension,
        resourceId: scaling.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' },
          targetValue: args.cpuTargetPercent ?? 60,
          scaleInCooldown: 300,
          scaleOutCooldown: 60,
        },
      },
      parent,
    );

    this.loadBalancerDnsName = loadBalancer.dnsName;
    this.loadBalancerZoneId = loadBalancer.zoneId;
    this.bucketName = bucket.bucket;
    this.clusterName = cluster.name;
    this.serviceName = service.name;
    this.logGroupName = logGroup.name;
    this.registerOutputs({
      loadBalancerDnsName: this.loadBalancerDnsName,
      bucketName: this.bucketName,
      clusterName: this.clusterName,
      serviceName: this.serviceName,
      logGroupName: this.logGroupName,
    });
  }
}
