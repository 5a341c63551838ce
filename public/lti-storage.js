// LTI Platform Storage (the LTI client-side postMessage API), for launches inside Canvas's iframe
// where the browser blocks third-party cookies. Loaded by views/lti/storage.eta; no inline scripts
// (CSP). The page's data-config says what to do:
// - login: store the state and nonce in Canvas's storage frame, then open the authorization request
//   (or, when Canvas does not answer, the same login on the cookie path);
// - launch: read them back and post the id_token again with what was read.
// Messages go only to the storage frame's origin (Canvas's OIDC origin); answers are accepted only
// from that origin, or from Canvas's own origin for the window.parent fallback.
(function () {
  'use strict';
  var root = document.getElementById('lti-storage');
  if (!root) return;
  var cfg = JSON.parse(root.getAttribute('data-config') || '{}');
  var TIMEOUT_MS = 2500;
  var seq = 0;

  // `resendMs`: post the same message again at this interval until it is answered. A message
  // posted while Canvas's storage frame is still loading reaches its blank first document and is
  // lost; the frame and the tool load side by side, so the first question may come too early.
  // Only for questions that are safe to ask twice (capabilities).
  function send(channel, message, resendMs) {
    return new Promise(function (resolve, reject) {
      var id = 'cc-' + Date.now().toString(36) + '-' + (++seq);
      var expected = message.subject + '.response';
      var out = { message_id: id };
      for (var k in message) out[k] = message[k];
      var again = null;
      function stop() {
        clearTimeout(timer);
        if (again) clearInterval(again);
        window.removeEventListener('message', onMessage);
      }
      var timer = setTimeout(function () {
        stop();
        reject(new Error('timeout'));
      }, TIMEOUT_MS);
      function onMessage(event) {
        if (event.origin !== channel.accept) return;
        var d = event.data;
        if (!d || typeof d !== 'object' || d.message_id !== id || d.subject !== expected) return;
        stop();
        if (d.error) reject(new Error(String(d.error.code || 'error')));
        else resolve(d);
      }
      function post() {
        try {
          channel.target.postMessage(out, channel.origin);
        } catch (e) {
          stop();
          reject(e);
        }
      }
      window.addEventListener('message', onMessage);
      post();
      if (resendMs) again = setInterval(post, resendMs);
    });
  }

  function supportsPut(caps) {
    var list = (caps && caps.supported_messages) || [];
    for (var i = 0; i < list.length; i++) if (list[i] && list[i].subject === 'lti.put_data') return true;
    return false;
  }

  function namedFrame() {
    try {
      if (window.parent === window) return null;
      return window.parent.frames[cfg.frame] || null;
    } catch (e) {
      return null;
    }
  }

  // Canvas's storage frame first; the parent window (origin '*', answers from Canvas's origin) as
  // the documented fallback where the frame is missing or silent.
  function openChannel() {
    var candidates = [];
    var frame = cfg.frame === '_parent' ? null : namedFrame();
    if (frame && cfg.frameOrigin) candidates.push({ target: frame, origin: cfg.frameOrigin, accept: cfg.frameOrigin });
    if (window.parent !== window && cfg.parentOrigin) candidates.push({ target: window.parent, origin: '*', accept: cfg.parentOrigin });
    var i = 0;
    function next() {
      var c = candidates[i++];
      if (!c) return Promise.reject(new Error('no_storage'));
      return send(c, { subject: 'lti.capabilities' }, 200).then(function (caps) {
        return supportsPut(caps) ? c : next();
      }, next);
    }
    return next();
  }

  var stateKey = 'state-' + cfg.state;
  var nonceKey = 'nonce-' + cfg.nonce;

  function status(text) {
    var el = document.getElementById('lti-storage-status');
    if (el) el.textContent = text;
  }

  if (cfg.mode === 'login') {
    openChannel()
      .then(function (ch) {
        return send(ch, { subject: 'lti.put_data', key: stateKey, value: cfg.state }).then(function () {
          return send(ch, { subject: 'lti.put_data', key: nonceKey, value: cfg.nonce });
        });
      })
      .then(
        function () {
          status('Signing in with Canvas…');
          window.location.replace(cfg.next);
        },
        function () {
          status('Canvas did not answer; signing in with a cookie instead…');
          window.location.replace(cfg.fallback);
        },
      );
    return;
  }

  if (cfg.mode === 'launch') {
    var form = document.getElementById('lti-storage-form');
    if (!form) return;
    var add = function (name, value) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value == null ? '' : String(value);
      form.appendChild(input);
    };
    openChannel()
      .then(function (ch) {
        return send(ch, { subject: 'lti.get_data', key: stateKey }).then(function (s) {
          return send(ch, { subject: 'lti.get_data', key: nonceKey }).then(function (n) {
            add('cc_storage_state', s.value);
            add('cc_storage_nonce', n.value);
            // Single use in the browser too: the values go once they are read.
            return Promise.all([
              send(ch, { subject: 'lti.put_data', key: stateKey, value: null }),
              send(ch, { subject: 'lti.put_data', key: nonceKey, value: null }),
            ]).catch(function () {});
          });
        });
      })
      .then(
        function () {
          form.submit();
        },
        function (err) {
          add('cc_storage_error', (err && err.message) || 'error');
          form.submit();
        },
      );
  }
})();
