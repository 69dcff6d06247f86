import { constants, deflateRawSync } from 'node:zlib';
import type { MessageDeflater } from '../protocol/ws-wire.ts';

/** What every deflate block flushed with Z_SYNC_FLUSH ends with; RFC 7692 §7.2.1 drops it. */
const SYNC_TAIL_LENGTH = 4;

/**
 * One message compressed on its own (no context takeover), as RFC 7692 §7.2.1 frames it.
 * Synchronous: it runs once per update however many sockets share the result.
 */
export const deflateMessage: MessageDeflater = (payload, windowBits) => {
  const out = deflateRawSync(payload, { windowBits, finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.byteLength - SYNC_TAIL_LENGTH);
};
