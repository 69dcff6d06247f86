import { parseCliArgs as parseArgs } from './args.ts';
import { tailHelp } from './help.ts';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** `herald tail SEL...`: follow updates on a running hub until interrupted. */
export async function tail(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      path: { type: 'string' },
      token: { type: 'string' },
      'last-event-id': { type: 'string' },
      'draft-08': { type: 'boolean' },
      pattern: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(tailHelp);
    return;
  }
  const patterns = values.pattern ?? [];
  if (positionals.length === 0 && patterns.length === 0)
    throw new Error(`expected at least one SELECTOR\n${tailHelp}`);
  const base = values.url ?? process.env['HERALD_URL'] ?? 'http://localhost:3000';
  const path = values.path ?? process.env['HERALD_PATH'] ?? '/.well-known/mercure';
  const token = values.token ?? process.env['HERALD_TOKEN'];
  const url = new URL(path, base);
  const draft08 = values['draft-08'] === true || patterns.length > 0;
  for (const s of positionals) url.searchParams.append(draft08 ? 'match' : 'topic', s);
  for (const p of patterns) url.searchParams.append('match_urlpattern', p);
  let lastEventId = values['last-event-id'];
  let delay = 500;
  for (;;) {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (token) headers['Authorization'] = `Bearer ${token}`;
    if (lastEventId) headers['Last-Event-ID'] = lastEventId;
    try {
      const res = await fetch(url, { headers });
      if (!res.ok || !res.body) {
        const reason = (await res.text()).trim();
        // Auth and request errors will not fix themselves.
        if (res.status >= 400 && res.status < 500 && res.status !== 429)
          throw new FatalError(`hub answered ${res.status}: ${reason}`);
        throw new Error(`hub answered ${res.status}: ${reason}`);
      }
      delay = 500;
      process.stderr.write(`herald tail: connected to ${url.origin}\n`);
      const parser = createParser({
        onEvent(ev: EventSourceMessage) {
          if (ev.id) lastEventId = ev.id;
          process.stdout.write(
            `${ev.id ?? '-'}\t${ev.event ?? 'message'}\t${ev.data.replace(/\n/g, '\\n')}\n`,
          );
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
      process.stderr.write('herald tail: stream ended; reconnecting\n');
    } catch (e) {
      if (e instanceof FatalError) throw e;
      process.stderr.write(
        `herald tail: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}; retrying in ${delay} ms\n`,
      );
    }
    await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
    delay = Math.min(delay * 2, 15_000);
  }
}

class FatalError extends Error {}
