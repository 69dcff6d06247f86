// Node: a worker reporting progress. Calls made together go out as one batch request.
import { createPublisher } from 'herald/client';

export async function reportProgress(hubUrl: string, token: string, jobId: string, total: number) {
  const publisher = createPublisher({ url: hubUrl, token });
  const ids: string[] = [];
  for (let done = 1; done <= total; done++) {
    ids.push(await publisher.publish(`https://example.com/jobs/${jobId}`, { done, total }));
  }
  await Promise.all([
    publisher.publish('https://example.com/feed/ada', { text: `job ${jobId} finished` }),
    publisher.publish('https://example.com/feed/bob', { text: `job ${jobId} seen by bob` }),
  ]);
  await publisher.close(); // sends what is queued, then refuses more
  return ids;
}
