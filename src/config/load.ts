import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaults, envName, optionDefs, type HeraldConfig, type OptionDef } from './definitions.ts';

/** A configuration mistake, reported at startup with the setting's name. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `10`, `10s`, `500ms`, `5m`, `1h`, `2d` into milliseconds; a bare number is seconds. */
export function parseDuration(value: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new ConfigError(`${name}: "${value}" is not a duration (examples: 15, 15s, 500ms, 10m, 1h)`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    (m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Math.round(n * unit);
}

function convert(def: OptionDef, raw: unknown, source: string): unknown {
  const name =
    source === '--' ? `--${def.flag}` : source.startsWith('HERALD_') ? source : `${source} ${def.flag}`;
  switch (def.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes' || raw === '') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      throw new ConfigError(`${name}: "${String(raw)}" is not true/false`);
    case 'number': {
      const n = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isFinite(n) || n < 0 || !Number.isInteger(n))
        throw new ConfigError(`${name}: "${String(raw)}" is not a non-negative integer`);
      return n;
    }
    case 'duration':
      return typeof raw === 'number' ? raw * 1000 : parseDuration(String(raw), name);
    case 'list':
      return (Array.isArray(raw) ? raw.map(String) : String(raw).split(','))
        .map((s) => s.trim())
        .filter(Boolean);
    default: {
      const v = String(raw);
      if (def.choices && !def.choices.includes(v))
        throw new ConfigError(`${name}: "${v}" is not one of ${def.choices.join(', ')}`);
      return v;
    }
  }
}

/**
 * Builds the configuration from (lowest to highest precedence) defaults, a JSON config file,
 * `HERALD_*` environment variables and command-line flags. Throws ConfigError on anything
 * wrong, naming the setting.
 */
export function loadConfig(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { config: HeraldConfig; rest: string[]; explicit: ReadonlySet<keyof HeraldConfig> } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    config: { type: 'string' },
  };
  for (const d of optionDefs) {
    options[d.flag] = { type: d.type === 'boolean' ? 'boolean' : 'string' };
    if (d.short) options[d.flag]!.short = d.short;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw argumentError(e, options);
  }
  const config: HeraldConfig = { ...defaults };
  /** Where each setting came from, as the user wrote it (`--jwt-key`, `HERALD_PORT`, ...). */
  const given = new Map<keyof HeraldConfig, string>();
  const set = (def: OptionDef, value: unknown, source: string) => {
    (config as unknown as Record<string, unknown>)[def.key] = value;
    given.set(def.key, source);
  };
  const nameOf = (key: keyof HeraldConfig, flag: string) => given.get(key) ?? `--${flag}`;

  const file = (parsed.values['config'] as string | undefined) ?? env['HERALD_CONFIG'];
  if (file) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`config file ${file}: ${(e as Error).message}`);
    }
    for (const [k, v] of Object.entries(json)) {
      const def = optionDefs.find((d) => d.key === k || d.flag === k);
      if (!def) throw new ConfigError(`config file ${file}: unknown setting "${k}"`);
      set(def, convert(def, v, `config file`), `config file ${file}: ${k}`);
    }
  }
  for (const def of optionDefs) {
    const v = env[envName(def.flag)];
    if (v !== undefined && v !== '') set(def, convert(def, v, envName(def.flag)), envName(def.flag));
  }
  for (const def of optionDefs) {
    const v = parsed.values[def.flag];
    if (v !== undefined) set(def, convert(def, v, `--`), `--${def.flag}`);
  }
  if (config.port > 65535)
    throw new ConfigError(`${nameOf('port', 'port')}: ${config.port} is not a valid port`);
  if (!config.path.startsWith('/')) throw new ConfigError(`${nameOf('path', 'path')} must start with "/"`);
  if (config.workers < 1 || config.workers > 64)
    throw new ConfigError(`${nameOf('workers', 'workers')}: ${config.workers} is not between 1 and 64`);
  if (config.redis !== undefined && !/^rediss?(\+(cluster|sentinel))?:\/\//.test(config.redis))
    throw new ConfigError(
      `${nameOf('redis', 'redis')}: "${config.redis}" must be a redis:// or rediss:// URL (or redis+cluster://, redis+sentinel://)`,
    );
  for (const def of optionDefs) {
    const secret = def.key.endsWith('JwtKey') || def.key === 'jwtKey' ? config[def.key] : undefined;
    if (typeof secret === 'string' && secret.length < MIN_SECRET_LENGTH)
      throw new ConfigError(
        `${nameOf(def.key, def.flag)}: a JWT secret must be at least ${MIN_SECRET_LENGTH} characters (got ${secret.length})`,
      );
  }
  return { config, rest: parsed.positionals, explicit: new Set(given.keys()) };
}

