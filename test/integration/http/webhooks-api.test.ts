import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { createApp } from '../../../src/app.js';
import { testDatabases } from '../../support/databases.js';
import { startHarness, type Harness } from '../../support/generate-keys-harness.js';
import { createTestContainer } from '../../support/test-container.js';
import { startReceiver } from '../../support/webhook-receiver.js';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789abcdef';

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(testDatabases().map((d) => [d.name, d] as const))('webhooks JSON API, events and /metrics (%s)', (_name, tdb) => {
  let h: Harness;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    h = await startHarness(tdb, { courses: 6 });
    h.c.webhooks.worker.start();
    rx = await startReceiver();
  });
  afterAll(async () => {
    await h.c.sync.runner.stop();
    await h.c.webhooks.worker.stop();
    await rx.close();
    await h.close();
  });

  it('refuses bad input with 400 naming the field: unknown events are listed, unknown fields and integrations named', async () => {
    const unknownEvent = await h.api('POST', '/api/v1/webhooks', { url: rx.url, events: ['roster.changed', 'course.deleted'] });
    expect(unknownEvent.status).toBe(400);
    expect(unknownEvent.body.error.message).toBe('events: unknown event "course.deleted"; the events are roster.changed, integration.status_changed, job.finished, grades.posted');
    const none = await h.api('POST', '/api/v1/webhooks', { url: rx.url, events: [] });
    expect(none.status).toBe(400);
    expect(none.body.error.message).toMatch(/^events: /);
    const extra = await h.api('POST', '/api/v1/webhooks', { url: rx.url, events: ['job.finished'], secret: 'mine' });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toBe('secret: is not a known field');
    const badUrl = await h.api('POST', '/api/v1/webhooks', { url: 'ftp://example.com/x', events: ['job.finished'] });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error.message).toMatch(/^url: /);
    const noIntegration = await h.api('POST', '/api/v1/webhooks', { url: rx.url, events: ['job.finished'], integrationId: 'nope' });
    expect(noIntegration.status).toBe(400);
    expect(noIntegration.body.error.message).toMatch(/^integrationId: /);
  });

  it('creates (secret once), lists without secrets, and sends status changes and finished jobs signed to the receiver; delete stops it', async () => {
    const created = await h.api('POST', '/api/v1/webhooks', { url: rx.url, events: ['integration.status_changed', 'job.finished'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), url: rx.url, events: ['integration.status_changed', 'job.finished'], secret: expect.stringMatching(/^whsec_/) });
    const list = await h.api('GET', '/api/v1/webhooks');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(created.body.secret);
    expect(list.body.webhooks).toEqual([expect.objectContaining({ id: created.body.id, enabled: true })]);

    // Generate Keys moves the integration not_connected → pending → verified: one event per move.
    const id = await h.createIntegration();
    await h.authorize(id);
    const statusEvents = () =>
      rx.received
        .map((r) => JSON.parse(r.body) as { type: string; timestamp: string; data: any })
        .filter((b) => b.type === 'integration.status_changed' && b.data.integrationId === id)
        .sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    await until('the status webhooks', async () => (statusEvents().some((b) => b.data.to === 'verified') ? true : undefined));
    expect(statusEvents().map((b) => b.data)).toEqual([
      { integrationId: id, from: 'not_connected', to: 'pending', reasons: [] },
      { integrationId: id, from: 'pending', to: 'verified', reasons: [] },
    ]);

    // A course refresh ends: job.finished carries the job as the API shows it.
    await h.c.sync.runner.start();
    const job = await h.api('POST', `/api/v1/integrations/${id}/course-refresh`, {});
    const finished = await until('the job.finished webhook', async () =>
      rx.received.map((r) => JSON.parse(r.body) as { type: string; data: any }).find((b) => b.type === 'job.finished' && b.data.job.id === job.body.id),
    );
    const shown = await h.api('GET', `/api/v1/jobs/${job.body.id}`);
    expect(finished.data.job).toEqual(shown.body);
    expect(shown.body.state).toBe('succeeded');

    const log = await h.api('GET', `/api/v1/webhooks/${created.body.id}/deliveries`);
    expect(log.status).toBe(200);
    const d = log.body.deliveries.find((x: { event: string }) => x.event === 'job.finished');
    expect(d).toMatchObject({ id: expect.stringMatching(/^msg_/), attempt: 1, status: 'delivered', at: expect.any(String), nextAttemptAt: null });

    const again = await h.api('POST', `/api/v1/webhooks/${created.body.id}/deliveries/${d.id}/redeliver`, {});
    expect(again.status).toBe(202);
    await until('the redelivery', async () => (rx.received.filter((r) => r.headers['webhook-id'] === d.id).length === 2 ? true : undefined));

    expect((await h.api('POST', `/api/v1/webhooks/${created.body.id}/deliveries/msg_nope/redeliver`, {})).status).toBe(404);
    expect((await h.api('DELETE', `/api/v1/webhooks/${created.body.id}`)).status).toBe(204);
    expect((await h.api('GET', `/api/v1/webhooks/${created.body.id}/deliveries`)).status).toBe(404);
    const audit = await h.c.audit.list(null, 50);
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['webhook.created', 'webhook.redelivered', 'webhook.deleted']));
  });

  it('a finished grade post reaches a grades.posted endpoint, signed, and not an endpoint without that event', async () => {
    const grades = await h.api('POST', '/api/v1/webhooks', { url: `${rx.url}?grades`, events: ['grades.posted'] });
    const other = await h.api('POST', '/api/v1/webhooks', { url: `${rx.url}?other`, events: ['job.finished'] });
    expect([grades.status, other.status]).toEqual([201, 201]);
    const id = await h.createIntegration();
    // What the grade post job announces when it ends (src/grades/grade-post.ts), through the container's port.
    await h.c.gradesPosted.port!({ integrationId: id, courseId: '1001', examKey: 'mid-1', assignmentId: '77', state: 'succeeded', counts: { posted: 3, unchanged: 1, unknown_user: 0, not_exam_taker: 1, invalid_score: 0, failed: 0 }, jobId: 'job-1', message: null });
    const got = await until('the grades.posted webhook', async () =>
      rx.received.find((r) => (JSON.parse(r.body) as { type: string }).type === 'grades.posted'),
    );
    expect(new Webhook(grades.body.secret).verify(got.body, got.headers as Record<string, string>)).toMatchObject({
      type: 'grades.posted',
      data: { integrationId: id, courseCanvasId: '1001', examKey: 'mid-1', assignmentId: '77', state: 'succeeded', counts: expect.objectContaining({ posted: 3 }), jobId: 'job-1' },
    });
    const log = await h.api('GET', `/api/v1/webhooks/${other.body.id}/deliveries`);
    expect(log.body.deliveries.filter((d: { event: string }) => d.event === 'grades.posted')).toEqual([]);
    await h.api('DELETE', `/api/v1/webhooks/${grades.body.id}`);
    await h.api('DELETE', `/api/v1/webhooks/${other.body.id}`);
  });

  it('/metrics: 401 without a token; with an API token, every family after the activity above', async () => {
    const anon = await fetch(`${h.appUrl}/metrics`);
    expect(anon.status).toBe(401);
    const res = await fetch(`${h.appUrl}/metrics`, { headers: { authorization: 'Bearer generate-keys-test-token-0123456789abcdef' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/canvas_companion_jobs_finished_total\{kind="course_refresh",outcome="succeeded"\} [1-9]/);
    expect(text).toMatch(/canvas_companion_job_duration_seconds_count\{kind="course_refresh",outcome="succeeded"\} [1-9]/);
    expect(text).toMatch(/canvas_companion_canvas_requests_total\{endpoint="[a-z_.]+",status="200"\} [1-9]/);
    expect(text).toContain('canvas_companion_canvas_throttle_wait_seconds_bucket{le="0.01",source="governor"}');
    expect(text).toMatch(/canvas_companion_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
    expect(text).toMatch(/canvas_companion_webhook_delivery_lag_seconds_count [1-9]/);
    expect(text).toMatch(/canvas_companion_integrations\{state="verified"\} [1-9]/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  it('accepts the scrape token, refuses another', async () => {
    const c = await createTestContainer({ env: { METRICS_TOKEN } });
    try {
      const app = createApp(c);
      expect((await request(app).get('/metrics')).status).toBe(401);
      expect((await request(app).get('/metrics').set('authorization', 'Bearer metrics-scrape-token-0123456789abcdeX')).status).toBe(401);
      const ok = await request(app).get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`);
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('# TYPE canvas_companion_integrations gauge');
    } finally {
      await c.close();
    }
  });
});
