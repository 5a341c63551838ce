// Live job progress (courses pages, job pages): polls the job's JSON every second, updates the badge, the bar,
// the labelled count (progress.label: the same words and units as the CLI) and the ETA; for a
// roster sync of several courses also the course in hand, the failures so far and each course's row. When the
// job has ended it removes the Cancel form, says how it ended, and reloads the page so the results
// show in place of the widget.
(function () {
  'use strict';
  var box = document.getElementById('job-progress');
  if (!box) return;
  var url = box.getAttribute('data-poll-url');
  var bar = document.getElementById('job-bar');
  var state = document.getElementById('job-state');
  var phase = document.getElementById('job-phase');
  var eta = document.getElementById('job-eta');
  var BADGE = { succeeded: 'verified', failed: 'failed', running: 'pending', queued: 'pending', cancelled: 'not_connected' };

  function fmt(s) {
    if (s === null || s === undefined) return 'estimating time left…';
    if (s < 90) return 'about ' + s + ' s left';
    return 'about ' + Math.round(s / 60) + ' min left';
  }

  function render(job) {
    var p = job.progress;
    var open = job.state === 'queued' || job.state === 'running';
    state.textContent = job.state;
    state.className = 'badge badge--' + (BADGE[job.state] || 'pending');
    phase.textContent = p.label;
    if (job.state === 'succeeded') {
      bar.max = 1;
      bar.value = 1;
    } else if (p.total !== null && p.total > 0) {
      bar.max = p.total;
      bar.value = Math.min(p.done, p.total);
    } else if (open) {
      bar.removeAttribute('value');
    }
    bar.textContent = p.label;
    renderBatch(job);
    eta.textContent = open ? fmt(job.etaSeconds) : job.state === 'succeeded' ? 'loading the results…' : 'reloading…';
    if (!open) {
      var cancel = document.getElementById('job-cancel-form');
      if (cancel) cancel.remove();
      // The page's own lines about this job (e.g. "first refresh running") are out of date now.
      var stale = document.querySelectorAll('[data-while-job-runs]');
      for (var i = 0; i < stale.length; i++) stale[i].remove();
    }
  }

  // A roster sync of several courses: the course in hand, the failures so far, and each course's
  // row of the job page's table (outcome badge and text), from the JSON's progress and courses.
  var BATCH_BADGE = { synced: ['verified', 'synced'], waiting: ['pending', 'waiting'], not_synced: ['failed', 'not synced'] };
  function renderBatch(job) {
    var line = document.getElementById('job-batch');
    if (line && job.progress.batch !== undefined) {
      line.textContent = job.progress.batch || '';
      if (job.progress.current) line.setAttribute('data-current', job.progress.current.canvasId);
      else line.removeAttribute('data-current');
      line.setAttribute('data-not-synced', String(job.progress.notSynced || 0));
    }
    var courses = job.courses || [];
    for (var i = 0; i < courses.length; i++) {
      var c = courses[i];
      var row = document.querySelector('#job-courses tr[data-canvas-id="' + CSS.escape(c.canvasId) + '"]');
      if (!row) continue;
      row.setAttribute('data-outcome', c.outcome);
      var cell = row.querySelector('[data-cell="status"]');
      if (!cell) continue;
      var look = BATCH_BADGE[c.outcome] || BATCH_BADGE.waiting;
      var badge = document.createElement('span');
      badge.className = 'badge badge--' + look[0];
      badge.textContent = look[1];
      cell.replaceChildren(badge, document.createTextNode(' ' + c.text));
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (job) {
        render(job);
        if (job.state === 'queued' || job.state === 'running') setTimeout(poll, 1000);
        else setTimeout(function () { window.location.reload(); }, 600);
      })
      .catch(function () {
        setTimeout(poll, 3000);
      });
  }
  setTimeout(poll, 500);
})();
