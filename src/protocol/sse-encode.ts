import type { Update } from './update.ts';

const encoder = new TextEncoder();

/**
 * The SSE bytes of one update, built once and written to every subscriber. Data is split
 * on every line break so no payload can smuggle SSE fields; ids and types are validated on
 * publish so they cannot either.
 */
export function encodeSseUpdate(update: Update): Uint8Array {
  let s = '';
  if (update.type !== undefined) s += `event: ${update.type}\n`;
  if (update.retry !== undefined) s += `retry: ${update.retry}\n`;
  s += `id: ${update.id}\n`;
  s += encodeData(update.data);
  s += '\n';
  return encoder.encode(s);
}

/** A hub-generated event. It carries no `id:` so a browser's resume cursor stays where it was. */
export function encodeSseHubEvent(type: string, data: unknown, retry?: number): Uint8Array {
  let s = `event: ${type}\n`;
  if (retry !== undefined) s += `retry: ${retry}\n`;
  s += encodeData(typeof data === 'string' ? data : JSON.stringify(data));
  return encoder.encode(s + '\n');
}

function encodeData(data: string): string {
  let s = '';
  for (const line of data.split(/\r\n|\r|\n/)) s += `data: ${line}\n`;
  return s;
}

export const SSE_HEARTBEAT = encoder.encode(':\n\n');
