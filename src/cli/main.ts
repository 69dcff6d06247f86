import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.ts';
import { HeraldError } from '../protocol/errors.ts';
import { publish, publishHelp } from './publish.ts';
import { serve } from './serve.ts';
import { tail, tailHelp } from './tail.ts';
import { token, tokenHelp } from './token.ts';

const usage = `Usage: herald <command> [options]

Commands:
  serve      start a hub (herald serve --help lists every flag and HERALD_* variable)
  token      print a JWT for publishing/subscribing
  publish    publish one update to a running hub
  tail       print updates from a running hub

  herald --version prints the version.

${tokenHelp}

${publishHelp}

${tailHelp}`;

const [command, ...args] = process.argv.slice(2);
const commands: Record<string, (argv: string[]) => Promise<void>> = { serve, token, publish, tail };

if (!command || command === '--help' || command === '-h' || command === 'help') {
  console.log(usage);
} else if (command === '--version' || command === '-v' || command === 'version') {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  console.log(`herald ${pkg.version} (Node ${process.version})`);
} else if (!commands[command]) {
  process.stderr.write(`herald: unknown command "${command}"\n\n${usage}\n`);
  process.exitCode = 2;
} else {
  try {
    await commands[command](args);
  } catch (e) {
    const msg =
      e instanceof ConfigError || e instanceof HeraldError || e instanceof Error ? e.message : String(e);
    process.stderr.write(`herald ${command}: ${msg}\n`);
    process.exit(e instanceof ConfigError ? 2 : 1);
  }
}
