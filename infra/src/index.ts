/** The Pulumi program: `pulumi up` provisions one Docxy host from stack configuration. */
import * as pulumi from '@pulumi/pulumi';
import { DocxyHost } from './docxy-host.js';

const config = new pulumi.Config('docxy');
const host = new DocxyHost('docxy', {
  domain: config.require('domain'),
  zoneId: config.require('zoneId'),
  image: config.require('image'),
  instanceType: config.get('instanceType'),
  dataVolumeGiB: config.getNumber('dataVolumeGiB'),
  allowedCidrs: config.getObject<string[]>('allowedCidrs'),
});

export const url = host.url;
export const publicIp = host.publicIp;
export const healthCheckId = host.healthCheckId;
