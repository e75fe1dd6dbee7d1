/** Accept classes, the tag's own manifest, and the bytes a (signed) manifest's digest covers. */
import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { acceptClass, accepts, isTagsOwnManifest, MEDIA, mediaTypeOf } from '../src/cache/manifest-types.js';
import { referencedDigests } from '../src/cache/manifest-references.js';
import { digestedBytes } from '../src/cache/signed-manifest.js';

const ALL = [MEDIA.dockerList, MEDIA.dockerManifest, MEDIA.ociIndex, MEDIA.ociManifest].join(', ');

describe('accept classes', () => {
  test('the class names the manifest types accepted, whatever the order, case, parameters or q-values', () => {
    expect(acceptClass(ALL)).toBe(
      acceptClass(`${MEDIA.ociManifest};q=0.5, ${MEDIA.ociIndex}, ${MEDIA.dockerManifest.toUpperCase()}, ${MEDIA.dockerList}`),
    );
    expect(acceptClass(MEDIA.dockerManifest)).not.toBe(acceptClass(ALL));
    expect(acceptClass(undefined)).toBe('none');
    expect(acceptClass('*/*, text/html')).toBe('none');
  });

  test('an answer is the tag’s own manifest when it is a list, or when the client took every modern type', () => {
    expect(isTagsOwnManifest(MEDIA.dockerManifest, MEDIA.dockerList)).toBe(true);
    expect(isTagsOwnManifest(ALL, MEDIA.dockerManifest)).toBe(true);
    // A client that takes no list may have been given the platform the upstream picked.
    expect(isTagsOwnManifest(MEDIA.dockerManifest, MEDIA.dockerManifest)).toBe(false);
    expect(isTagsOwnManifest([MEDIA.ociIndex, MEDIA.ociManifest].join(', '), MEDIA.dockerSchema1Signed)).toBe(false);
  });

  test('media types ignore parameters and case', () => {
    expect(mediaTypeOf('Application/Vnd.OCI.Image.Index.v1+json; charset=utf-8')).toBe(MEDIA.ociIndex);
    expect(accepts(ALL, MEDIA.ociIndex)).toBe(true);
    expect(accepts(MEDIA.dockerManifest, MEDIA.ociIndex)).toBe(false);
  });
});

describe('what a manifest refers to', () => {
  test('config, layers and blobs; never child manifests or a subject (registries need not check those); anything not a digest is ignored', () => {
    const d = (c: string) => `sha256:${c.repeat(64)}`;
    const body = Buffer.from(
      JSON.stringify({
        config: { digest: d('1') },
        layers: [{ digest: d('2') }, { digest: '../../etc/passwd' }],
        manifests: [{ digest: d('3') }],
        subject: { digest: d('4') },
        blobs: [{ digest: d('2') }],
      }),
    );
    expect(referencedDigests(body).sort()).toEqual([d('1'), d('2')]);
    expect(referencedDigests(Buffer.from('not json'))).toEqual([]);
  });
});

describe('signed schema1 manifests', () => {
  /** A libtrust "pretty JWS": the payload with a signatures block spliced in before its last "\n}". */
  function signed(payload: string): Buffer {
    const formatLength = payload.length - 2;
    const protectedHeader = Buffer.from(
      JSON.stringify({ formatLength, formatTail: Buffer.from(payload.slice(formatLength)).toString('base64url') }),
    ).toString('base64url');
    const signatures = `,\n   "signatures": [{"header": {"alg": "ES256"}, "signature": "xyz", "protected": "${protectedHeader}"}]`;
    return Buffer.from(`${payload.slice(0, formatLength)}${signatures}${payload.slice(formatLength)}`);
  }

  test('the digest covers the payload without the signatures; other types are digested whole', () => {
    const payload = '{\n   "schemaVersion": 1,\n   "name": "library/alpine",\n   "tag": "3.20"\n}';
    const body = signed(payload);
    expect(body.toString()).toContain('signatures');
    expect(digestedBytes(body, MEDIA.dockerSchema1Signed)?.toString()).toBe(payload);
    const other = Buffer.from('{"schemaVersion":2}');
    expect(digestedBytes(other, MEDIA.ociManifest)).toBe(other);
    expect(createHash('sha256').update(digestedBytes(body, MEDIA.dockerSchema1Signed)!).digest('hex')).toBe(
      createHash('sha256').update(payload).digest('hex'),
    );
  });

  test('a signed manifest that cannot be parsed has no digestible bytes', () => {
    expect(digestedBytes(Buffer.from('{"signatures": []}'), MEDIA.dockerSchema1Signed)).toBeUndefined();
    expect(digestedBytes(Buffer.from('<html>'), MEDIA.dockerSchema1Signed)).toBeUndefined();
  });
});
