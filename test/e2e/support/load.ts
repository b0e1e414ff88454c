/**
 * Steady HTTP load on lab hosts (loopback addresses only) while something else happens: N loops per
 * host, each sending one request after another, bounded in time and count, stopping by itself.
 * Counts every status and every connection error.
 */
import http from 'node:http';

export interface LoadResult {
  requests: number;
  byStatus: Record<string, number>;
  errors: string[];
  /** Requests that did not answer 2xx, or failed: what went wrong, with the time. */
  bad: { at: number; host: string; what: string }[];
}

export interface Load {
  stop(): Promise<LoadResult>;
}

export function startLoad(addresses: string[], opts: { concurrency?: number; path?: string; maxSeconds?: number; maxRequests?: number } = {}): Load {
  for (const a of addresses) if (!/^127\./.test(a)) throw new Error(`load goes to loopback lab hosts only, not ${a}`);
  const concurrency = opts.concurrency ?? 4;
  const deadline = Date.now() + (opts.maxSeconds ?? 180) * 1000;
  const maxRequests = opts.maxRequests ?? 200_000;
  const result: LoadResult = { requests: 0, byStatus: {}, errors: [], bad: [] };
  let stopped = false;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * addresses.length });

  const once = (host: string) =>
    new Promise<void>((resolve) => {
      const req = http.get({ host, port: 80, path: opts.path ?? '/?work=50', agent, timeout: 30_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const s = String(res.statusCode);
          result.byStatus[s] = (result.byStatus[s] ?? 0) + 1;
          if (!s.startsWith('2')) result.bad.push({ at: Date.now(), host, what: `HTTP ${s}` });
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        result.errors.push(`${host}: ${e.message}`);
        result.bad.push({ at: Date.now(), host, what: e.message });
        resolve();
      });
    });

  const loops = addresses.flatMap((host) =>
    Array.from({ length: concurrency }, async () => {
      while (!stopped && Date.now() < deadline && result.requests < maxRequests) {
        result.requests++;
        await once(host);
      }
    }),
  );
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return result;
    },
  };
}
