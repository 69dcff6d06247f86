// Every example started as a user starts it (`npm run example -- <name>`), then stopped with
// Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM (to the runner
// alone, as `kill` or a process manager sends it): it exits with 0, prints no error, and
// leaves no process, no temporary folder and no listening port behind.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from './processes.ts';

const root = join(import.meta.dirname, '..', '..');
const uses: Record<string, ('redis' | 'postgres')[]> = {
  'activity-feed': [],
  'message-pipeline': ['redis', 'postgres'],
  'reconciliation-jobs': [],
  'services-monitor': ['redis'],
  'url-indexing-stats': ['redis'],
};

/** pid -> start time of every process below `pid` (the start time tells a reused pid apart). */
function descendants(pid: number): Map<number, string> {
  const children = new Map<number, { pid: number; start: string }[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const parent = Number(fields[1]);
    const list = children.get(parent) ?? [];
    list.push({ pid: Number(entry), start: fields[19]! });
    children.set(parent, list);
  }
  const found = new Map<number, string>();
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.set(c.pid, c.start);
      walk(c.pid);
    }
  };
  walk(pid);
  return found;
}

function stillRunning(pid: number, start: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] === start && fields[0] !== 'Z';
  } catch {
    return false;
  }
}

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

/** Resolves with everything printed so far once `pattern` appears; rejects if the process exits first. */
function printed(
  child: ChildProcess,
  output: { text: string },
  pattern: RegExp,
  what: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no ${what} in 60 s:\n${output.text}`)), 60_000);
    const check = () => pattern.test(output.text) && finish();
    const onExit = (code: number | null) =>
      finish(new Error(`exited (${code}) before ${what}:\n${output.text}`));
    const finish = (e?: Error) => {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve(output.text);
    };
    child.stdout!.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

for (const [name, needs] of Object.entries(uses))
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    test(`${name} stops cleanly on ${signal === 'SIGINT' ? 'Ctrl-C (SIGINT to the group)' : 'SIGTERM'}`, async () => {
      const tmp = mkdtempSync(join(tmpdir(), 'herald-example-stop-'));
      // PostgreSQL runs as the postgres user when the tests run as root: it must reach its folder.
      chmodSync(tmp, 0o755);
      const ports = {
        port: await freePort(),
        hub: await freePort(),
        redis: needs.includes('redis') ? await freePort() : 0,
        postgres: needs.includes('postgres') ? await freePort() : 0,
      };
      // The ports are pinned with flags for one signal and with environment variables for the other.
      const flags =
        signal === 'SIGINT'
          ? [
              '--port',
              ports.port,
              '--hub-port',
              ports.hub,
              '--redis-port',
              ports.redis,
              '--postgres-port',
              ports.postgres,
            ]
          : [];
      const env =
        signal === 'SIGTERM'
          ? {
              EXAMPLE_PORT: String(ports.port),
              EXAMPLE_HUB_PORT: String(ports.hub),
              EXAMPLE_REDIS_PORT: String(ports.redis),
              EXAMPLE_POSTGRES_PORT: String(ports.postgres),
            }
          : {};
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(root, 'scripts', 'example.ts'), name, ...flags.map(String)],
        {
          cwd: root,
          env: { ...process.env, ...env, TMPDIR: tmp, HERALD_EXAMPLE_LOGS: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
          // Its own process group, like a command started from a terminal.
          detached: true,
        },
      );
      const output = { text: '' };
      let errors = '';
      child.stdout!.on('data', (c: Buffer) => (output.text += String(c)));
      child.stderr!.on('data', (c: Buffer) => (errors += String(c)));
      const exited = new Promise<[number | null, string | null]>((resolve) =>
        child.once('exit', (code, sig) => resolve([code, sig])),
      );
      try {
        const banner = await printed(child, output, /Ctrl-C stops it\./, 'start-up banner');
        assert.match(banner, new RegExp(`open http://127\\.0\\.0\\.1:${ports.port}\\n`));
        assert.match(banner, new RegExp(`hub: http://127\\.0\\.0\\.1:${ports.hub}/\\.well-known/mercure\\n`));
        if (ports.redis) assert.match(banner, new RegExp(`redis: redis://127\\.0\\.0\\.1:${ports.redis}\\n`));
        if (ports.postgres)
          assert.match(
            banner,
            new RegExp(`postgres: postgres://postgres@127\\.0\\.0\\.1:${ports.postgres}/`),
          );
        const page = await fetch(`http://127.0.0.1:${ports.port}/`);
        assert.equal(page.status, 200);
        await page.text();
        if (name === 'message-pipeline') {
          // The worker and the app both hold database connections: the case that used to crash.
          const sent = await fetch(`http://127.0.0.1:${ports.port}/messages`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ user_id: 1, channel_id: 1, content: 'hello' }),
          });
          assert.equal(sent.status, 202);
          await printed(child, output, /\[worker\] committed batch of 1/, 'a committed batch');
        }
        const started = descendants(child.pid!);
        assert.ok(started.size > 0, 'the example runs child processes (tsx at least)');
        if (needs.length > 0)
          assert.ok(
            readdirSync(tmp).some((f) => f.startsWith('herald-example-pg-')) === needs.includes('postgres'),
          );

        if (signal === 'SIGINT') process.kill(-child.pid!, 'SIGINT');
        else child.kill('SIGTERM');
        const [code, bySignal] = await exited;
        assert.deepEqual({ code, bySignal, errors }, { code: 0, bySignal: null, errors: '' });
        const left = [...started].filter(([pid, start]) => stillRunning(pid, start));
        assert.deepEqual(left, [], 'child processes still running');
        // tsx keeps its compile cache there; everything else must be gone.
        assert.deepEqual(
          readdirSync(tmp).filter((f) => !f.startsWith('tsx-')),
          [],
        );
        for (const port of Object.values(ports).filter(Boolean))
          assert.ok(await portIsFree(port), `port ${port} still in use`);
      } finally {
        if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
        rmSync(tmp, { recursive: true, force: true });
      }
    });

