/**
 * Which host a file URL that Canvas named (a report's `file_url` or `attachment.url`) may be
 * downloaded from with the integration's token.
 *
 * The product knows the institution's Canvas under two kinds of name: the origin the token was
 * issued for (the integration's Canvas URL, often a vanity domain such as `canvas.school.edu`) and
 * the `*.instructure.com` name under which Instructure hosts every hosted Canvas. Canvas builds
 * `file_url` from the host of the request, or (older builds) from the root account's primary
 * domain, which for a hosted Canvas reached through a vanity domain can be its `*.instructure.com`
 * name. Any `https://*.instructure.com` host is run by Instructure, the operator that issued the
 * token, so the token reaches no one new there. Every other host is refused before any request:
 * a self-hosted Canvas names its own host, and a report pointing elsewhere is not trusted.
 */
export type FileHostVerdict = { ok: true } | { ok: false; why: string };

/** The decision described in the module comment, for `fileOrigin` as named by the Canvas at `canvasOrigin`. */
export function canvasFileHost(canvasOrigin: string, fileOrigin: string): FileHostVerdict {
  if (fileOrigin === canvasOrigin) return { ok: true };
  let u: URL;
  try {
    u = new URL(fileOrigin);
  } catch {
    return { ok: false, why: `Canvas named a file at "${fileOrigin}", which is not a URL` };
  }
  if (u.protocol === 'https:' && u.port === '' && /^[a-z0-9-]+(\.[a-z0-9-]+)*\.instructure\.com$/i.test(u.hostname)) return { ok: true };
  return {
    ok: false,
    why:
      `Canvas named the report file on ${fileOrigin}, which is neither this integration's Canvas (${canvasOrigin}) ` +
      'nor an Instructure-hosted Canvas name (https://*.instructure.com); it was not downloaded, so the token went nowhere else. ' +
      "Set the integration's Canvas URL to the address Canvas uses for its files, or refresh course by course",
  };
}
