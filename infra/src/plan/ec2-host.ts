/**
 * The EC2 host's software, as text: a first-boot script (user data), the scripts it installs
 * and their systemd units. Pure, so tests read them and shellcheck them.
 *
 * What may change after launch (the image CI pushes, the mirror's config file, upstream
 * passwords) lives in SSM Parameter Store under one path per stack, not in user data: the
 * user data stays the same, so a redeploy neither replaces the host nor touches its cache
 * volume. A timer compares the parameters' versions with those the running container was
 * started from and restarts it (after pulling the new image) when they differ.
 */
import {
  CONTAINER_DATA_DIR,
  EC2_CONFIG_PATH,
  EC2_DATA_MOUNT,
  EC2_PORTS,
  ENV,
  MIRROR_GID,
  MIRROR_UID,
  STOP_GRACE_SECONDS,
  UPSTREAM_PASSWORD_ENV_PREFIX,
} from '../mirror-contract.js';
import { PARAMETER_KEYS } from './names.js';

export interface HostInput {
  region: string;
  /** SSM path holding the stack's parameters (names.ts). */
  parameterPath: string;
  /** The EBS data volume; found by its NVMe serial, which is the volume id without the dash. */
  volumeId: string;
}

/** Where the host's files go (tests render the scripts with paths under a temporary directory). */
export interface HostPaths {
  hostEnv: string;
  common: string;
  run: string;
  update: string;
  units: string;
  /** tmpfs: what the running container was started from, its config file and its secrets. */
  state: string;
}

export const PATHS: HostPaths = {
  hostEnv: '/etc/docxy/host.env',
  common: '/usr/local/lib/docxy/common.sh',
  run: '/usr/local/sbin/docxy-run',
  update: '/usr/local/sbin/docxy-update',
  units: '/etc/systemd/system',
  state: '/run/docxy',
};

const SAFE = { region: /^[a-z]{2}(-[a-z]+)+-\d$/, parameterPath: /^(\/[A-Za-z0-9_.-]+)+$/, volumeId: /^vol-[0-9a-f]{8,17}$/ };

/** Host-specific values the scripts source. Checked: they are written into a shell file. */
export function hostEnv(input: HostInput): string {
  for (const [key, pattern] of Object.entries(SAFE)) {
    const value = input[key as keyof HostInput];
    if (!pattern.test(value)) throw new Error(`${key} is not safe in a shell file: ${JSON.stringify(value)}`);
  }
  return [`DOCXY_REGION=${input.region}`, `DOCXY_PARAMETERS=${input.parameterPath}`, ''].join('\n');
}

/** Functions docxy-run and docxy-update share. */
export function commonScript(paths: HostPaths = PATHS): string {
  return `# shellcheck shell=bash
# Shared by docxy-run and docxy-update: the stack's SSM parameters and image pulls.
# shellcheck source=/dev/null
. ${paths.hostEnv}

docxy_parameter() {
  aws ssm get-parameter --region "$DOCXY_REGION" --name "$DOCXY_PARAMETERS/$1" --query Parameter.Value --output text
}

# Names and versions of the stack's parameters (passwords are not decrypted): it changes when
# CI sets a new image or the config or a password changes.
docxy_fingerprint() {
  aws ssm get-parameters-by-path --region "$DOCXY_REGION" --path "$DOCXY_PARAMETERS" --recursive \\
    --query 'sort_by(Parameters, &Name)[].[Name, Version]' --output text
}

docxy_pull() {
  local image=$1
  local registry=\${image%%/*}
  case "$registry" in
    *.dkr.ecr.*.amazonaws.com)
      aws ecr get-login-password --region "$DOCXY_REGION" | docker login --username AWS --password-stdin "$registry" >/dev/null ;;
  esac
  docker pull --quiet "$image" >/dev/null
}
`;
}

/** docxy.service's ExecStart: fetch image, config and passwords, then run the container in the foreground. */
export function runScript(paths: HostPaths = PATHS): string {
  const { https, acme } = EC2_PORTS;
  return `#!/bin/bash
# Runs the Docxy container for docxy.service (in the foreground, so systemd supervises it).
set -euo pipefail
# shellcheck source=/dev/null
. ${paths.common}

install -d -m 0700 ${paths.state}
# Recorded first: a change made while starting is picked up by the next docxy-update.
docxy_fingerprint > ${paths.state}/applied
image=$(docxy_parameter ${PARAMETER_KEYS.image})
docxy_pull "$image"
docxy_parameter ${PARAMETER_KEYS.config} > ${paths.state}/config.yml
chmod 0644 ${paths.state}/config.yml

# Upstream passwords: decrypted into a root-only file on tmpfs, handed to the container as
# environment variables (the config names them with passwordEnv). Never in user data or logs.
umask 077
aws ssm get-parameters-by-path --region "$DOCXY_REGION" --path "$DOCXY_PARAMETERS/${PARAMETER_KEYS.upstream}" --with-decryption \\
  --query 'Parameters[].[Name, Value]' --output text |
  while IFS=$'\\t' read -r name value; do
    printf '${UPSTREAM_PASSWORD_ENV_PREFIX}%s=%s\\n' "\${name##*/}" "$value"
  done > ${paths.state}/secrets.env

docker rm --force docxy >/dev/null 2>&1 || true
exec docker run --rm --name docxy \\
  --publish ${https.host}:${https.container} --publish ${acme.host}:${acme.container} \\
  --volume ${EC2_DATA_MOUNT}/data:${CONTAINER_DATA_DIR} \\
  --volume ${paths.state}/config.yml:${EC2_CONFIG_PATH}:ro \\
  --env ${ENV.config}=${EC2_CONFIG_PATH} \\
  --env-file ${paths.state}/secrets.env \\
  --stop-timeout ${STOP_GRACE_SECONDS} --log-driver journald \\
  "$image"
`;
}

