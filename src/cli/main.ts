import { readFileSync } from 'node:fs';
import { publishHelp, tailHelp, tokenHelp } from './help.ts';

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

type Command = (argv: string[]) => Promise<void>;

// Each command is imported only when run: `--version` and `--help` load none of them (the hub
// and its dependencies are most of the start-up time), and `token` never loads the hub.
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.ts')).serve,
  token: async () => (await import('./token.ts')).token,
  publish: async () => (await import('./publish.ts')).publish,
  tail: async () => (await import('./tail.ts')).tail,
};

const [command, ...args] = process.argv.slice(2);

if (!command || command === '--help' || command === '-h' || command === 'help') {
  console.log(usage);
} else if (command === '--version' || command === '-v' || command === 'version') {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  console.log(`herald ${pkg.version} (Node ${process.version})`);
} else if (!Object.hasOwn(commands, command)) {
  process.stderr.write(`herald: unknown command "${command}"\n\n${usage}\n`);
  process.exitCode = 2;
} else {
  try {
    const run = await commands[command]!();
    await run(args);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`herald ${command}: ${msg}\n`);
    // A configuration mistake (config/load.ts's ConfigError) exits 2, anything else 1.
    process.exit(e instanceof Error && e.name === 'ConfigError' ? 2 : 1);
  }
}
