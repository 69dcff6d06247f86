export * from './update.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './validate.ts';
export * from './sse-encode.ts';
export * from './frames.ts';
export * from './selector.ts';
export * from './ws.ts';
