/**
 * Names the program gives things outside Pulumi's auto-naming: the SSM parameters the host
 * and tasks read, and the scope of the CI role's trust. Pure, so tests pin them.
 */

/** Every SSM parameter of a stack lives under this path (the EC2 host watches the whole path). */
export function parameterPath(stack: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new Error(`stack name not usable in an SSM path: ${stack}`);
  return `/docxy/${stack}`;
}

/** Keys under parameterPath: the image CI pushed, the mirror's config file, upstream passwords (upstream/<n>), the token signing key. */
export const PARAMETER_KEYS = { image: 'image', config: 'config', upstream: 'upstream', signingKey: 'signing-key' } as const;

export function parameterName(path: string, key: keyof typeof PARAMETER_KEYS): string {
  return `${path}/${PARAMETER_KEYS[key]}`;
}

/** The SecureString holding upstream account n's password. */
export function upstreamSecretName(path: string, index: number): string {
  return `${parameterName(path, 'upstream')}/${index}`;
}

/** The GitHub OIDC subject a deploy job on the default branch presents (no environment, no pull request). */
export function githubMainSubject(repository: string): string {
  return `repo:${repository}:ref:refs/heads/main`;
}
