import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { packedTarball } from './fresh-app.ts';

const exec = promisify(execFile);

describe('the packed tarball', () => {
  test('publint (strict, suggestions included) finds nothing', async () => {
    const bytes = readFileSync(packedTarball());
    const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const { messages, pkg } = await publint({ pack: { tarball }, level: 'suggestion', strict: true });
    assert.deepEqual(
      messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`),
      [],
    );
  });

  test('arethetypeswrong finds no problem in any entry, for any module resolution', async () => {
    const attw = new URL('../../node_modules/@arethetypeswrong/cli/dist/index.js', import.meta.url).pathname;
    // attw exits 1 when it finds problems; the JSON lists them either way.
    const { stdout } = await exec(process.execPath, [attw, packedTarball(), '--format', 'json']).catch(
      (e: { stdout: string }) => e,
    );
    const report = JSON.parse(stdout) as {
      analysis: { entrypoints: Record<string, unknown>; problems: unknown[] };
    };
    assert.deepEqual(Object.keys(report.analysis.entrypoints).sort(), [
      '.',
      './client',
      './package.json',
      './react',
    ]);
    assert.deepEqual(report.analysis.problems, []);
  });

  test('ships a LICENSE file naming the license package.json declares', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      license: string;
    };
    const { stdout: list } = await exec('tar', ['-tzf', packedTarball()]);
    assert.ok(list.split('\n').includes('package/LICENSE'), 'package/LICENSE is in the tarball');
    const { stdout: text } = await exec('tar', ['-xzOf', packedTarball(), 'package/LICENSE']);
    assert.equal(text.split('\n')[0], `${pkg.license} License`);
    assert.match(text, /Permission is hereby granted, free of charge/);
  });
});
