import { escapeHtml, type SimResponse } from './http-kit.js';
import type { SandboxState } from './sandbox-state.js';
import type { Course, Enrollment, EnrollmentType } from './world.js';

/**
 * The sandbox's demo page (`GET /__sandbox/`): pick a course and change its world with buttons
 * (add, drop, conclude, move, change a role, rename, unpublish), so a person demoing can show
 * changes flowing from "Canvas" to the service. Every button is a `POST /__sandbox/<control>` made
 * by `/__sandbox/demo.js`; the page itself holds no script (its CSP allows only that file).
 * This is a fake Canvas on loopback: the page has no login, like the rest of `/__sandbox/`.
 */

/** Courses offered in the picker (the demo world has thousands; any other id can be typed). */
const PICKER_LIMIT = 200;

const ENROLLMENT_TYPES: readonly EnrollmentType[] = ['StudentEnrollment', 'TeacherEnrollment', 'TaEnrollment', 'DesignerEnrollment', 'ObserverEnrollment'];

/** Strict: the page's own script and style files only, no inline code, nothing framed, posts only to itself. */
export const DEMO_PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const pageHeaders = (type: string): Record<string, string> => ({
  'Content-Type': type,
  'Content-Security-Policy': DEMO_PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
});

/** Answers the demo page and its two assets; `undefined` for any other `/__sandbox/` path (a control method). */
export function demoPageResponse(method: string, path: string, query: URLSearchParams, state: SandboxState): SimResponse | undefined {
  if (method !== 'GET') return undefined;
  if (path === '/__sandbox' || path === '/__sandbox/') return renderPage(state, query.get('course')?.trim() ?? '');
  if (path === '/__sandbox/demo.js') return { status: 200, headers: pageHeaders('text/javascript; charset=utf-8'), body: DEMO_JS };
  if (path === '/__sandbox/demo.css') return { status: 200, headers: pageHeaders('text/css; charset=utf-8'), body: DEMO_CSS };
  return undefined;
}

const attr = (v: unknown) => escapeHtml(typeof v === 'string' ? v : JSON.stringify(v));

function courseState(c: Course): string {
  return c.workflowState === 'available' ? 'published' : c.workflowState === 'created' || c.workflowState === 'claimed' ? `unpublished (${c.workflowState})` : c.workflowState;
}

/** What a row's "before" is: the fields a button may change, for the page's "what changed" line. */
const enrollmentBefore = (e: Enrollment) => ({ id: e.id, state: e.state, sectionId: e.sectionId, type: e.type, role: e.role });

