/**
 * Docxy's guard rails, checked by `pulumi up --policy-pack infra/policy` on every deploy:
 * the internet reaches only ports 80 and 443, storage is encrypted, no bucket is public, no
 * secret sits in plain text in a task definition or user data, IMDSv2 is required.
 *
 * Kept apart from the pack's entry (index.ts): `new PolicyPack()` starts a gRPC server, so
 * tests import this module and call each policy's validateResource / validateStack directly.
 * Resources are matched by type token (no @pulumi/aws import needed). Values unknown during a
 * preview arrive as undefined and are judged at update time, when they are known.
 */
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from '@pulumi/policy';

export const TYPES = {
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  securityGroupRule: 'aws:ec2/securityGroupRule:SecurityGroupRule',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  volume: 'aws:ebs/volume:Volume',
  instance: 'aws:ec2/instance:Instance',
  launchTemplate: 'aws:ec2/launchTemplate:LaunchTemplate',
  bucket: 'aws:s3/bucket:Bucket',
  bucketSse: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  bucketPublicAccess: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  bucketAcl: 'aws:s3/bucketAcl:BucketAcl',
  bucketPolicy: 'aws:s3/bucketPolicy:BucketPolicy',
  taskDefinition: 'aws:ecs/taskDefinition:TaskDefinition',
} as const;

type Props = Record<string, unknown>;
const list = (value: unknown): Props[] => (Array.isArray(value) ? (value as Props[]) : []);
const nonEmpty = (value: unknown): boolean => Array.isArray(value) && value.length > 0;

// ---- ingress ---------------------------------------------------------------------------

const WEB_PORTS = new Set([80, 443]);

/** A rule admitting addresses (not another security group) must be exactly TCP 80 or TCP 443. */
function checkAddressRule(rule: Props, where: string, report: ReportViolation): void {
  const fromAddresses =
    nonEmpty(rule.cidrBlocks) ||
    nonEmpty(rule.ipv6CidrBlocks) ||
    nonEmpty(rule.prefixListIds) ||
    !!rule.cidrIpv4 ||
    !!rule.cidrIpv6 ||
    !!rule.prefixListId;
  if (!fromAddresses) return;
  const protocol = String(rule.protocol ?? rule.ipProtocol ?? '').toLowerCase();
  const tcp = protocol === 'tcp' || protocol === '6';
  const single = rule.fromPort === rule.toPort && WEB_PORTS.has(Number(rule.fromPort));
  if (!tcp || !single)
    report(`${where}: ingress from addresses must be TCP 80 or 443 alone, not ${protocol || '?'} ${rule.fromPort}-${rule.toPort}`);
}

export const ingressWebPortsOnly: ResourceValidationPolicy = {
  name: 'docxy-ingress-web-ports-only',
  description: 'No ingress from the internet other than TCP 80 and 443.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type === TYPES.securityGroup) {
      for (const [i, rule] of list(args.props.ingress).entries()) checkAddressRule(rule, `ingress[${i}]`, report);
    }
    if (args.type === TYPES.securityGroupRule && args.props.type === 'ingress') checkAddressRule(args.props, 'rule', report);
    if (args.type === TYPES.ingressRule) checkAddressRule(args.props, 'rule', report);
  },
};

// ---- encryption ------------------------------------------------------------------------

const SSE_ALGORITHMS = new Set(['AES256', 'aws:kms', 'aws:kms:dsse']);

export const storageEncrypted: ResourceValidationPolicy = {
  name: 'docxy-storage-encrypted',
  description: 'Every EBS volume and block device is encrypted; bucket encryption uses SSE-S3 or KMS.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const p = args.props;
    if (args.type === TYPES.volume && p.encrypted !== true) report('EBS volume must set encrypted: true');
    if (args.type === TYPES.instance) {
      if ((p.rootBlockDevice as Props | undefined)?.encrypted !== true) report('rootBlockDevice must set encrypted: true');
      for (const [i, device] of list(p.ebsBlockDevices).entries())
        if (device.encrypted !== true) report(`ebsBlockDevices[${i}] must set encrypted: true`);
    }
    if (args.type === TYPES.launchTemplate) {
      // A launch template's encrypted flag is a string ("true").
      for (const [i, mapping] of list(p.blockDeviceMappings).entries()) {
        const encrypted = (mapping.ebs as Props | undefined)?.encrypted;
        if (mapping.ebs && encrypted !== 'true' && encrypted !== true) report(`blockDeviceMappings[${i}].ebs must be encrypted`);
      }
    }
    if (args.type === TYPES.bucketSse) {
      const rules = list(p.rules);
      if (rules.length === 0) report('bucket encryption configuration has no rule');
      for (const rule of rules) {
        const algorithm = (rule.applyServerSideEncryptionByDefault as Props | undefined)?.sseAlgorithm;
        if (!SSE_ALGORITHMS.has(String(algorithm))) report(`bucket encryption must be AES256 or aws:kms, not ${String(algorithm)}`);
      }
    }
  },
};

/** Is `other` attached to `bucket` (by dependency, or by name once known)? */
function refersTo(other: PolicyResource, bucket: PolicyResource): boolean {
  if ((other.propertyDependencies?.bucket ?? []).some((dep) => dep.urn === bucket.urn)) return true;
  return other.props.bucket !== undefined && other.props.bucket === bucket.props.bucket;
}

function everyBucketHas(type: string, what: string): StackValidationPolicy['validateStack'] {
  return (args, report) => {
    const attached = args.resources.filter((r) => r.type === type);
    for (const bucket of args.resources.filter((r) => r.type === TYPES.bucket)) {
      if (!attached.some((r) => refersTo(r, bucket))) report(`bucket ${bucket.name} has no ${what}`, bucket.urn);
    }
  };
}

