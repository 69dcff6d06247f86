import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseDuration } from './load.ts';

test('durations: a bare number is seconds, units are ms, s, m, h, d; anything else names the setting', () => {
  assert.equal(parseDuration('15', 'x'), 15_000);
  assert.equal(parseDuration('500ms', 'x'), 500);
  assert.equal(parseDuration('1.5s', 'x'), 1500);
  assert.equal(parseDuration('10m', 'x'), 600_000);
  assert.equal(parseDuration('2d', 'x'), 172_800_000);
  assert.throws(
    () => parseDuration('10 minutes', '--heartbeat'),
    /^ConfigError: --heartbeat: "10 minutes" is not a duration/,
  );
  assert.throws(() => parseDuration('-1s', '--heartbeat'), ConfigError);
});

test('precedence: flags over HERALD_* variables over the config file over defaults', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'herald.json');
  writeFileSync(file, JSON.stringify({ port: 4001, heartbeat: 20, 'max-body': 1000, slowConsumer: 'drop' }));
  const env = { HERALD_CONFIG: file, HERALD_PORT: '4002', HERALD_MAX_BODY: '2000' };
  const { config } = loadConfig(['--port', '4003'], env);
  assert.equal(config.port, 4003, 'flag');
  assert.equal(config.maxBody, 2000, 'environment over file');
  assert.equal(config.heartbeat, 20_000, 'file (a number of seconds)');
  assert.equal(config.slowConsumer, 'drop', 'file, by key');
  assert.equal(loadConfig([], {}).config.slowConsumer, 'disconnect', 'default');
});

test('mistakes are ConfigErrors naming where the bad value came from', (t) => {
  assert.throws(() => loadConfig(['--port', '70000'], {}), /--port: 70000 is not a valid port/);
  assert.throws(() => loadConfig([], { HERALD_PORT: 'x' }), /HERALD_PORT: "x" is not a non-negative integer/);
  assert.throws(() => loadConfig(['--slow-consumer', 'queue'], {}), /"queue" is not one of disconnect, drop/);
  assert.throws(() => loadConfig(['--path', 'hub'], {}), /--path must start with "\/"/);
  assert.throws(() => loadConfig(['--redis', 'http://x'], {}), /must be a redis:\/\/ or rediss:\/\/ URL/);
  assert.throws(() => loadConfig(['--jwt-key', 'short'], {}), /at least 8 characters \(got 5\)/);
  assert.throws(() => loadConfig(['--prot', '1'], {}), /unknown option --prot/);
  const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ colour: 'blue' }));
  assert.throws(() => loadConfig(['--config', file], {}), /unknown setting "colour"/);
});