function renderPage(state: SandboxState, courseId: string): SimResponse {
  const world = state.world;
  const course = courseId ? world.courses.find((c) => c.id === courseId) : undefined;
  const options = [...world.courses]
    .sort((a, b) => Number(a.id) - Number(b.id))
    .slice(0, PICKER_LIMIT)
    .map((c) => `<option value="${attr(c.id)}"${c.id === courseId ? ' selected' : ''}>${escapeHtml(`${c.id} — ${c.name} (${courseState(c)})`)}</option>`)
    .join('');
  const picker = `<form method="get" action="/__sandbox/" class="picker">
  <label for="course">Course</label>
  <select id="course" name="course"><option value="">Pick a course…</option>${options}</select>
  <button type="submit" id="show-course">Show</button>
</form>`;
  let body: string;
  let status = 200;
  if (!courseId) body = '<p>Pick a course to change its roster or the course itself.</p>';
  else if (!course) {
    status = 404;
    body = `<p class="error" id="not-found">No course ${escapeHtml(courseId)} in this sandbox.</p>`;
  } else body = renderCourse(state, course);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Canvas sandbox — change the world</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/__sandbox/demo.css"><script src="/__sandbox/demo.js" defer></script></head>
<body>
<header><h1>Canvas sandbox: change the world</h1>
<p>This is the fake Canvas of the demo. Change something here, then press <strong>Sync now</strong> on the service's sync list to see it arrive as a change.</p></header>
${picker}
<div id="what-changed" role="status" aria-live="polite" hidden></div>
${body}
</body></html>
`;
  return { status, headers: pageHeaders('text/html; charset=utf-8'), body: html };
}

function renderCourse(state: SandboxState, course: Course): string {
  const world = state.world;
  const sections = world.sections.filter((s) => s.courseId === course.id && !s.deleted);
  const sectionName = (id: string) => world.sections.find((s) => s.id === id)?.name ?? id;
  const sectionOptions = (selected?: string) => sections.map((s) => `<option value="${attr(s.id)}"${s.id === selected ? ' selected' : ''}>${escapeHtml(s.name)}</option>`).join('');
  const courseBefore = { id: course.id, name: course.name, workflowState: course.workflowState };
  const published = course.workflowState === 'available';
  // Pre-filled so the new student has an ID the service can use (the next user id, as addUser picks it).
  const nextUserId = world.users.reduce((m, u) => Math.max(m, Number(u.id) || 0), 0) + 1;
  const rows = world.enrollments
    .filter((e) => e.courseId === course.id)
    .map((e) => {
      const u = state.user(e.userId);
      const live = e.state !== 'deleted';
      const before = attr(enrollmentBefore(e));
      const ref = attr({ enrollmentId: e.id });
      const typeOptions = ENROLLMENT_TYPES.map((t) => `<option value="${t}"${t === e.type ? ' selected' : ''}>${t.replace('Enrollment', '')}</option>`).join('');
      const actions = live
        ? `<button type="button" data-control="dropEnrollment" data-args="${ref}" data-before="${before}" data-label="Drop ${attr(u?.name ?? e.userId)}">Drop</button>
<button type="button" data-control="concludeEnrollment" data-args="${ref}" data-before="${before}" data-label="Conclude ${attr(u?.name ?? e.userId)}"${e.state === 'completed' ? ' disabled' : ''}>Conclude</button>
<span class="inline"><select aria-label="Section for ${attr(u?.name ?? e.userId)}" id="move-${attr(e.id)}">${sectionOptions(e.sectionId)}</select>
<button type="button" data-control="moveEnrollment" data-args="${ref}" data-field-sectionid="move-${attr(e.id)}" data-before="${before}" data-label="Move ${attr(u?.name ?? e.userId)}">Move</button></span>
<span class="inline"><select aria-label="Role for ${attr(u?.name ?? e.userId)}" id="role-${attr(e.id)}">${typeOptions}</select>
<button type="button" data-control="changeRole" data-args="${ref}" data-field-type="role-${attr(e.id)}" data-before="${before}" data-label="Change the role of ${attr(u?.name ?? e.userId)}">Set role</button></span>`
        : '<span class="muted">dropped</span>';
      return `<tr data-enrollment="${attr(e.id)}" data-user="${attr(e.userId)}"><td>${escapeHtml(u?.name ?? e.userId)}</td><td>${escapeHtml(u?.loginId ?? '')}</td><td>${escapeHtml(u?.sisUserId ?? '')}</td><td>${escapeHtml(e.role)}</td><td>${escapeHtml(sectionName(e.sectionId))}</td><td class="state">${escapeHtml(e.state)}</td><td class="actions">${actions}</td></tr>`;
    })
    .join('\n');
  return `<section id="course-facts" data-course="${attr(course.id)}">
<h2>${escapeHtml(course.name)}</h2>
<p>Course ${escapeHtml(course.id)} · SIS id ${escapeHtml(course.sisCourseId ?? '(none)')} · <span id="course-state">${escapeHtml(courseState(course))}</span> · ${sections.length} ${sections.length === 1 ? 'section' : 'sections'}</p>
<div class="course-actions">
  <span class="inline"><label for="course-name">Name</label> <input id="course-name" value="${attr(course.name)}" size="40">
  <button type="button" id="rename" data-control="updateCourse" data-args="${attr({ courseId: course.id })}" data-field-name="course-name" data-before="${attr(courseBefore)}" data-label="Rename the course">Rename</button></span>
  <button type="button" id="publish" data-control="updateCourse" data-args="${attr({ courseId: course.id, published: !published })}" data-before="${attr(courseBefore)}" data-label="${published ? 'Unpublish' : 'Publish'} the course">${published ? 'Unpublish' : 'Publish'}</button>
</div>
<h3>Add a student</h3>
<div class="add-student">
  <label for="new-name">Name</label> <input id="new-name" value="Sam Newstudent">
  <label for="new-sis">SIS user id</label> <input id="new-sis" value="${attr(`S-NEW-${nextUserId}`)}" title="Without one, a service that identifies people by SIS id skips the person">
  <label for="new-section">Section</label> <select id="new-section">${sectionOptions()}</select>
  <button type="button" id="add-student" data-control="addStudent" data-args="${attr({ courseId: course.id })}" data-label="Add a student">Add student</button>
</div>
</section>
<h3>Enrollments</h3>
<table id="enrollments"><thead><tr><th>Name</th><th>Login</th><th>SIS user id</th><th>Role</th><th>Section</th><th>State</th><th>Change</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

const DEMO_CSS = `body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.3rem .4rem;text-align:left;vertical-align:top}
.inline{white-space:nowrap}.muted{color:#777}.error{color:#a00}button{margin:.1rem}
#what-changed{background:#eef7ee;border:1px solid #7a7;padding:.6rem;margin:1rem 0;white-space:pre-wrap}
#what-changed.failed{background:#fbeaea;border-color:#c77}.picker,.course-actions,.add-student{margin:.6rem 0}
`;

/**
 * The page's script: each `data-control` button POSTs its JSON arguments (plus `data-field-<arg>`
 * inputs) to `/__sandbox/<control>`, keeps a "what changed" line (the fields whose value moved,
 * from `data-before` to the control's answer) across a reload, and reloads to show the new world.
 * `addStudent` is two controls (addUser, then enroll); `changeRole` is updateEnrollment with the
 * role set to the chosen type.
 */
const DEMO_JS = `'use strict';
(function () {
  var KEY = 'sandbox-what-changed';
  function show(text, failed) {
    var box = document.getElementById('what-changed');
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    box.className = failed ? 'failed' : '';
  }
  function call(method, args) {
    return fetch('/__sandbox/' + method, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(args) })
      .then(function (res) { return res.json().then(function (body) { if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status)); return body.result; }); });
  }
  function diff(before, after) {
    var lines = [];
    Object.keys(before).forEach(function (k) {
      if (k !== 'id' && after && String(after[k]) !== String(before[k])) lines.push('  ' + k + ': ' + before[k] + ' → ' + after[k]);
    });
    return lines.length ? lines.join('\\n') : '  (nothing changed)';
  }
  function run(button) {
    var method = button.getAttribute('data-control');
    var args = JSON.parse(button.getAttribute('data-args') || '{}');
    Array.prototype.forEach.call(button.attributes, function (a) {
      if (a.name.indexOf('data-field-') === 0) {
        var field = a.name.slice('data-field-'.length).replace('sectionid', 'sectionId');
        args[field] = document.getElementById(a.value).value;
      }
    });
    var before = JSON.parse(button.getAttribute('data-before') || '{}');
    var label = button.getAttribute('data-label') || method;
    var done;
    if (method === 'addStudent') {
      var name = document.getElementById('new-name').value.trim();
      var sis = document.getElementById('new-sis').value.trim();
      var user = { name: name || 'New Student' };
      if (sis) user.sisUserId = sis;
      done = call('addUser', user).then(function (u) {
        return call('enroll', { userId: u.id, courseId: args.courseId, sectionId: document.getElementById('new-section').value }).then(function (e) {
          return label + ': ' + u.name + ' (user ' + u.id + ', login ' + u.loginId + (u.sisUserId ? ', SIS ' + u.sisUserId : ', no SIS id') + ') enrolled as ' + e.type + ', ' + e.state + ' (enrollment ' + e.id + ')';
        });
      });
    } else if (method === 'changeRole') {
      done = call('updateEnrollment', { enrollmentId: args.enrollmentId, type: args.type, role: args.type }).then(function (r) { return label + ' (enrollment ' + r.id + '):\\n' + diff(before, r); });
    } else {
      done = call(method, args).then(function (r) { return label + (r && r.id ? ' (' + (method === 'updateCourse' ? 'course ' : 'enrollment ') + r.id + ')' : '') + ':\\n' + diff(before, r); });
    }
    button.disabled = true;
    done.then(function (text) {
      sessionStorage.setItem(KEY, text + '\\nNow press Sync now on the service to see it as a change.');
      location.reload();
    }, function (err) {
      button.disabled = false;
      show(label + ' failed: ' + err.message, true);
    });
  }
  document.addEventListener('DOMContentLoaded', function () {
    var last = sessionStorage.getItem(KEY);
    if (last) { sessionStorage.removeItem(KEY); show(last, false); }
    var picker = document.getElementById('course');
    if (picker) picker.addEventListener('change', function () { if (picker.value) picker.form.submit(); });
    document.addEventListener('click', function (ev) {
      var b = ev.target.closest && ev.target.closest('button[data-control]');
      if (b) { ev.preventDefault(); run(b); }
    });
  });
})();
`;
