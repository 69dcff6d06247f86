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
): { config: HeraldConfig; rest: string[] } {
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
    throw new ConfigError((e as Error).message);
  }
  const config: HeraldConfig = { ...defaults };
  const set = (def: OptionDef, value: unknown) =>
    ((config as unknown as Record<string, unknown>)[def.key] = value);

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
      set(def, convert(def, v, `config file`));
    }
  }
  for (const def of optionDefs) {
    const v = env[envName(def.flag)];
    if (v !== undefined && v !== '') set(def, convert(def, v, envName(def.flag)));
  }
  for (const def of optionDefs) {
    const v = parsed.values[def.flag];
    if (v !== undefined) set(def, convert(def, v, `--`));
  }
  if (config.port > 65535) throw new ConfigError(`--port: ${config.port} is not a valid port`);
  if (!config.path.startsWith('/')) throw new ConfigError(`--path must start with "/"`);
  if (config.workers < 1 || config.workers > 64)
    throw new ConfigError(`--workers: ${config.workers} is not between 1 and 64`);
  if (config.redis !== undefined && !/^rediss?(\+(cluster|sentinel))?:\/\//.test(config.redis))
    throw new ConfigError(
      `--redis: "${config.redis}" must be a redis:// or rediss:// URL (or redis+cluster://, redis+sentinel://)`,
    );
  return { config, rest: parsed.positionals };
}

export function helpText(): string {
  const rows = optionDefs.map((d) => {
    const flag = `--${d.flag}${d.type === 'boolean' ? '' : ' <' + (d.choices ? d.choices.join('|') : d.type === 'list' ? 'a,b' : d.type === 'duration' ? 'time' : d.type === 'number' ? 'n' : 'value') + '>'}`;
    const def = defaults[d.key];
    const shown =
      def === undefined || (Array.isArray(def) && def.length === 0) || def === false
        ? ''
        : ` (default ${d.type === 'duration' ? `${Number(def) / 1000}s` : String(def)})`;
    return `  ${flag.padEnd(34)} ${envName(d.flag).padEnd(32)} ${d.help}${shown}`;
  });
  return [
    'Usage: herald serve [options]',
    '',
    `  ${'flag'.padEnd(34)} ${'environment'.padEnd(32)} meaning`,
    ...rows,
    `  ${'--config <file.json>'.padEnd(34)} ${'HERALD_CONFIG'.padEnd(32)} JSON file with any of these settings (flags win, then env)`,
  ].join('\n');
}
