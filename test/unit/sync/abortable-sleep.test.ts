import { describe, expect, it } from '@jest/globals';
import { getEventListeners } from 'node:events';
import { abortableSleep } from '../../../src/sync/course-refresh-run.js';

describe('abortableSleep', () => {
  it('leaves no listener on the signal once a sleep is over (a job that polls often would pile them up)', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) await abortableSleep(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('stops at once with the signal’s reason when it aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = abortableSleep(10_000, controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(sleeping).rejects.toThrow('cancelled');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
