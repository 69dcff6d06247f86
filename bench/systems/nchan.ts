/** Nchan (nginx module) as the native reference; skipped when nginx or the module is absent. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fdLimit, freePort, spawnProcess, waitForHttp } from '../lib/proc.ts';
import type { RunningSystem, SystemUnderTest } from './types.ts';

const MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';
const NGINX = '/usr/sbin/nginx';

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function config(dir: string, port: number): string {
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`).join('\n');
  // One worker: the Node systems get one core too, and the load generator needs the other.
  return `load_module ${MODULE};
user root;
worker_processes 1;
worker_rlimit_nofile 20000;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 19500; multi_accept on; }
http {
  access_log off;
${temps}
  nchan_shared_memory_size 512M;
  server {
    listen 127.0.0.1:${port} backlog=511;
    location = /healthz { return 200 "ok"; }
    location = /sub {
      nchan_subscriber eventsource;
      nchan_channel_id $arg_topic;
    }
    location = /pub {
      nchan_publisher;
      nchan_channel_id $arg_topic;
      nchan_message_buffer_length 20000;
      nchan_message_timeout 10m;
    }
  }
}
`;
}

export const nchan: SystemUnderTest = {
  name: 'nchan',
  available: () =>
    Promise.resolve(
      !existsSync(NGINX) ? 'nginx not installed (apt-get install nginx libnginx-mod-nchan)' : !existsSync(MODULE) ? 'libnginx-mod-nchan not installed' : undefined,
    ),
  async start(): Promise<RunningSystem> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-nchan-'));
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, t));
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), config(dir, port));
    const proc = spawnProcess('nchan', NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
    const cleanup = async (): Promise<void> => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 10_000, proc);
    } catch (err) {
      await cleanup();
      throw err;
    }
    const master = proc.child.pid ?? 0;
    const node = { host: '127.0.0.1', port };
    const workers = children(master);
    return {
      name: 'nchan',
      target: { kind: 'sse', nodes: [node], pathTemplate: '/sub?topic={topic}' },
      publishNode: node,
      pids: () => [master, ...children(master)],
      fdLimit: Math.min(...[master, ...workers].map(fdLimit)),
      resumes: true,
      publishRequest: (topic, data) => ({ path: `/pub?topic=${encodeURIComponent(topic)}`, headers: { 'content-type': 'text/plain' }, body: data }),
      stop: cleanup,
    };
  },
};
