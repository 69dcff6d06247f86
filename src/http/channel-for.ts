import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { ByteChannel } from '../transport/byte-channel.ts';
import { Http1Channel } from '../transport/http1-channel.ts';
import { Http2Channel } from '../transport/http2-channel.ts';
import type { WriteBatch } from '../transport/write-batch.ts';

/**
 * The byte channel for a streamed response. A TLS server with `allowHTTP1` hands the same
 * handler HTTP/1.1 requests and HTTP/2 compat requests (typed as the HTTP/1 ones). HTTP/1.x
 * and HTTP/2 channels hold their bytes for `writes`, the hub's per-turn write batch.
 */
export function channelFor(req: IncomingMessage, res: ServerResponse, writes: WriteBatch): ByteChannel {
  if (isHttp2(req)) return new Http2Channel(res as unknown as Http2ServerResponse, writes);
  return new Http1Channel(res, writes);
}

export function isHttp2(req: IncomingMessage | Http2ServerRequest): boolean {
  return req.httpVersionMajor === 2;
}
