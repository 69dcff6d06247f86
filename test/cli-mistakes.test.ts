// What the CLI says when a newcomer gets it wrong: each message names the flag and the fix.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { flagRows, helpText } from '../src/config/load.ts';
import { withFlagTable } from '../scripts/flag-table.ts';
import { runCli } from './support/hub-process.ts';

const noKeyEnv = { HERALD_JWT_KEY: '', HERALD_DEV: '', HERALD_ANONYMOUS: '' };

test('herald serve without a key refuses to start and says to pass --jwt-key or --dev', async () => {
  const r = await runCli(['serve', '--port', '0', '--host', '127.0.0.1'], noKeyEnv);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^herald serve: no JWT key.*--jwt-key <secret>.*--dev/);
  assert.equal(r.stdout, '', 'no hub started, so no log lines');
});

test('a secret that is too short is reported under the flag or variable the user gave', async () => {
  const [flag, env, fromEnv] = await Promise.all([
    runCli(['serve', '--jwt-key', 'abc'], noKeyEnv),
    runCli(['serve', '--publisher-jwt-key', 'short'], noKeyEnv),
    runCli(['serve'], { ...noKeyEnv, HERALD_JWT_KEY: 'abc' }),
  ]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /^herald serve: --jwt-key: a JWT secret must be at least 8 characters/);
  assert.match(env.stderr, /^herald serve: --publisher-jwt-key: a JWT secret/);
  assert.match(fromEnv.stderr, /^herald serve: HERALD_JWT_KEY: a JWT secret/);
});

test('a mistyped flag is named with the closest real one, in every command', async () => {
  const [serve, token, far, missing] = await Promise.all([
    runCli(['serve', '--prot', '3000']),
    runCli(['token', '--subscrib', '*']),
    runCli(['serve', '--banana']),
    runCli(['serve', '--port']),
  ]);
  assert.equal(serve.code, 2);
  assert.equal(serve.stderr, 'herald serve: unknown option --prot (did you mean --port?)\n');
  assert.equal(token.stderr, 'herald token: unknown option --subscrib (did you mean --subscribe?)\n');
  assert.equal(far.stderr, 'herald serve: unknown option --banana\n');
  assert.equal(missing.stderr, 'herald serve: --port needs a value\n');
});

test('herald token warns when the token grants nothing; its help says tokens never expire without --ttl', async () => {
  const [r, granted, help] = await Promise.all([
    runCli(['token', '--jwt-key', 'cli-mistakes-secret']),
    runCli(['token', '--jwt-key', 'cli-mistakes-secret', '--subscribe', '*']),
    runCli(['token', '--help']),
  ]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^ey/);
  assert.match(r.stderr, /warning: this token grants nothing \(no --publish, --subscribe or --admin\)/);
  assert.doesNotMatch(granted.stderr, /grants nothing/);
  assert.match(help.stdout, /never expires unless --ttl/);
});

test('serve --help and the README flag table come from the one table and agree', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  assert.equal(withFlagTable(readme), readme, 'README flag table is stale: run scripts/flag-table.ts');
  const help = (await runCli(['serve', '--help'])).stdout;
  assert.equal(help.trimEnd(), helpText());
  const lines = help.split('\n');
  for (const row of flagRows()) {
    const line = lines.find((l) => l.startsWith(`  ${row.flag} `));
    assert.ok(line, row.flag);
    assert.ok(line.includes(row.meaning.replace(/`/g, '')), row.flag);
    assert.ok(readme.includes(`| \`${row.flag.split(' ')[0]}\` | \`${row.env}\` |`), row.flag);
  }
  // Every row's environment and meaning columns start at the same place.
  const header = lines.find((l) => l.includes('environment'))!;
  const rows = lines.filter((l) => l.startsWith('  --'));
  for (const l of rows) {
    assert.equal(l.indexOf(' HERALD_') + 1, header.indexOf('environment'), l);
    assert.equal(l.slice(header.indexOf('meaning') - 2, header.indexOf('meaning')), '  ', l);
  }
});

test('dev mode prints readable log lines on a terminal and JSON lines otherwise', async () => {
  const args = ['bin/herald.js', 'serve', '--dev', '--port', '0'];
  const json = await lineMatching(
    /listening/,
    spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  assert.equal(JSON.parse(json).event, 'listening');
  // `script` runs the hub on a pseudo-terminal, as a user's shell does.
  const command = [process.execPath, ...args].map((a) => `'${a}'`).join(' ');
  // Own process group, so stopping it stops the hub under `script` too.
  const script = spawn('script', ['-qec', command, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const tty = await lineMatching(/herald listening/, script);
  // eslint-disable-next-line no-control-regex
  assert.match(tty.replace(/\x1b\[[0-9;]*m/g, ''), /^\[\d\d:\d\d:\d\d\] INFO: herald listening$/);
});

/** The child's first stdout line matching `pattern`; then the child is stopped. */
function lineMatching(pattern: RegExp, child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`exited (${code}) before a line: ${out}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out
        .split('\n')
        .slice(0, -1)
        .find((l) => pattern.test(l)); // whole lines only
      if (line === undefined) return;
      child.stdout!.removeAllListeners('data');
      child.removeAllListeners('exit');
      child.once('exit', () => {
        for (const s of [child.stdin, child.stdout, child.stderr]) s?.destroy();
        resolve(line.replace(/\r$/, ''));
      });
      if (child.spawnargs[0] === 'script') process.kill(-child.pid!, 'SIGTERM');
      else child.kill('SIGTERM');
    });
  });
}
