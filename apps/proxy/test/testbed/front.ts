/**
 * A transparent front for the registry that records every request (method, path,
 * whether it carried Authorization), so tests can assert exactly what reached
 * "Docker Hub", e.g. that a client's HEAD caused no manifest GET.
 */
import http from 'node:http';
import { startHttp, type Started } from './http-server.js';

export interface FrontCall {
  method: string;
  path: string;
  authorization: string | undefined;
}

/** A canned answer the front gives instead of forwarding (fault injection). */
export interface FrontFault {
  /** Drop the connection without answering (upstream down). */
  hangUp?: boolean;
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Front extends Started {
  calls: FrontCall[];
  /** When set and returning a fault, the request is answered with it. */
  fault: ((call: FrontCall) => FrontFault | undefined) | undefined;
  manifestGets(): FrontCall[];
}

export async function startFront(target: { host: string; port: number }): Promise<Front> {
  const calls: FrontCall[] = [];
  const state: { fault: Front['fault'] } = { fault: undefined };
  const started = await startHttp((req, res) => {
    const call = { method: req.method ?? 'GET', path: req.url ?? '/', authorization: req.headers.authorization };
    calls.push(call);
    const fault = state.fault?.(call);
    if (fault?.hangUp) {
      req.socket.destroy();
      return;
    }
    if (fault) {
      res.writeHead(fault.status ?? 500, fault.headers).end(fault.body);
      return;
    }
    const upstream = http.request(
      { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return {
    ...started,
    calls,
    get fault() {
      return state.fault;
    },
    set fault(value) {
      state.fault = value;
    },
    manifestGets: () => calls.filter((c) => c.method === 'GET' && c.path.includes('/manifests/')),
  };
}
