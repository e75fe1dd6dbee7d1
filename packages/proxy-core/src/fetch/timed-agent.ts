/**
 * Keep-alive agents that bound how long a TCP/TLS connect may take. Node's own
 * `timeout` option is an idle timeout on the socket, which would also cut slow but
 * healthy multi-GB layer transfers, so connect time is enforced here separately.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

export interface AgentOptions {
  connectTimeoutMs: number;
  maxSockets: number;
  /** Resolves host names, refusing forbidden addresses (see address-policy). */
  lookup?: (hostname: string, options: object, callback: (...args: never[]) => void) => void;
}

type CreateConnection = (options: object, callback?: (err: Error | null, socket: Duplex) => void) => Duplex;

function armConnectTimeout(socket: Duplex, ms: number, readyEvent: 'connect' | 'secureConnect'): void {
  const timer = setTimeout(() => {
    const err = Object.assign(new Error(`connect timed out after ${ms} ms`), { code: 'ECONNECTTIMEOUT' });
    socket.destroy(err);
  }, ms);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  socket.once(readyEvent, clear);
  socket.once('close', clear);
  socket.once('error', clear);
}

export function createAgents(options: AgentOptions): { http: http.Agent; https: https.Agent } {
  const common = {
    keepAlive: true,
    maxSockets: options.maxSockets,
    maxFreeSockets: 32,
    scheduling: 'lifo' as const,
    ...(options.lookup ? { lookup: options.lookup } : {}),
  };
  const httpAgent = new http.Agent(common);
  const httpsAgent = new https.Agent(common);
  for (const [agent, readyEvent] of [
    [httpAgent, 'connect'],
    [httpsAgent, 'secureConnect'],
  ] as const) {
    const target = agent as unknown as { createConnection: CreateConnection };
    const original = target.createConnection.bind(agent);
    target.createConnection = (opts, callback) => {
      const socket = original(opts, callback);
      armConnectTimeout(socket, options.connectTimeoutMs, readyEvent);
      return socket;
    };
  }
  return { http: httpAgent, https: httpsAgent };
}
