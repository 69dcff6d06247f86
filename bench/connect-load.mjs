// Opens N raw SSE subscribers from 127.0.0.2-9 (200 in flight), prints the time until all have
// their response head, then destroys them. `node bench/connect-load.mjs <port> <n>`
import { connect } from 'node:net';
const [port, n] = [Number(process.argv[2]), Number(process.argv[3] ?? 5000)];
const t0 = performance.now();
let done = 0,
  inflight = 0,
  next = 0;
const socks = [];
await new Promise((resolve) => {
  const open = () => {
    while (inflight < 200 && next < n) {
      const i = next++;
      inflight++;
      const s = connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 8)}` });
      socks.push(s);
      let head = '';
      s.setEncoding('latin1');
      s.write(
        `GET /.well-known/mercure?topic=t${i % 10} HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n`,
      );
      const onData = (d) => {
        head += d;
        if (head.includes('\r\n\r\n')) {
          s.off('data', onData);
          inflight--;
          done++;
          if (done === n) resolve();
          else open();
        }
      };
      s.on('data', onData);
      s.on('error', (e) => {
        console.error(e.message);
        process.exit(1);
      });
    }
  };
  open();
});
console.log(`${n} connected in ${(performance.now() - t0).toFixed(0)} ms`);
for (const s of socks) s.destroy();
