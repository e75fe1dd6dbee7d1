/** The Pulumi program: `pulumi up` provisions Docxy from the stack's `docxy:*` configuration (config.ts). */
import { readStackConfig } from './config.js';
import { deployDocxy } from './program.js';

const outputs = deployDocxy(readStackConfig());

export const url = outputs.url;
export const daemonJson = outputs.daemonJson;
export const hostsToml = outputs.hostsToml;
export const registriesConf = outputs.registriesConf;
export const ciRoleArn = outputs.ciRoleArn;
export const imageRepositoryUrl = outputs.imageRepositoryUrl;
export const topology = outputs.topology;
export const endpoint = outputs.endpoint;
export const instanceId = outputs.instanceId;
export const healthCheckId = outputs.healthCheckId;
