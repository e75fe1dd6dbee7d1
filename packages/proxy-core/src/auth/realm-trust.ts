/**
 * Which token realms an upstream's credentials may be sent to. A realm is trusted when
 * it is on the registry's own host, or listed by the operator (`trustedRealms`).
 * Anything else, including a realm an upstream challenge names on another host, is
 * refused: a compromised or spoofed upstream must not be able to harvest credentials.
 */
export function isTrustedRealm(realm: URL, registryUrl: URL, trustedRealms: readonly string[]): boolean {
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') return false;
  if (realm.username || realm.password) return false;
  if (realm.host === registryUrl.host && realm.protocol === registryUrl.protocol) return true;
  return trustedRealms.some((entry) => {
    // "https://*.pkg.dev/v2/token" trusts that path on every subdomain of pkg.dev.
    const wildcard = entry.includes('://*.');
    let trusted: URL;
    try {
      trusted = new URL(wildcard ? entry.replace('://*.', '://') : entry);
    } catch {
      return false;
    }
    if (realm.pathname !== trusted.pathname || realm.protocol !== trusted.protocol || realm.port !== trusted.port) return false;
    return wildcard ? realm.hostname.endsWith(`.${trusted.hostname}`) : realm.hostname === trusted.hostname;
  });
}