/** Shortest HS secret accepted (the same floor as src/auth/keys.ts). */
const MIN_SECRET_LENGTH = 8;

/**
 * A command-line mistake in words a user can act on: `unknown option --prot (did you mean
 * --port?)`, `--port needs a value`. `options` are the parseArgs options that were allowed.
 */
export function argumentError(e: unknown, options: Record<string, { short?: string }>): ConfigError {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string }).code;
  const quoted = /'(?:-\w, )?(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted) {
    const flags = Object.keys(options).map((f) => `--${f}`);
    const near = closest(quoted.split('=')[0]!, flags);
    return new ConfigError(`unknown option ${quoted}${near ? ` (did you mean ${near}?)` : ''}`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && quoted)
    return new ConfigError(
      /argument missing/.test(message) ? `${quoted} needs a value` : `${quoted} takes no value`,
    );
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return new ConfigError(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}`.trim());
  return new ConfigError(message);
}

/** The candidate within two edits of `word` (case-insensitive), if there is one. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit (`--prot`). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/** One row of the flag table, as both `--help` and the README show it. */
export interface FlagRow {
  flag: string;
  env: string;
  meaning: string;
  default: string;
}

export function flagRows(): FlagRow[] {
  const rows = optionDefs.map((d) => {
    const value = defaults[d.key];
    const shown =
      d.defaultText ??
      (value === undefined || (Array.isArray(value) && value.length === 0)
        ? ''
        : typeof value === 'boolean'
          ? value
            ? 'on'
            : 'off'
          : d.type === 'duration'
            ? value === 0
              ? '0'
              : `${Number(value) / 1000}s`
            : String(value));
    const arg =
      d.type === 'boolean' ? '' : ` <${d.arg ?? (d.choices ? d.choices.join('|') : argName[d.type])}>`;
    return { flag: `--${d.flag}${arg}`, env: envName(d.flag), meaning: d.help, default: shown };
  });
  rows.push({
    flag: '--config <file.json>',
    env: 'HERALD_CONFIG',
    meaning:
      'JSON file with any of these settings (flags win over the environment, which wins over the file)',
    default: '',
  });
  return rows;
}

const argName = { string: 'value', number: 'n', list: 'a,b', duration: 'time' } as const;

/** The README's flag table (Markdown), generated from optionDefs: see scripts/flag-table.ts. */
export function flagTableMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| flag | environment | meaning | default |',
    '| --- | --- | --- | --- |',
    ...flagRows().map(
      (r) =>
        `| \`${cell(r.flag.split(' ')[0]!)}\` | \`${r.env}\` | ${cell(r.meaning)} | ${cell(r.default)}`.trimEnd() +
        ' |',
    ),
  ].join('\n');
}

export function helpText(): string {
  const rows = flagRows();
  const plain = (s: string) => s.replace(/`/g, '');
  const flagWidth = Math.max(...rows.map((r) => r.flag.length));
  const envWidth = Math.max(...rows.map((r) => r.env.length));
  const line = (a: string, b: string, c: string) => `  ${a.padEnd(flagWidth)}  ${b.padEnd(envWidth)}  ${c}`;
  return [
    'Usage: herald serve [options]',
    '',
    'Start with --jwt-key <secret> (or a key file), or try it locally with --dev.',
    '',
    line('flag', 'environment', 'meaning (default)'),
    ...rows.map((r) =>
      line(r.flag, r.env, plain(r.meaning) + (r.default ? ` (default: ${plain(r.default)})` : '')),
    ),
  ].join('\n');
}
