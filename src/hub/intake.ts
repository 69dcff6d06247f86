/**
 * Intake: what a publisher hands the hub, up to the broker. Validates each update, checks the
 * publish claim and the publisher's rate, applies retained-state changes (the store decides
 * the published data and visibility), and stores the batch through the broker. Delivery
 * starts when the broker hands the updates back (fan-out.ts), on this node and every other.
 */
import { mayPublish, type Principal } from '../auth/principal.ts';
import { kindOf, type Broker } from '../broker/broker.ts';
import type { StateEntry, StateStore } from '../broker/state-store.ts';
import { ErrorCode, HeraldError, isHeraldError } from '../protocol/errors.ts';
import type { ReservedNamespace } from '../protocol/reserved.ts';
import type { PublishInput, Update } from '../protocol/update.ts';
import { validatePublishInput, type FieldLimits } from '../protocol/validate.ts';
import type { PublishRateLimiter } from './limits.ts';
import type { HubObserver } from './observer.ts';
import type { HubStatistics } from './stats.ts';
import type { ClientInfo } from './subscription.ts';
import { unavailableError } from './unavailable.ts';

export interface IntakeOptions {
  broker: Broker;
  state: StateStore | undefined;
  limits: FieldLimits;
  reserved: ReservedNamespace;
  publishRate: PublishRateLimiter;
  stats: HubStatistics;
  observer: HubObserver;
}

export class Intake {
  readonly #o: IntakeOptions;

  constructor(options: IntakeOptions) {
    this.#o = options;
  }

  /** Resolves with the stored updates (ids assigned); throws a HeraldError saying what was refused. */
  async publish(
    inputs: readonly PublishInput[],
    principal: Principal,
    client: ClientInfo,
  ): Promise<Update[]> {
    const { broker, limits, reserved, publishRate } = this.#o;
    const valid = inputs.map((i) => validatePublishInput(i, limits, reserved));
    for (const input of valid) {
      if (!mayPublish(principal, input.topics)) {
        const denied = input.topics.find((t) => !principal.publish?.matchesTopic(t)) ?? input.topics[0];
        throw new HeraldError(
          ErrorCode.forbiddenTopic,
          principal.publish
            ? `token may not publish to topic ${JSON.stringify(denied)}`
            : 'token has no mercure.publish claim',
        );
      }
    }
    if (publishRate.enabled)
      publishRate.take(principal.subject ?? `ip:${client.ip ?? 'unknown'}`, valid.length);
    let prepared: PublishInput[] = valid;
    let stateError: unknown;
    if (valid.some((i) => i.stateOp !== undefined)) {
      prepared = [];
      // A change the store refuses stops the batch; the changes before it were applied, so
      // they are still published and every subscriber's view stays that of the store.
      try {
        for (const input of valid) prepared.push(await this.#applyState(input));
      } catch (e) {
        stateError = e;
      }
      if (stateError !== undefined && prepared.length === 0) throw stateError;
    }
    let stored: Update[];
    try {
      stored = await broker.publish(prepared);
    } catch (e) {
      if (isHeraldError(e)) throw e;
      throw unavailableError(`broker ${kindOf(broker)} could not store the update`, e);
    }
    // A retry's answer (the broker recognised its idempotency key) was counted the first time.
    const fresh = stored.some((u) => u.duplicate) ? stored.filter((u) => !u.duplicate) : stored;
    this.#o.stats.counters.published += fresh.length;
    if (fresh.length > 0) this.#o.observer.onPublish?.(fresh);
    if (stateError !== undefined) throw stateError;
    return stored;
  }

  async #applyState(input: PublishInput): Promise<PublishInput> {
    const { stateOp, ...rest } = input;
    if (stateOp === undefined) return input;
    const state = this.#o.state;
    if (!state) throw new HeraldError(ErrorCode.badRequest, 'this hub keeps no retained state');
    let entry: StateEntry;
    try {
      entry = await state.apply(rest.topics[0]!, stateOp, {
        private: rest.private,
        ...(rest.idempotencyKey !== undefined ? { idempotencyKey: rest.idempotencyKey } : {}),
      });
    } catch (e) {
      if (isHeraldError(e)) throw e;
      throw unavailableError(`state store ${state.kind} could not apply the change`, e);
    }
    // `retain` keeps the publisher's data as sent; a patch publishes the merged state (the
    // store's own text when it keeps one, so the two share one string).
    const data =
      stateOp.kind === 'replace' && stateOp.value !== null
        ? rest.data
        : (entry.json ?? JSON.stringify(entry.state));
    // The store decides the visibility: a patch of a private state is private, whatever the
    // patch said, or it would republish the whole private state to everyone.
    return { ...rest, data, private: entry.private, stateVersion: entry.version };
  }
}