test('a pinned port already in use: the example says so, exits with 1 and leaves nothing behind', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'herald-example-stop-'));
  chmodSync(tmp, 0o755);
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const busy = (taken.address() as { port: number }).port;
  try {
    // Redis starts beside PostgreSQL and is up when PostgreSQL fails: it must be stopped too.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'scripts', 'example.ts'),
        'message-pipeline',
        '--postgres-port',
        String(busy),
      ],
      { cwd: root, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let errors = '';
    child.stderr!.on('data', (c: Buffer) => (errors += String(c)));
    child.stdout!.resume();
    const seen = new Map<number, string>();
    // Sample the process tree while it runs, to check afterwards that none of it is left.
    const sampler = setInterval(() => descendants(child.pid!).forEach((s, p) => seen.set(p, s)), 50);
    const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => resolve([c])));
    clearInterval(sampler);
    assert.equal(code, 1);
    assert.match(errors, new RegExp(`^message-pipeline could not start: postgres on port ${busy} exited`));
    assert.ok(seen.size > 0);
    assert.deepEqual(
      [...seen].filter(([pid, start]) => stillRunning(pid, start)),
      [],
    );
    assert.deepEqual(
      readdirSync(tmp).filter((f) => !f.startsWith('tsx-')),
      [],
    );
  } finally {
    taken.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a mistyped option or port is refused with the usage', async () => {
  for (const [args, message] of [
    [['activity-feed', '--port', 'abc'], '--port needs a port number from 0 to 65535'],
    [['activity-feed', '--hub-port', '70000'], '--hub-port needs a port number from 0 to 65535'],
    [['activity-feed', '--prot', '1'], 'unknown option --prot'],
    [['nope'], 'no example named "nope"'],
  ] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'example.ts'), ...args], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    child.stderr!.on('data', (c: Buffer) => (errors += String(c)));
    const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => resolve([c])));
    assert.equal(code, 2, args.join(' '));
    assert.equal(errors.split('\n')[0], message);
    assert.match(errors, /usage: npm run example -- <name> \[--port N\] \[--hub-port N\]/);
  }
});
