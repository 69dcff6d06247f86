import { parseArgs, type ParseArgsConfig } from 'node:util';
import { argumentError } from '../config/load.ts';

/**
 * node:util's parseArgs, with its errors in the words of a CLI: `unknown option --prot (did you
 * mean --port?)` instead of Node's parser text.
 */
export function parseCliArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw argumentError(e, config.options ?? {});
  }
}
