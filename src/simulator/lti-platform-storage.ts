/**
 * LTI Platform Storage as Canvas answers it from its `post_message_forwarding` frame:
 * `lti.capabilities`, `lti.put_data`, `lti.get_data` (and the `org.imsglobal.lti.*` names), values
 * kept per tool origin under `lti|platform_storage|<origin>|<key>`, at most 500 keys and 4096
 * characters (keys + values) per origin, answered as `<subject>.response` echoing `message_id`.
 *
 * {@link storageAnswer} is self-contained (no imports, no outer variables) because the sandbox also
 * serves its source to the browser as the frame's script: tests call the same code directly.
 */

/** The browser storage the answer reads and writes (`localStorage` in the frame). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Per-origin usage counters; Canvas keeps them in page memory. */
export type StorageUsage = Record<string, { keys: number; chars: number }>;

/**
 * The answer to one storage message from a tool at `origin`, or null when the message is not a
 * storage message (other subjects are left to other handlers).
 */
export function storageAnswer(store: KeyValueStore, usage: StorageUsage, origin: string, message: unknown): Record<string, unknown> | null {
  if (typeof message !== 'object' || message === null) return null;
  const m = message as Record<string, unknown>;
  const subject = typeof m['subject'] === 'string' ? (m['subject'] as string) : '';
  const base = subject.replace(/^org\.imsglobal\./, '');
  const known = ['lti.capabilities', 'lti.put_data', 'lti.get_data'];
  if (known.indexOf(base) < 0) return null;
  const reply: Record<string, unknown> = { subject: `${subject}.response` };
  if (m['message_id'] !== undefined) reply['message_id'] = m['message_id'];
  if (base === 'lti.capabilities') {
    reply['supported_messages'] = [
      { subject: 'lti.capabilities' },
      { subject: 'lti.put_data', frame: 'post_message_forwarding' },
      { subject: 'lti.get_data', frame: 'post_message_forwarding' },
      { subject: 'org.imsglobal.lti.capabilities' },
      { subject: 'org.imsglobal.lti.put_data', frame: 'post_message_forwarding' },
      { subject: 'org.imsglobal.lti.get_data', frame: 'post_message_forwarding' },
    ];
    return reply;
  }
  const key = m['key'];
  if (typeof key !== 'string' || key === '') {
    reply['error'] = { code: 'bad_request', message: "Missing required 'key' field" };
    return reply;
  }
  if (m['message_id'] === undefined || m['message_id'] === null || m['message_id'] === '') {
    reply['error'] = { code: 'bad_request', message: "Missing required 'message_id' field" };
    return reply;
  }
  const storageKey = `lti|platform_storage|${origin}|${key}`;
  reply['key'] = key;
  if (base === 'lti.get_data') {
    reply['value'] = store.getItem(storageKey);
    return reply;
  }
  const use = usage[origin] || (usage[origin] = { keys: 0, chars: 0 });
  const old = store.getItem(storageKey);
  const value = m['value'];
  if (value === null || value === undefined) {
    if (old !== null) {
      store.removeItem(storageKey);
      use.keys -= 1;
      use.chars -= key.length + old.length;
    }
    return reply;
  }
  const text = String(value);
  const keys = use.keys + (old === null ? 1 : 0);
  const chars = use.chars - (old === null ? 0 : key.length + old.length) + key.length + text.length;
  if (keys > 500) {
    reply['error'] = { code: 'storage_exhaustion', message: 'Reached key limit for tool' };
    return reply;
  }
  if (chars > 4096) {
    reply['error'] = { code: 'storage_exhaustion', message: 'Reached byte limit for tool' };
    return reply;
  }
  store.setItem(storageKey, text);
  use.keys = keys;
  use.chars = chars;
  reply['value'] = text;
  return reply;
}

/** Subject of the envelope between the forwarding frame and the Canvas window that holds the storage. */
export const FORWARD_SUBJECT = 'lti.platform_storage.forward';

/**
 * The frame's page. Canvas's forwarding frame stores nothing itself: it relays each message from a
 * tool to the Canvas window (its parent, on `parentOrigin`) with the tool's origin, and relays the
 * answer back to the tool's window and origin. The values therefore live in Canvas's first-party
 * `localStorage`, which is why this works where the browser blocks third-party storage and cookies.
 */
export function forwardingFramePage(parentOrigin: string): string {
  return `<!doctype html><html><head><title>post_message_forwarding</title></head><body><script>
var parentOrigin = ${JSON.stringify(parentOrigin).replace(/</g, '\\u003c')};
var pending = {};
var seq = 0;
window.addEventListener('message', function (event) {
  var d = event.data;
  if (!d || typeof d !== 'object') return;
  if (event.source === window.parent) {
    if (event.origin !== parentOrigin || d.subject !== '${FORWARD_SUBJECT}.response') return;
    var p = pending[d.forward_id];
    if (!p) return;
    delete pending[d.forward_id];
    p.source.postMessage(d.answer, p.origin);
    return;
  }
  if (typeof d.subject !== 'string' || !event.source) return;
  var id = 'f' + (++seq);
  pending[id] = { source: event.source, origin: event.origin };
  window.parent.postMessage({ subject: '${FORWARD_SUBJECT}', forward_id: id, tool_origin: event.origin, message: d }, parentOrigin);
});
</script></body></html>`;
}

/**
 * Script for the Canvas page that hosts the tool iframe: answers what its forwarding frame relays
 * (only from that frame, on `storageOrigin`), and the `window.parent` fallback (a tool posting to
 * the page itself with origin `*`), both with {@link storageAnswer} over the page's `localStorage`.
 * `window.__ltiStorageRelayed` lists the subjects that came through the frame (`:delete` for a put of null); tests read it.
 */
export function parentFallbackScript(storageOrigin: string): string {
  return `var storageAnswer = ${storageAnswer.toString()};
var usage = {};
var storageOrigin = ${JSON.stringify(storageOrigin).replace(/</g, '\\u003c')};
window.addEventListener('message', function (event) {
  var d = event.data;
  if (d && typeof d === 'object' && d.subject === '${FORWARD_SUBJECT}') {
    if (event.origin !== storageOrigin || event.source !== window.frames['post_message_forwarding']) return;
    (window.__ltiStorageRelayed = window.__ltiStorageRelayed || []).push(String(d.message && d.message.subject) + (d.message && d.message.value === null ? ':delete' : ''));
    var relayed = storageAnswer(window.localStorage, usage, String(d.tool_origin), d.message);
    if (relayed) event.source.postMessage({ subject: '${FORWARD_SUBJECT}.response', forward_id: d.forward_id, answer: relayed }, event.origin);
    return;
  }
  var answer = storageAnswer(window.localStorage, usage, event.origin, d);
  if (answer && event.source) event.source.postMessage(answer, event.origin);
});
`;
}
