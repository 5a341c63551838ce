// Live job progress (courses pages): polls the job's JSON every second, updates the bar, the
// count and the ETA, and reloads the page once the job has ended so the results show.
(function () {
  'use strict';
  var box = document.getElementById('job-progress');
  if (!box) return;
  var url = box.getAttribute('data-poll-url');
  var bar = document.getElementById('job-bar');
  var state = document.getElementById('job-state');
  var phase = document.getElementById('job-phase');
  var count = document.getElementById('job-count');
  var eta = document.getElementById('job-eta');
  var BADGE = { succeeded: 'verified', failed: 'failed', running: 'pending', queued: 'pending', cancelled: 'not_connected' };

  function fmt(s) {
    if (s === null || s === undefined) return 'estimating time left…';
    if (s < 90) return 'about ' + s + ' s left';
    return 'about ' + Math.round(s / 60) + ' min left';
  }

  function render(job) {
    var p = job.progress;
    state.textContent = job.state;
    state.className = 'badge badge--' + (BADGE[job.state] || 'pending');
    var open = job.state === 'queued' || job.state === 'running';
    phase.textContent = p.phase === job.state ? '' : p.phase;
    if (p.total !== null && p.total > 0) {
      bar.max = p.total;
      bar.value = Math.min(p.done, p.total);
    } else {
      bar.removeAttribute('value');
    }
    bar.textContent = String(p.done);
    count.textContent = p.total !== null ? p.done + ' / ' + p.total : String(p.done);
    eta.textContent = open ? fmt(job.etaSeconds) : job.state === 'succeeded' ? 'done, loading the results…' : 'ended';
    var cancel = document.getElementById('job-cancel');
    if (cancel && !open) cancel.hidden = true;
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
