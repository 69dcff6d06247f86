// Reconciliation jobs on Herald: the app owns logins, jobs and ownership checks; Herald owns
// the streams. The runner publishes each step once; every page watching the job gets it.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { AppError, closeServer, listen, readCookie, readFields, sendHtml, sendJson } from '../shared/http.ts';
import { hubCookie, startExampleHub } from '../shared/herald.ts';
import type { ExampleOptions } from '../shared/options.ts';
import { Teardown } from '../shared/teardown.ts';
import { applyEvent, runJob, type Job, type JobEvent } from './jobs.ts';

const TENANTS: Record<string, string> = { acme: 'Acme Corp', globex: 'Globex' };
const DEMO_JOBS: Record<string, string[]> = {
  acme: ['March bank statement', 'Card settlements'],
  globex: ['Payroll account', 'Supplier payments'],
};
const JOB_ID = /^job-\d{1,9}$/;
const topicOf = (tenant: string, job = '{job}') => `https://recon.example/tenants/${tenant}/jobs/${job}`;

export interface StartOptions extends ExampleOptions {
  /** Pause between batches of 25 rows (default 600 ms: a job takes about 20 s). */
  stepMs?: number;
  batches?: number;
  /** Start two jobs at a tenant's first sign-in, so the page has something to show (default true). */
  demoJobs?: boolean;
}

export async function start(opts: StartOptions = {}) {
  const teardown = new Teardown();
  return teardown.guard(() => build(opts, teardown));
}

async function build(opts: StartOptions, teardown: Teardown) {
  const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
  const sessions = new Map<string, string>(); // session id -> tenant
  const jobs = new Map<string, Job>();
  const running = new Set<Promise<void>>();
  const stop = new AbortController();
  let nextJob = 1001;

  // The job changes only once the hub has the update (see ExampleHub.commit).
  const report = (job: Job, event: JobEvent) =>
    hub.commit([{ topics: [topicOf(job.tenant, job.id)], ...event, private: true }], () =>
      applyEvent(job, event),
    );

  function startJob(tenant: string, name: string): Job {
    const job: Job = {
      id: `job-${nextJob++}`,
      tenant,
      name,
      status: 'queued',
      summary: { total: 0, matched: 0, unmatched: 0 },
      logs: [],
      errors: [],
    };
    jobs.set(job.id, job);
    const run = runJob(job, (e) => report(job, e), {
      stepMs: opts.stepMs ?? 600,
      batches: opts.batches ?? 30,
      signal: stop.signal,
    })
      .catch((e: unknown) => {
        if (!stop.signal.aborted) console.error(`${job.id} stopped:`, e);
      })
      .finally(() => running.delete(run));
    running.add(run);
    return job;
  }

  /** A tenant's first sign-in starts two of its reconciliations, so there is something to watch. */
  function startDemoJobs(tenant: string): void {
    if (!(opts.demoJobs ?? true) || [...jobs.values()].some((j) => j.tenant === tenant)) return;
    for (const name of DEMO_JOBS[tenant] ?? []) startJob(tenant, name);
  }

  function tenantOf(req: IncomingMessage): string {
    const tenant = sessions.get(readCookie(req, 'recon_session') ?? '');
    if (!tenant) throw new AppError(401, 'sign in first');
    return tenant;
  }

  function ownedJob(tenant: string, id: string): Job {
    if (!JOB_ID.test(id))
      throw new AppError(400, `invalid job id "${id.slice(0, 40)}": expected job-<number>`);
    const job = jobs.get(id);
    if (!job) throw new AppError(404, `no job ${id}`);
    if (job.tenant !== tenant) throw new AppError(403, `job ${id} belongs to another tenant`);
    return job;
  }

  /** The hub URL a page subscribes to: its topics, resuming right after the snapshot it got. */
  function streamUrl(req: IncomingMessage, topic: string, tenant: string): string {
    // From the tenant's own last update: another tenant's private id would be answered as unknown.
    const own = `https://recon.example/tenants/${tenant}/`;
    const q = new URLSearchParams({ topic, lastEventID: hub.cursorFor((t) => t.startsWith(own)) });
    return `${hub.hubUrl(req)}?${q}`;
  }

  const app = await listen(opts.port ?? 0, async (req, res, url) => {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/' && method === 'GET') {
      // Whether this browser is signed in is known here: a signed-out page shows only the
      // sign-in, without first asking the API (and getting a 401) to find out.
      const signedIn = sessions.has(readCookie(req, 'recon_session') ?? '');
      return sendHtml(res, page.replace('__SIGNED_IN__', String(signedIn)));
    }
    if (path === '/login' && method === 'POST') {
      const { tenant = '' } = await readFields(req);
      if (!TENANTS[tenant]) throw new AppError(400, `unknown tenant "${tenant.slice(0, 40)}"`);
      const session = randomBytes(16).toString('hex');
      sessions.set(session, tenant);
      startDemoJobs(tenant);
      // The tenant's token can read its own jobs and nothing else.
      const token = await hub.subscriberToken(`tenant:${tenant}`, [
        `https://recon.example/tenants/${tenant}/{+rest}`,
      ]);
      res.writeHead(303, {
        Location: '/',
        'Set-Cookie': [`recon_session=${session}; Path=/; HttpOnly; SameSite=Strict`, hubCookie(token)],
      });
      return void res.end();
    }
    if (path === '/logout' && method === 'POST') {
      sessions.delete(readCookie(req, 'recon_session') ?? '');
      res.writeHead(303, {
        Location: '/',
        'Set-Cookie': ['recon_session=; Path=/; Max-Age=0', `${hubCookie('')}; Max-Age=0`],
      });
      return void res.end();
    }
    if (path === '/api/jobs' && method === 'GET') {
      const tenant = tenantOf(req);
      const mine = [...jobs.values()].filter((j) => j.tenant === tenant);
      return sendJson(res, 200, {
        tenant: TENANTS[tenant],
        jobs: mine,
        stream: streamUrl(req, topicOf(tenant), tenant),
      });
    }
    if (path === '/api/jobs' && method === 'POST') {
      const tenant = tenantOf(req);
      const { name = `Bank statement ${new Date().toISOString().slice(0, 10)}` } = await readFields(req);
      if (name.length > 80) throw new AppError(400, 'job name longer than 80 characters');
      return sendJson(res, 201, { job: startJob(tenant, name) });
    }
    const one = /^\/api\/jobs\/([^/]+)$/.exec(path);
    if (one && method === 'GET') {
      const tenant = tenantOf(req);
      const job = ownedJob(tenant, one[1]!);
      return sendJson(res, 200, {
        tenant: TENANTS[tenant],
        jobs: [job],
        stream: streamUrl(req, topicOf(tenant, job.id), tenant),
      });
    }
    throw new AppError(404, `no route for ${method} ${path.slice(0, 80)}`);
  });
  teardown.add('app server', app.server, closeServer);

  // Started second: it lets pages of the app's origin in. Nobody has the URL before start() returns.
  const hub = teardown.add('hub', await startExampleHub(app.origin, { port: opts.hubPort ?? 0 }), (h) =>
    h.close(),
  );
  teardown.add('jobs', running, async (runs) => {
    stop.abort();
    await Promise.allSettled(runs);
  });
  return {
    url: app.origin,
    endpoints: { hub: hub.herald.url + hub.herald.config.path },
    close: () => teardown.run(),
  };
}