/** docxy-update.service: restart the mirror when its parameters changed, pulling the new image first. */
export function updateScript(paths: HostPaths = PATHS): string {
  return `#!/bin/bash
# Follows the stack's SSM parameters: when they differ from those the container was started
# from, pull the image first (the mirror stays up meanwhile), then restart docxy.service.
set -euo pipefail
# shellcheck source=/dev/null
. ${paths.common}

wanted=$(docxy_fingerprint)
if [ -f ${paths.state}/applied ] && [ "$wanted" = "$(cat ${paths.state}/applied)" ]; then
  exit 0
fi
docxy_pull "$(docxy_parameter ${PARAMETER_KEYS.image})"
systemctl restart docxy.service
`;
}

/** systemd units, by file name. */
export function units(paths: HostPaths = PATHS): Record<string, string> {
  return {
    'docxy.service': `[Unit]
Description=Docxy registry mirror
After=docker.service network-online.target
Requires=docker.service
Wants=network-online.target
RequiresMountsFor=${EC2_DATA_MOUNT}
# Keep retrying (e.g. until CI has pushed the first image).
StartLimitIntervalSec=0

[Service]
ExecStart=${paths.run}
ExecStop=/usr/bin/docker stop --time ${STOP_GRACE_SECONDS} docxy
Restart=always
RestartSec=10
TimeoutStartSec=900
TimeoutStopSec=${STOP_GRACE_SECONDS + 20}

[Install]
WantedBy=multi-user.target
`,
    'docxy-update.service': `[Unit]
Description=Restart Docxy when its image, config or passwords change in SSM
After=docxy.service

[Service]
Type=oneshot
ExecStart=${paths.update}
`,
    'docxy-update.timer': `[Unit]
Description=Check Docxy's SSM parameters every minute

[Timer]
OnBootSec=2min
OnUnitActiveSec=1min

[Install]
WantedBy=timers.target
`,
  };
}

const EOF_MARK = 'DOCXY_EOF';

function writeFile(path: string, content: string, mode: string): string {
  // A quoted here-document: nothing inside is expanded by the boot shell.
  if (content.split('\n').includes(EOF_MARK)) throw new Error(`${path} contains the here-document marker`);
  return `cat > ${path} <<'${EOF_MARK}'\n${content}${content.endsWith('\n') ? '' : '\n'}${EOF_MARK}\nchmod ${mode} ${path}\n`;
}

/** User data: runs once, at the instance's first boot (Amazon Linux 2023, ARM64). */
export function bootScript(input: HostInput): string {
  const device = `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${input.volumeId.replace('-', '')}`;
  const unitFiles = Object.entries(units());
  return [
    '#!/bin/bash',
    '# Docxy host, first boot: Docker, the data volume (by UUID in fstab, owned by the container user),',
    '# and the units that run the mirror from the image and config in SSM.',
    'set -euo pipefail',
    `install -d -m 0755 /etc/docxy ${PATHS.common.replace(/\/[^/]+$/, '')}`,
    writeFile(PATHS.hostEnv, hostEnv(input), '0644'),
    writeFile(PATHS.common, commonScript(), '0644'),
    writeFile(PATHS.run, runScript(), '0755'),
    writeFile(PATHS.update, updateScript(), '0755'),
    ...unitFiles.map(([name, content]) => writeFile(`${PATHS.units}/${name}`, content, '0644')),
    'dnf install -y docker',
    'systemctl enable --now docker',
    '',
    '# The data volume is attached after the instance starts: wait for it (up to 10 minutes).',
    `device=${device}`,
    'for _ in $(seq 1 120); do',
    '  [ -e "$device" ] && break',
    '  sleep 5',
    'done',
    '[ -e "$device" ] || { echo "data volume $device never appeared" >&2; exit 1; }',
    '# Formatted once: a replacement host finds the filesystem, and the cache, as they were.',
    'blkid "$device" >/dev/null || mkfs.xfs -L docxy-data "$device"',
    'uuid=$(blkid -s UUID -o value "$device")',
    `grep -q "^UUID=$uuid " /etc/fstab || echo "UUID=$uuid ${EC2_DATA_MOUNT} xfs defaults,nofail 0 2" >> /etc/fstab`,
    `mkdir -p ${EC2_DATA_MOUNT}`,
    `mountpoint -q ${EC2_DATA_MOUNT} || mount ${EC2_DATA_MOUNT}`,
    `mkdir -p ${EC2_DATA_MOUNT}/data`,
    `chown ${MIRROR_UID}:${MIRROR_GID} ${EC2_DATA_MOUNT}/data`,
    '',
    'systemctl daemon-reload',
    `systemctl enable --now ${unitFiles
      .map(([name]) => name)
      .filter((name) => name !== 'docxy-update.service')
      .join(' ')}`,
    '',
  ].join('\n');
}
