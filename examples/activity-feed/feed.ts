// The activity-feed domain: people, activities and the checks on a change. No real-time code.
import { AppError } from '../shared/http.ts';

export const USERS: Record<string, string> = { alice: 'Alice', bob: 'Bob', carol: 'Carol' };
export const STATUSES = ['open', 'in progress', 'done'] as const;
export type Status = (typeof STATUSES)[number];

export interface Activity {
  id: string;
  title: string;
  location: string;
  status: Status;
  reporter: string;
  assignedTo: string | null;
  updatedAt: string;
}

/** A new activity from a form: title (1-80 characters) and location (0-80); the id once both pass. */
export function newActivity(nextId: () => string, reporter: string, f: Record<string, string>): Activity {
  const title = (f['title'] ?? '').trim();
  const location = (f['location'] ?? '').trim();
  if (!title || title.length > 80) throw new AppError(400, 'title must be 1 to 80 characters');
  if (location.length > 80) throw new AppError(400, 'location must be at most 80 characters');
  return {
    id: nextId(),
    title,
    location,
    status: 'open',
    reporter,
    assignedTo: null,
    updatedAt: new Date().toISOString(),
  };
}

/** The activity after a change of status and/or assignee (`assignedTo: ""` unassigns). */
export function changedActivity(a: Activity, f: Record<string, string>): Activity {
  const next = { ...a, updatedAt: new Date().toISOString() };
  if (f['status'] !== undefined) {
    if (!STATUSES.includes(f['status'] as Status))
      throw new AppError(400, `status must be one of: ${STATUSES.join(', ')}`);
    next.status = f['status'] as Status;
  }
  if (f['assignedTo'] !== undefined) {
    if (f['assignedTo'] !== '' && !USERS[f['assignedTo']])
      throw new AppError(400, `unknown assignee "${f['assignedTo'].slice(0, 40)}"`);
    next.assignedTo = f['assignedTo'] || null;
  }
  if (f['status'] === undefined && f['assignedTo'] === undefined)
    throw new AppError(400, 'nothing to change: send status and/or assignedTo');
  return next;
}
