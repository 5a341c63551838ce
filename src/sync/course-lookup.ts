import { AppError, invalid } from '../errors/app-error.js';
import type { CourseView, SectionView } from './course-repository.js';
import { courseFactsFromJson, courseRow, fetchSections, sectionRow, type SyncDeps } from './course-refresh.js';
import { COURSE_REASON_HELP, type CourseReason } from './sync-reasons.js';

/** How a pasted query names a course: a Canvas id or a prefixed SIS/integration id (`sis_course_id:`, `sis_integration_id:`). */
export type CourseRef = { kind: 'canvas_id'; id: string } | { kind: 'sis_course_id' | 'sis_integration_id'; id: string };

/**
 * Parses what an admin pastes into the specific-course form: `123`, `sis_course_id:ABC`,
 * `sis_integration_id:ABC`, or a course URL on this integration's Canvas
 * (`https://school.instructure.com/courses/123/...`).
 * @throws AppError validation_failed naming `query` (wrong host, not a course URL, empty…).
 */
export function parseCourseQuery(raw: string, canvasUrl: string): CourseRef {
  const q = raw.trim();
  if (!q) throw invalid('query', 'is empty', 'Enter a Canvas course id, sis_course_id:…, sis_integration_id:… or paste the course URL.');
  if (/^\d{1,19}$/.test(q)) return { kind: 'canvas_id', id: q };
  const prefixed = /^(sis_course_id|sis_integration_id):(.+)$/.exec(q);
  if (prefixed) return { kind: prefixed[1] as 'sis_course_id' | 'sis_integration_id', id: prefixed[2]!.trim() };
  if (/^https?:\/\//i.test(q) || /^[\w.-]+\.[a-z]{2,}\//i.test(q)) {
    let u: URL;
    try {
      u = new URL(/^https?:\/\//i.test(q) ? q : `https://${q}`);
    } catch {
      throw invalid('query', 'is not a valid URL');
    }
    const expected = new URL(canvasUrl);
    if (u.host.toLowerCase() !== expected.host.toLowerCase()) {
      throw invalid(
        'query',
        `is a course on ${u.host}, but this integration's Canvas is ${expected.host}`,
        `Paste a course URL from ${expected.host}, or fix the Canvas URL on the LMS Settings page.`,
      );
    }
    const m = /^\/courses\/(\d{1,19})(?:\/|$)/.exec(u.pathname);
    if (!m) throw invalid('query', 'is not a course URL (expected …/courses/<id>)');
    return { kind: 'canvas_id', id: m[1]! };
  }
  throw invalid('query', 'is not a course id, sis_course_id:…, sis_integration_id:… or course URL');
}

export type LookupOutcome =
  | { found: true; course: CourseView; sections: SectionView[]; explanations: Array<{ reason: CourseReason; title: string; remedy: string }> }
  | { found: false; query: string; reason: 'deleted_or_missing'; title: string; remedy: string };

/**
 * The specific course refresh: fetches one course and its sections now (2–3
 * requests), stores them with `syncable`/`reasons`, and explains why it is not syncable —
 * unpublished, no id of the chosen type, SIS ids hidden, not in this integration's account — or
 * that Canvas has no such course (deleted courses answer 404).
 * @throws AppError for a bad query or unknown integration; CanvasApiError for other Canvas failures.
 */
export function createCourseLookup(deps: SyncDeps) {
  const clock = deps.clock ?? (() => new Date());
  return async function lookupCourse(integrationId: string, query: string): Promise<LookupOutcome> {
    const settings = await deps.courses.getSettings(integrationId);
    if (!settings) throw new AppError('not_found', 'No such integration.');
    const ref = parseCourseQuery(query, settings.canvasUrl);
    const client = deps.clientFor(settings);
    const auth = deps.tokenSourceFor(integrationId);
    const idParam = ref.kind === 'canvas_id' ? ref.id : `${ref.kind}:${ref.id}`;
    // Stamped before Canvas is asked: rows read later (a refresh's next page) are newer than these.
    const t = clock().toISOString();
    let json: Record<string, unknown>;
    try {
      json = (await client.request<Record<string, unknown>>({ endpoint: 'courses.get', path: { id: idParam }, query: { 'include[]': ['term', 'account'] } }, auth)).body;
    } catch (err) {
      if ((err as { kind?: string }).kind !== 'not_found') throw err;
      // Deleted courses answer 404 too: if we knew it, record that it is gone.
      if (ref.kind === 'canvas_id') {
        const known = await deps.courses.getCourse(integrationId, ref.id);
        if (known) {
          await deps.courses.upsertCourses(
            [
              courseRow(
                integrationId,
                {
                  canvasId: known.canvasId,
                  name: known.name,
                  courseCode: known.courseCode,
                  sisCourseId: known.sisCourseId,
                  integrationId: known.integrationId,
                  workflowState: 'deleted',
                  accountId: known.accountId,
                  term: known.term,
                  startAt: known.startAt,
                  endAt: known.endAt,
                  department: known.department,
                },
                settings.courseIdType,
                null,
                t,
              ),
            ],
            { keepRefreshJob: true },
          );
          await deps.courses.replaceSections(integrationId, [known.canvasId], [], t);
          return withExplanations(await deps.courses.getCourse(integrationId, ref.id), []);
        }
      }
      return {
        found: false,
        query,
        reason: 'deleted_or_missing',
        title: 'Canvas has no such course, or it was deleted',
        remedy: 'Check the id (Canvas ids are the number in the course URL). A deleted course can be restored in Canvas under Admin > Restore Courses.',
      };
    }
    const facts = courseFactsFromJson(json);
    const inAccount = await isInAccount(json, facts.canvasId);
    const row = courseRow(integrationId, facts, settings.courseIdType, null, t);
    if (!inAccount) {
      const reasons = [...(JSON.parse(row.reasons) as CourseReason[]), 'not_in_account' as const];
      row.reasons = JSON.stringify(reasons);
      row.syncable = 0;
    }
    await deps.courses.upsertCourses([row], { keepRefreshJob: true });
    // As in a full refresh, sections are recorded only for a course that can be synced.
    const sections = row.syncable === 1 ? await fetchSections(client, auth, facts.canvasId) : [];
    await deps.courses.replaceSections(
      integrationId,
      [facts.canvasId],
      sections.map((s) => sectionRow(integrationId, s, settings.courseIdType, t)),
      t,
    );
    return withExplanations(await deps.courses.getCourse(integrationId, facts.canvasId), await deps.courses.getSections(integrationId, facts.canvasId));

    async function isInAccount(course: Record<string, unknown>, canvasId: string): Promise<boolean> {
      const account = settings!.accountId || 'self';
      // `self` is the domain's root account: every course this Canvas returns is under it.
      if (account === 'self') return true;
      if (course.account_id !== undefined && String(course.account_id) === account) return true;
      // Sub-accounts: the account course list's search matches the exact id (min 3 chars).
      if (canvasId.length < 3) return false;
      const res = await client.request<Array<Record<string, unknown>>>(
        { endpoint: 'accounts.courses', path: { account_id: account }, query: { search_term: canvasId, 'state[]': ['all'], per_page: 100 } },
        auth,
      );
      return Array.isArray(res.body) && res.body.some((c) => String(c.id) === canvasId);
    }
  };

  function withExplanations(course: CourseView | undefined, sections: SectionView[]): LookupOutcome {
    if (!course) throw new AppError('internal', 'The course could not be stored.', { expose: false });
    return {
      found: true,
      course,
      sections,
      explanations: course.reasons.map((r) => ({ reason: r, ...COURSE_REASON_HELP[r] })),
    };
  }
}

export type CourseLookup = ReturnType<typeof createCourseLookup>;
