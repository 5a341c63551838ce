/**
 * Which host a file URL that Canvas named (a report's `file_url` or `attachment.url`) may be
 * downloaded from with the integration's token.
 *
 * Canvas builds `file_url` from the host of the request, or (older builds) from the root account's
 * primary domain. A hosted Canvas has two kinds of name, its vanity domain (`canvas.school.edu`) and
 * its `*.instructure.com` name, and either may be the primary one, so a report may name the other.
 * The product cannot tell from a host name alone that it belongs to the same institution: every
 * hosted institution has a `*.instructure.com` name, and the token must not reach another one. So the
 * token goes only to the integration's Canvas URL and to the one other name staff set for this
 * Canvas (`canvasOtherUrl`); every other host is refused before any request, with the reason.
 */
export type FileHostVerdict = { ok: true } | { ok: false; why: string };

/**
 * The decision described in the module comment, for `fileOrigin` as named by the Canvas at
 * `canvasOrigin` whose other name (origin) is `otherOrigin`, if staff set one.
 */
export function canvasFileHost(canvasOrigin: string, fileOrigin: string, otherOrigin?: string | null): FileHostVerdict {
  if (fileOrigin === canvasOrigin) return { ok: true };
  if (otherOrigin && fileOrigin === otherOrigin) return { ok: true };
  let u: URL;
  try {
    u = new URL(fileOrigin);
  } catch {
    return { ok: false, why: `Canvas named a file at "${fileOrigin}", which is not a URL` };
  }
  const known = otherOrigin ? `this integration's Canvas (${canvasOrigin}) nor its other name (${otherOrigin})` : `this integration's Canvas (${canvasOrigin})`;
  return {
    ok: false,
    why:
      `Canvas named the report file on ${u.origin}, which is neither ${known}; it was not downloaded, so the token went nowhere else. ` +
      `If ${u.origin} is this institution's Canvas under another name, set it as the integration's canvasOtherUrl; otherwise refresh course by course`,
  };
}
