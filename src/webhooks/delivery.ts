/**
 * Sending one outbox row: Standard Webhooks signing (the `standardwebhooks` package), a POST
 * through the guarded fetch with a timeout and no redirects followed, and the retry schedule.
 */
import { Webhook } from 'standardwebhooks';

/**
 * Delays before each retry, after the first attempt fails, then the second…: the Standard Webhooks
 * schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), about 28 hours in all. After the last retry
 * fails the message is dead and its endpoint disabled.
 */
export const RETRY_DELAYS_MS = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000, 10 * 3_600_000] as const;

/** Attempts a message gets before it is dead: the first and one per retry delay. */
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

/** How long a receiver has to answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** The outcome of one HTTP attempt. */
export type SendResult = { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string };

/** The three Standard Webhooks headers for a message. */
export function signedHeaders(secret: string, msgId: string, at: Date, body: string): Record<string, string> {
  const wh = new Webhook(secret);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': wh.sign(msgId, at, body),
  };
}

/**
 * POSTs one signed message. A 2xx answer is success; any other answer (a redirect included: the
 * receiver's URL is what staff registered, and following a hop elsewhere would bypass that
 * choice), a network error, a refused address or the timeout is a failure with a short reason.
 * Never throws.
 */
export async function sendMessage(
  fetchImpl: typeof globalThis.fetch,
  msg: { url: string; secret: string; id: string; body: string; at: Date; timeoutMs?: number; userAgent?: string },
): Promise<SendResult> {
  const headers = {
    'content-type': 'application/json',
    'user-agent': msg.userAgent ?? 'canvas-companion-webhooks/0.1',
    ...signedHeaders(msg.secret, msg.id, msg.at, msg.body),
  };
  try {
    const res = await fetchImpl(msg.url, {
      method: 'POST',
      headers,
      body: msg.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(msg.timeoutMs ?? DELIVERY_TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status };
    const redirect = res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : '';
    return { ok: false, statusCode: res.status, error: `The receiver answered HTTP ${res.status}${redirect}.` };
  } catch (err) {
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { ok: false, statusCode: null, error: `The receiver did not answer within ${+((msg.timeoutMs ?? DELIVERY_TIMEOUT_MS) / 1000).toFixed(1)} s.` };
    }
    const message = err instanceof Error ? err.message : String(err);
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return { ok: false, statusCode: null, error: `The request failed: ${message}${cause}`.slice(0, 500) };
  }
}
