import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/**
 * Every Lua script Herald runs on Redis, loaded one way: each is a file of its own in
 * `lua/` (shipped in the package as `dist/broker/lua/`), registered on a client with
 * ioredis' `defineCommand`, which sends `EVALSHA` and falls back to `EVAL` once when the
 * script cache is empty (after a Redis restart or a failover).
 *
 * A script may need library files of shared helpers: their text is put in front of the
 * script's, after the `#!lua` flags line if there is one (Redis wants that first).
 */

// scripts/build.mjs points this at dist/broker/lua/ in the CommonJS bundle, which sits at dist/.
const LUA_DIR = new URL('./lua/', import.meta.url);

export interface RedisScript {
  /** The command name the script is defined as on a client. */
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

function load(name: string, file: string, numberOfKeys: number, libs: readonly string[] = []): RedisScript {
  const read = (f: string): string => readFileSync(new URL(f, LUA_DIR), 'utf8');
  let lua = read(file);
  if (libs.length > 0) {
    const shebang = /^#!lua[^\n]*\n/.exec(lua)?.[0] ?? '';
    lua = `${shebang}${libs.map(read).join('')}${lua.slice(shebang.length)}`;
  }
  return { name, numberOfKeys, lua };
}

const SHARDED_LIBS = ['trim-lib.lua', 'sharded-lib.lua'];

/** The single-log broker (one instance or a Sentinel-managed primary). */
export const logScripts = {
  publish: load('heraldLogPublish', 'log-publish.lua', 4, ['trim-lib.lua', 'idempotency-lib.lua']),
  history: load('heraldLogHistory', 'log-history.lua', 2),
};

/** The partitioned log on a Redis Cluster. */
export const shardedScripts = {
  publish: load('heraldShardPublish', 'sharded-publish.lua', 4, [...SHARDED_LIBS, 'idempotency-lib.lua']),
  tick: load('heraldShardTick', 'sharded-tick.lua', 1, SHARDED_LIBS),
  read: load('heraldShardRead', 'sharded-read.lua', 2, SHARDED_LIBS),
  lookup: load('heraldShardLookup', 'sharded-lookup.lua', 1, SHARDED_LIBS),
};

/** Retained state. */
export const stateScripts = {
  apply: load('heraldStateApply', 'state-apply.lua', 5),
};

/** Defines each script as a command on `client` (once per client). */
export function defineScripts(client: Redis | Cluster, scripts: Record<string, RedisScript>): void {
  for (const s of Object.values(scripts))
    client.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
}

type ScriptCommand = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** Runs a script defined on `client` by `defineScripts`. */
export function runScript(
  client: Redis | Cluster,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  if (keys.length !== script.numberOfKeys)
    throw new Error(`${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  const command = (client as unknown as Record<string, ScriptCommand | undefined>)[script.name];
  if (!command) throw new Error(`${script.name} is not defined on this client (defineScripts)`);
  return command.call(client, ...keys, ...args);
}
