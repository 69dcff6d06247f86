// What every example's start() accepts: the ports to listen on. 0 or absent: a free port, so
// several examples (and their tests) run side by side; a number pins it (`npm run example`
// takes them as --port, --hub-port, --redis-port, --postgres-port).
export interface ExampleOptions {
  /** The app's own server (its page and API). */
  port?: number;
  /** The Herald hub. */
  hubPort?: number;
  /** The redis-server the example starts, if it uses Redis. */
  redisPort?: number;
  /** The PostgreSQL server the example starts, if it stores data there. */
  postgresPort?: number;
}
