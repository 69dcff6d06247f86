// How the examples find PostgreSQL's programs on machines laid out differently.
import assert from 'node:assert/strict';
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { findPostgresBin } from './processes.ts';

const root = mkdtempSync(join(tmpdir(), 'herald-pg-lookup-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A folder holding executable stand-ins named `programs`. */
function folder(name: string, programs: string[]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const p of programs) {
    writeFileSync(join(dir, p), '#!/bin/sh\n');
    chmodSync(join(dir, p), 0o755);
  }
  return dir;
}

const server = folder('server/bin', ['initdb', 'postgres', 'pg_ctl']);
const clientOnly = folder('client/bin', ['psql', 'pg_config']);
const linked = folder('usr-local-bin', []);
symlinkSync(join(server, 'initdb'), join(linked, 'initdb'));
const versions = join(root, 'versions');
for (const v of ['9.6', '13', '16']) folder(`versions/${v}/bin`, ['initdb', 'postgres']);
folder('versions/17/bin', ['psql']); // a client-only install of a newer version is passed over
const none = () => undefined;

test('PG_BIN wins, and a PG_BIN without the server programs is refused with the reason', () => {
  assert.equal(
    findPostgresBin({ env: { PG_BIN: server, PATH: linked }, pgConfigBindir: () => clientOnly }),
    server,
  );
  assert.throws(
    () => findPostgresBin({ env: { PG_BIN: clientOnly }, pgConfigBindir: () => server }),
    new RegExp(`PG_BIN=${clientOnly} holds no initdb and postgres executables`),
  );
});

test('then pg_config --bindir, when it holds the server', () => {
  assert.equal(
    findPostgresBin({ env: { PATH: '' }, pgConfigBindir: () => server, versionsRoot: versions }),
    server,
  );
  assert.equal(
    findPostgresBin({ env: { PATH: '' }, pgConfigBindir: () => clientOnly, versionsRoot: versions }),
    join(versions, '16', 'bin'),
  );
});

test('then initdb on PATH, followed to its real folder (Debian links it without postgres beside it)', () => {
  assert.equal(
    findPostgresBin({
      env: { PATH: [clientOnly, linked].join(':') },
      pgConfigBindir: none,
      versionsRoot: versions,
    }),
    server,
  );
});

test('then the newest versioned install; with none, the error says what to install or set', () => {
  assert.equal(
    findPostgresBin({ env: { PATH: clientOnly }, pgConfigBindir: none, versionsRoot: versions }),
    join(versions, '16', 'bin'),
  );
  assert.throws(
    () =>
      findPostgresBin({
        env: { PATH: clientOnly },
        pgConfigBindir: none,
        versionsRoot: join(root, 'missing'),
      }),
    /PostgreSQL not found: install it \(Debian\/Ubuntu: apt install postgresql\) or set PG_BIN/,
  );
});

test('on this machine it finds a folder with initdb and postgres', () => {
  const bin = findPostgresBin();
  for (const program of ['initdb', 'postgres']) accessSync(join(bin, program), constants.X_OK);
});
