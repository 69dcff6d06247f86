import { createHash, timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { healthOf } from '../broker/broker.ts';
import type { Route } from '../http/exchange.ts';
import { ErrorCode, HeraldError } from '../protocol/errors.ts';
import type { Hub } from '../hub/hub.ts';
import type { HubObserver } from '../hub/observer.ts';

/**
 * Prometheus metrics over the hub's observer seam. Counters that the hub already keeps are
 * read at scrape time, so the hot path pays nothing extra for them.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly observer: HubObserver;
  #hub: Hub | undefined;
  #ingest: { published: number; rejected: number; duplicates: number } | undefined;
  #node: { metrics(): Promise<string>; connections(): number } | undefined;

  constructor() {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'herald_' });
    // prom-client calls collect() with the metric as `this`; the hub is reached through this getter.
    const hub = (): Hub | undefined => this.#hub;
    new Gauge({
      name: 'herald_connections_active',
      help: 'Open subscriber connections by transport',
      labelNames: ['transport'],
      registers: [registry],
      collect() {
        const byTransport: Record<string, number> = { sse: 0, ws: 0 };
        for (const sub of hub()?.subscriptions() ?? [])
          byTransport[sub.sink.transport] = (byTransport[sub.sink.transport] ?? 0) + 1;
        for (const [t, n] of Object.entries(byTransport)) this.set({ transport: t }, n);
      },
    });
    new Counter({
      name: 'herald_updates_published_total',
      help: 'Updates accepted by this node',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hub()?.counters.published ?? 0);
      },
    });
    new Counter({
      name: 'herald_deliveries_total',
      help: 'Updates written to subscriber connections by this node',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hub()?.counters.delivered ?? 0);
      },
    });
    new Counter({
      name: 'herald_resumes_total',
      help: 'Subscriptions that resumed with a Last-Event-ID',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hub()?.counters.resumes ?? 0);
      },
    });
    new Counter({
      name: 'herald_resume_gaps_total',
      help: 'Resumes whose Last-Event-ID was no longer in history',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hub()?.counters.gaps ?? 0);
      },
    });
    new Counter({
      name: 'herald_broker_gaps_total',
      help: 'Times updates were lost between the broker and this node (a catch-up past trimming, a rewound log); each sent herald.gap to every subscriber',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hub()?.counters.brokerGaps ?? 0);
      },
    });
    new Counter({
      name: 'herald_presence_events_total',
      help: 'Subscription events this node published (--subscriptions), after coalescing',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hub()?.presence?.counts.events ?? 0);
      },
    });
    new Counter({
      name: 'herald_presence_batches_total',
      help: 'Publishes that carried them (at most one per presence interval, each of at most 1 000 events)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hub()?.presence?.counts.batches ?? 0);
      },
    });
    const ingest = () => this.#ingest;
    new Counter({
      name: 'herald_ingest_messages_total',
      help: 'Messages taken from the Redis ingest stream, by result (published, rejected, duplicate)',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        const c = ingest();
        this.reset();
        if (!c) return;
        this.inc({ result: 'published' }, c.published);
        this.inc({ result: 'rejected' }, c.rejected);
        this.inc({ result: 'duplicate' }, c.duplicates);
      },
    });
    new Counter({
      name: 'herald_refusals_total',
      help: 'Requests refused, by reason (error code)',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(hub()?.counters.refusals ?? {})) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: 'herald_slow_consumer_actions_total',
      help: 'Slow-consumer policy actions: disconnect (connection cut) or drop (an episode of skipped updates)',
      labelNames: ['action'],
      registers: [registry],
      collect() {
        this.reset();
        const sc = hub()?.counters.slowConsumer;
        this.inc({ action: 'disconnect' }, sc?.disconnect ?? 0);
        this.inc({ action: 'drop' }, sc?.drop ?? 0);
      },
    });
    new Counter({
      name: 'herald_dropped_updates_total',
      help: 'Updates skipped for subscribers that fell behind (drop policy)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hub()?.counters.slowConsumer.droppedUpdates ?? 0);
      },
    });
    const node = () => this.#node;
    new Gauge({
      name: 'herald_node_connections',
      help: 'Connections the whole node holds as this process last heard (--workers; what --max-connections counts); aggregated, the lowest view of any worker',
      registers: [registry],
      aggregator: 'min',
      collect() {
        const n = node();
        if (n) this.set(n.connections());
        else this.set(hub()?.admittedCount ?? 0);
      },
    });
    new Gauge({
      name: 'herald_broker_up',
      help: '1 when the broker is connected and ready',
      labelNames: ['kind'],
      registers: [registry],
      // With --workers, the node is up only if every worker's broker is.
      aggregator: 'min',
      collect() {
        const b = hub()?.broker;
        const h = b && healthOf(b);
        if (h) this.set({ kind: h.kind }, h.ready ? 1 : 0);
      },
    });
    new Gauge({
      name: 'herald_uri_templates',
      help: 'Distinct compiled URI templates and URL patterns held (what --max-templates counts)',
      registers: [registry],
      collect() {
        this.set(hub()?.templateUsage().templates ?? 0);
      },
    });
    new Gauge({
      name: 'herald_uri_template_bytes',
      help: 'Estimated compiled size of those templates (what --max-template-bytes counts)',
      registers: [registry],
      collect() {
        this.set(hub()?.templateUsage().bytes ?? 0);
      },
    });
    new Counter({
      name: 'herald_uri_template_match_steps_total',
      help: 'Characters examined matching topics against URI templates',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(hub()?.templateUsage().matchSteps ?? 0);
      },
    });
    const opened = new Counter({
      name: 'herald_connections_opened_total',
      help: 'Subscriber connections opened, by transport',
      labelNames: ['transport'],
      registers: [registry],
    });
    const disconnects = new Counter({
      name: 'herald_disconnects_total',
      help: 'Subscriber connections closed, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    const latency = new Histogram({
      name: 'herald_publish_to_deliver_seconds',
      help: 'Time from accepting an update to writing it to every matching subscriber on this node',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.observer = {
      onSubscribe: (sub) => opened.inc({ transport: sub.sink.transport }),
      onUnsubscribe: (_sub, reason) => disconnects.inc({ reason }),
      onDispatch: (_update, _n, ms) => latency.observe(ms / 1000),
    };
  }

  attach(hub: Hub): void {
    this.#hub = hub;
  }

  /**
   * `--workers N`: `/metrics` answers with the whole node's metrics (every worker's registry,
   * aggregated by the primary), and the node's connection count is the one the cap uses.
   */
  attachNode(node: { metrics(): Promise<string>; connections(): number }): void {
    this.#node = node;
  }

  /** Reads the Redis ingest's counters at scrape time. */
  attachIngest(counters: { published: number; rejected: number; duplicates: number }): void {
    this.#ingest = counters;
  }

  /**
   * `GET {path}`: the Prometheus text exposition. With `token`, only a request carrying
   * `Authorization: Bearer <token>` gets it; any other gets 401.
   */
  route(path: string, token?: string): Route {
    const expected = token ? createHash('sha256').update(token).digest() : undefined;
    return async (ex) => {
      if (ex.url.pathname !== path || ex.method !== 'GET') return false;
      if (expected) {
        const m = /^Bearer (.+)$/.exec(ex.header('authorization') ?? '');
        // Digests compared in constant time: the comparison tells nothing about the token.
        const given = createHash('sha256')
          .update(m?.[1] ?? '')
          .digest();
        if (!m || !timingSafeEqual(given, expected))
          throw new HeraldError(
            ErrorCode.unauthorized,
            'metrics need "Authorization: Bearer <metrics token>"',
          );
      }
      const body = this.#node ? await this.#node.metrics() : await this.registry.metrics();
      ex.respond(200, { 'Content-Type': this.registry.contentType, 'Cache-Control': 'no-store' }, body);
      return true;
    };
  }
}
