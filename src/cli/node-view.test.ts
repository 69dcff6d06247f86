import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isHeraldError } from '../protocol/errors.ts';
import { ConnectionAdmission, unlimitedConnections, type AdmissionTicket } from '../hub/limits.ts';
import { linkPair } from '../../test/support/link-pair.ts';
import { eventually } from '../../test/support/wait.ts';
import { PrimaryNodeView, WorkerNodeView, type ToNodeView } from './node-view.ts';

const limits = { ...unlimitedConnections, maxPerIp: 2, maxPerSubject: 2, maxPerSelector: 2 };

/** One worker of a node: its view of the others, and its admission using it. */
function worker(primary: PrimaryNodeView, id: number) {
  const pair = linkPair();
  const view = new WorkerNodeView(pair.worker as never, id, 0);
  const detach = primary.attach(id, pair.primary as never);
  return {
    view,
    admission: new ConnectionAdmission(limits, view),
    exit() {
      pair.cut();
      detach();
      view.close();
    },
  };
}

const ticket = (ip: string, subject?: string, selectors: string[] = []): AdmissionTicket => ({
  ip,
  subject,
  selectors,
});

function refused(fn: () => void, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => isHeraldError(e) && e.status === 429 && reason.test(e.message));
}

test('per-key caps count every worker: changes reach the others, a new worker starts from them, an exited one is forgotten', async () => {
  const primary = new PrimaryNodeView();
  const a = worker(primary, 1);
  const b = worker(primary, 2);
  const t = ticket('10.0.0.1', 'alice', ['/a']);
  a.admission.admit(t);
  await eventually(() => b.view.othersHolding('ip', '10.0.0.1') === 1, "B hears A's connection");
  assert.equal(b.view.othersHolding('subject', 'alice'), 1);
  assert.equal(b.view.othersHolding('selector', '/a'), 1);
  b.admission.admit(ticket('10.0.0.1'));
  // Two from this address on the node: a third is refused on either worker.
  refused(() => b.admission.admit(ticket('10.0.0.1')), /from this address \(limit 2\)/);
  await eventually(() => a.view.othersHolding('ip', '10.0.0.1') === 1, "A hears B's connection");
  refused(() => a.admission.admit(ticket('10.0.0.1')), /from this address/);
  a.admission.admit(ticket('10.0.0.2', 'alice', ['/a']));
  await eventually(() => b.view.othersHolding('subject', 'alice') === 2, "B hears A's second");
  refused(() => b.admission.admit(ticket('10.0.0.3', 'alice')), /for this subject \(limit 2\)/);
  refused(() => b.admission.admit(ticket('10.0.0.3', undefined, ['/a'])), /subscribers to selector "\/a"/);

  // A worker started later starts from the others' counts.
  const c = worker(primary, 3);
  await eventually(() => c.view.othersHolding('ip', '10.0.0.1') === 2, 'C starts from A and B');
  assert.equal(c.view.othersHolding('subject', 'alice'), 2);

  // A releases one, then exits with the other still open: both leave the others' counts.
  a.admission.release(t);
  await eventually(() => c.view.othersHolding('selector', '/a') === 1, "A's release reaches C");
  a.exit();
  await eventually(() => c.view.othersHolding('subject', 'alice') === 0, "A's exit reaches C");
  assert.equal(c.view.othersHolding('ip', '10.0.0.1'), 1, "B's connection is still counted");
  assert.equal(b.view.othersHolding('ip', '10.0.0.2'), 0);
  b.admission.admit(ticket('10.0.0.2', 'alice', ['/a']));
  b.exit();
  c.exit();
});

test('a key opened and closed within one turn sends nothing', async () => {
  const primary = new PrimaryNodeView();
  const pair = linkPair();
  const sent: ToNodeView[] = [];
  const link = { ...pair.worker, send: (m: ToNodeView) => sent.push(m), connected: true };
  const view = new WorkerNodeView(link as never, 1, 0);
  primary.attach(1, pair.primary as never);
  const admission = new ConnectionAdmission(limits, view);
  const t = ticket('10.0.0.9', 's', ['/x']);
  admission.admit(t);
  admission.release(t);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, [{ herald: 'node-count', n: 0 }]);
  view.close();
});
