/** HTTP-01 answers: the key authorization for each pending challenge token, while it is pending. */
export const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

/** RFC 8555 tokens are base64url; anything else is not ours to answer. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export class ChallengeResponder {
  readonly #answers = new Map<string, string>();

  add(token: string, keyAuthorization: string): void {
    this.#answers.set(token, keyAuthorization);
  }

  remove(token: string): void {
    this.#answers.delete(token);
  }

  /** The body for a request path, or undefined (404) when it names no pending challenge. */
  answer(path: string): string | undefined {
    if (!path.startsWith(CHALLENGE_PREFIX)) return undefined;
    const token = path.slice(CHALLENGE_PREFIX.length);
    return TOKEN.test(token) ? this.#answers.get(token) : undefined;
  }
}