export const bucketsEncrypted: StackValidationPolicy = {
  name: 'docxy-buckets-encrypted',
  description: 'Every S3 bucket has a server-side encryption configuration.',
  enforcementLevel: 'mandatory',
  validateStack: everyBucketHas(TYPES.bucketSse, 'server-side encryption configuration'),
};

// ---- public buckets --------------------------------------------------------------------

const PUBLIC_ACLS = new Set(['public-read', 'public-read-write', 'authenticated-read']);
const isEveryone = (principal: unknown): boolean =>
  principal === '*' || (typeof principal === 'object' && principal !== null && [(principal as Props).AWS].flat().includes('*'));

export const noPublicBucket: ResourceValidationPolicy = {
  name: 'docxy-no-public-bucket',
  description: 'No public ACL, every public-access block fully on, no bucket policy allowing everyone.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const p = args.props;
    if ((args.type === TYPES.bucket || args.type === TYPES.bucketAcl) && PUBLIC_ACLS.has(String(p.acl)))
      report(`ACL ${String(p.acl)} makes the bucket public`);
    if (args.type === TYPES.bucketPublicAccess) {
      for (const flag of ['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets'])
        if (p[flag] !== true) report(`${flag} must be true`);
    }
    if (args.type === TYPES.bucketPolicy && typeof p.policy === 'string') {
      const statements = [(JSON.parse(p.policy) as { Statement?: Props | Props[] }).Statement ?? []].flat();
      for (const s of statements) if (s.Effect === 'Allow' && isEveryone(s.Principal)) report('bucket policy allows everyone ("*")');
    }
  },
};

export const bucketsPrivate: StackValidationPolicy = {
  name: 'docxy-buckets-private',
  description: 'Every S3 bucket has a public-access block.',
  enforcementLevel: 'mandatory',
  validateStack: everyBucketHas(TYPES.bucketPublicAccess, 'public-access block'),
};

// ---- plain-text secrets ------------------------------------------------------------------

/** Shapes of real credentials: AWS keys, GitHub, Docker Hub and GitLab tokens, Slack, private keys. */
const CREDENTIAL =
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b|\b(ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}|github_pat_\w{20,}|dckr_pat_[\w-]{10,}|glpat-[\w-]{16,}|xox[bpas]-[\w-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----/;
/** Environment names that announce a secret. */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL)/i;
/** A secret given a literal value in a script (NAME=value, not NAME=$var). */
const SECRET_ASSIGNMENT = /\b[A-Z0-9_]*(PASSWORD|PASSWD|SECRET|TOKEN)[A-Z0-9_]*=(?![$%"'\s])\S{6,}/;
/** A config file carrying a password (or S3 keys) itself instead of passwordEnv / passwordFile / a role. */
const SECRET_CONFIG_KEY = /["']?\b(password|secretAccessKey)\b["']?\s*:\s*["']?[^\s"',}]/;

function checkText(text: string, where: string, report: ReportViolation): void {
  if (CREDENTIAL.test(text)) report(`${where} contains a credential in plain text`);
  else if (SECRET_ASSIGNMENT.test(text)) report(`${where} assigns a secret a literal value`);
  else if (SECRET_CONFIG_KEY.test(text)) report(`${where} holds a password in a config file (use passwordEnv and a secret)`);
}

/** An instance's userData is text (or userDataBase64); a launch template's userData is base64. */
function decodeUserData(type: string, p: Props): string | undefined {
  const base64 = type === TYPES.launchTemplate ? p.userData : p.userDataBase64;
  if (typeof base64 === 'string') return Buffer.from(base64, 'base64').toString('utf8');
  return typeof p.userData === 'string' ? p.userData : undefined;
}

export const noPlaintextSecrets: ResourceValidationPolicy = {
  name: 'docxy-no-plaintext-secrets',
  description: 'Task definitions pass secrets by reference (secrets/valueFrom); user data holds no secret.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const p = args.props;
    if (args.type === TYPES.taskDefinition && typeof p.containerDefinitions === 'string') {
      for (const container of JSON.parse(p.containerDefinitions) as Props[]) {
        for (const variable of list(container.environment)) {
          const where = `container ${String(container.name)} environment ${String(variable.name)}`;
          if (SECRET_NAME.test(String(variable.name))) report(`${where}: a secret belongs in "secrets" (valueFrom), not "environment"`);
          else checkText(String(variable.value ?? ''), where, report);
        }
        checkText(JSON.stringify([container.command, container.entryPoint]), `container ${String(container.name)} command`, report);
      }
    }
    if (args.type === TYPES.instance || args.type === TYPES.launchTemplate) {
      const userData = decodeUserData(args.type, p);
      if (userData !== undefined) checkText(userData, 'user data', report);
    }
  },
};

// ---- instance metadata -------------------------------------------------------------------

export const imdsV2Required: ResourceValidationPolicy = {
  name: 'docxy-imdsv2-required',
  description: 'Instances and launch templates require IMDSv2 session tokens.',
  enforcementLevel: 'mandatory',
  validateResource: (args: ResourceValidationArgs, report) => {
    if (args.type !== TYPES.instance && args.type !== TYPES.launchTemplate) return;
    if ((args.props.metadataOptions as Props | undefined)?.httpTokens !== 'required')
      report('metadataOptions.httpTokens must be "required" (IMDSv2)');
  },
};

export const resourcePolicies = [ingressWebPortsOnly, storageEncrypted, noPublicBucket, noPlaintextSecrets, imdsV2Required];
export const stackPolicies = [bucketsEncrypted, bucketsPrivate];
export const policies = [...resourcePolicies, ...stackPolicies];
