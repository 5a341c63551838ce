import { describe, expect, it } from '@jest/globals';
import { parseMultipart } from '../../../src/http/multipart.js';
import type { JobRunner } from '../../../src/jobs/types.js';
import { withSyncScheduler, type SyncScheduler } from '../../../src/sync-list/scheduler.js';

describe('parseMultipart', () => {
  it('reads text fields and a file part byte for byte', () => {
    const file = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x0d, 0x0a, 0x2d, 0x2d, 0x00, 0xff]);
    const body = Buffer.concat([
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\ntok-1\r\n'),
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="mode"\r\n\r\nreplace\r\n'),
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="file"; filename="list.xlsx"\r\nContent-Type: application/octet-stream\r\n\r\n'),
      file,
      Buffer.from('\r\n--XyZ--\r\n'),
    ]);
    const parsed = parseMultipart(body, 'multipart/form-data; boundary="XyZ"');
    expect(parsed._csrf).toBe('tok-1');
    expect(parsed.mode).toBe('replace');
    expect(parsed.file).toEqual({ fileName: 'list.xlsx', contentType: 'application/octet-stream', data: file });
  });

  it('refuses a body without a boundary or with a part that never ends', () => {
    expect(() => parseMultipart(Buffer.from('x'), 'multipart/form-data')).toThrow('no boundary');
    expect(() => parseMultipart(Buffer.from('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end'), 'multipart/form-data; boundary=b')).toThrow('does not end');
  });
});

describe('withSyncScheduler', () => {
  it('starts the jobs before the ticks, and stops the ticks before the jobs', async () => {
    const order: string[] = [];
    const runner = { start: async () => void order.push('runner.start'), stop: async () => void order.push('runner.stop') } as unknown as JobRunner;
    const scheduler: SyncScheduler = { tick: async () => [], start: () => void order.push('scheduler.start'), stop: async () => void order.push('scheduler.stop') };
    const both = withSyncScheduler(runner, scheduler);
    await both.start();
    await both.stop();
    expect(order).toEqual(['runner.start', 'scheduler.start', 'scheduler.stop', 'runner.stop']);
  });
});
