/**
 * What the dashboard needs from the hub besides the live stream (which is `herald/client`'s
 * `subscribe`, see live.ts): its config, and the publish form's one update.
 */
import { createPublisher, HeraldClientError } from 'herald/client';

/** What `GET /dashboard/config.json` answers. */
export interface DashboardConfig {
  dev: boolean;
  /** Absolute hub URL (the SDK needs one), resolved against the page. */
  hubUrl: string;
  /** Dev hubs hand the dashboard an admin token so nobody has to paste one. */
  token?: string | undefined;
}

/** The hub answers refusals with a one-line text reason; keep it one short line whatever comes. */
async function reasonOf(res: Response): Promise<string> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // The body is only a courtesy; the status code is what matters.
  }
  const line = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  return line ? line.slice(0, 300) : `${res.status} ${res.statusText}`.trim();
}

/** Reads the dashboard config the hub serves next to the app. */
export async function loadConfig(baseUrl: string): Promise<DashboardConfig> {
  let res: Response;
  try {
    res = await fetch(new URL('config.json', new URL(baseUrl, window.location.href)), { cache: 'no-store' });
  } catch {
    throw new HeraldClientError('cannot reach the hub', 0);
  }
  if (!res.ok) throw new HeraldClientError(await reasonOf(res), res.status);
  const raw: unknown = await res.json();
  if (typeof raw !== 'object' || raw === null) throw new HeraldClientError('config.json is not an object', 0);
  const { dev, hubUrl, token } = raw as Record<string, unknown>;
  const path = typeof hubUrl === 'string' && hubUrl !== '' ? hubUrl : '/.well-known/mercure';
  return {
    dev: dev === true,
    hubUrl: new URL(path, window.location.href).toString(),
    token: dev === true && typeof token === 'string' && token !== '' ? token : undefined,
  };
}

/** A test update from the publish form. */
export interface PublishRequest {
  url: string;
  token: string | null;
  topic: string;
  data: string;
  type?: string | undefined;
  private?: boolean | undefined;
}

/**
 * Publishes one update with the SDK's publisher; resolves to the id the hub assigned. A person
 * is waiting on the button, so a failure is reported at once rather than retried.
 */
export async function publishUpdate(request: PublishRequest): Promise<string> {
  const publisher = createPublisher({ url: request.url, token: request.token ?? '', retries: 1 });
  try {
    return await publisher.publish(request.topic, request.data, {
      ...(request.type ? { type: request.type } : {}),
      ...(request.private ? { private: true } : {}),
    });
  } finally {
    void publisher.close();
  }
}
