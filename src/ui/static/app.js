// WAREST dashboard: live updates over the gateway's event stream (EventSource on
// /ui/stream), confirmations, and small conveniences. The pages work without it: every
// action is a plain form post; this file only keeps an open page current.
(function () {
  'use strict';

  var body = document.body;
  var page = body.getAttribute('data-page');
  var ORDER = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4, played: 5 };

  // --- Confirmations: a form with data-confirm asks first, then says so to the server
  // (which asks itself when this script does not run).
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var question = form.getAttribute && form.getAttribute('data-confirm');
    if (!question) return;
    if (!window.confirm(question)) { ev.preventDefault(); return; }
    var c = form.querySelector('input[name="confirm"]');
    if (c) c.value = 'yes';
  });

  // --- The field a refused form named gets marked and focused.
  var flash = document.querySelector('.flash.error[data-field]');
  if (flash) {
    var field = flash.getAttribute('data-field');
    if (field) {
      var input = document.querySelector('[name="' + CSS.escape(field) + '"]');
      if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
    }
  }

  // --- Filtering a table as one types (the server filters too, on submit).
  Array.prototype.forEach.call(document.querySelectorAll('input[data-filter]'), function (input) {
    var table = document.querySelector(input.getAttribute('data-filter'));
    if (!table) return;
    input.addEventListener('input', function () {
      var needle = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.querySelectorAll('tbody tr'), function (tr) {
        var hay = (tr.getAttribute('data-search') || tr.textContent).toLowerCase();
        tr.hidden = needle !== '' && hay.indexOf(needle) === -1;
      });
    });
  });

  if (page !== 'sessions' && page !== 'session' && page !== 'events') return;

  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }
  function attr(name, value) { return '[' + name + '="' + CSS.escape(value) + '"]'; }

  // --- Session status: badges, counts, last error, the QR and the "linked" note.
  function setStatus(id, status, lastError) {
    each(attr('data-status-of', id), function (el) {
      el.textContent = status;
      el.className = el.className.replace(/\bst-[A-Z_]+\b/g, '').trim() + ' st-' + status;
    });
    if (lastError !== undefined) {
      each(attr('data-error-of', id), function (el) {
        var prefix = page === 'session' && lastError ? 'Last error: ' : '';
        el.textContent = lastError ? prefix + lastError : '';
      });
    }
    recount();
    if (page === 'session' && body.getAttribute('data-session') === id) showLink(status);
  }

  function recount() {
    var counts = {}, total = 0;
    each('[data-session-row] [data-status-of]', function (el) {
      counts[el.textContent] = (counts[el.textContent] || 0) + 1; total++;
    });
    if (!document.querySelector('[data-session-row]')) return;
    each('[data-count]', function (el) {
      var k = el.getAttribute('data-count');
      el.textContent = k === 'ALL' ? total : (counts[k] || 0);
    });
  }

  var qrBox = document.getElementById('qr-box');
  var qrImg = document.getElementById('qr-img');
  function refreshQr() {
    if (!qrImg) return;
    qrImg.src = qrImg.getAttribute('data-src') + '?t=' + Date.now();
  }
  if (qrImg) {
    qrImg.addEventListener('error', function () { qrBox.classList.add('hidden'); });
    qrImg.addEventListener('load', function () {
      if (currentStatus() === 'SCAN_QR_CODE') qrBox.classList.remove('hidden');
    });
  }
  function currentStatus() {
    var el = document.querySelector('[data-testid="status"]');
    return el ? el.textContent : '';
  }
  function showLink(status) {
    var note = document.getElementById('linked-note');
    if (note) note.classList.toggle('hidden', status !== 'WORKING');
    var actions = document.getElementById('link-actions');
    if (actions) actions.classList.toggle('hidden', status === 'WORKING');
    if (!qrBox) return;
    if (status === 'SCAN_QR_CODE') { refreshQr(); } else { qrBox.classList.add('hidden'); }
    if (status === 'WORKING') {
      var pair = document.getElementById('pair-live');
      if (pair) pair.classList.add('hidden');
    }
  }

  // --- Message status: only moves forward (receipts can arrive out of order).
  function setMessageStatus(messageId, status) {
    each(attr('data-message-status', messageId), function (el) {
      var cur = el.textContent;
      if (status === 'failed' || status === 'error' || (ORDER[status] || 0) > (ORDER[cur] === undefined ? -1 : ORDER[cur])) {
        el.textContent = status;
        el.className = el.className.replace(/\bmsg-[a-z]+\b/g, '').trim() + ' msg-' + status;
      }
    });
  }

  // --- The event log (session page) and the monitor (events page).
  var log = document.getElementById('event-log');
  var monitor = document.getElementById('monitor');
  var paused = document.getElementById('mon-pause');
  var clear = document.getElementById('mon-clear');
  if (clear) clear.addEventListener('click', function () { monitor.textContent = ''; });
  var MAX_ROWS = 200;

  function summary(ev) {
    var d = ev.data || {};
    if (ev.event === 'session_status') return d.tags + ' → ' + d.status + (d.reason ? ' (' + d.reason + ')' : '');
    if (ev.event === 'message_ack') return d.ack + ' ' + (d.messageIds || []).join(', ');
    if (d.message && d.message.text) return d.message.text;
    return JSON.stringify(d).slice(0, 200);
  }

  function record(name, ev) {
    var when = new Date(ev.ts || Date.now()).toLocaleTimeString();
    var sessionId = ev.session ? ev.session.id : '';
    if (log) {
      var li = document.createElement('li');
      li.textContent = when + ' · ' + name + ' · ' + summary(ev);
      log.insertBefore(li, log.firstChild);
      while (log.children.length > 50) log.removeChild(log.lastChild);
    }
    if (monitor && !(paused && paused.checked)) {
      var tr = document.createElement('tr');
      [when, sessionId, name, summary(ev)].forEach(function (text, i) {
        var td = document.createElement('td');
        td.textContent = text;
        if (i === 3) { td.className = 'mono wrap'; td.title = JSON.stringify(ev.data); }
        tr.appendChild(td);
      });
      monitor.insertBefore(tr, monitor.firstChild);
      while (monitor.children.length > MAX_ROWS) monitor.removeChild(monitor.lastChild);
    }
  }

  function onEvent(name, raw) {
    var ev;
    try { ev = JSON.parse(raw); } catch (e) { return; }
    var d = ev.data || {};
    var sessionId = ev.session ? ev.session.id : d.sessionId;
    if (name === 'session_status' && sessionId) {
      setStatus(sessionId, d.status, d.status === 'FAILED' ? (d.reason || '') : (d.status === 'WORKING' ? '' : undefined));
      if (d.pairingCode) {
        var p = document.getElementById('pair-live');
        if (p) { p.querySelector('[data-pair-code]').textContent = d.pairingCode; p.classList.remove('hidden'); }
      }
      if (d.me && d.me.id) {
        each('[data-me="id"]', function (el) { el.textContent = d.me.id; });
        each('[data-me="phone"]', function (el) { el.textContent = d.me.id.split(/[@:]/)[0]; });
        if (d.me.pushName) each('[data-me="name"]', function (el) { el.textContent = d.me.pushName; });
      }
    }
    if (name === 'message_ack') (d.messageIds || []).forEach(function (m) { setMessageStatus(m, d.ack); });
    record(name, ev);
  }

  // Catch up after (re)connecting: what changed while no stream was open.
  function catchUp() {
    fetch('/ui/sessions.json', { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (env) {
        if (!env || !env.results) return;
        (env.results[0].items || []).forEach(function (s) { setStatus(s.sessionId, s.status, s.lastError || ''); });
      })
      .catch(function () {});
    each('[data-message-status]', function (el) {
      var id = el.getAttribute('data-message-status');
      fetch('/ui/messages/' + encodeURIComponent(id), { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (env) { if (env && env.results) setMessageStatus(id, env.results[0].status); })
        .catch(function () {});
    });
  }

  var params = [];
  var only = body.getAttribute('data-session') || body.getAttribute('data-filter-session');
  var evFilter = body.getAttribute('data-filter-event');
  if (only) params.push('sessionId=' + encodeURIComponent(only));
  if (evFilter) params.push('event=' + encodeURIComponent(evFilter));
  var url = '/ui/stream' + (params.length ? '?' + params.join('&') : '');
  var state = document.querySelectorAll('[data-stream-state]');
  function say(text) { Array.prototype.forEach.call(state, function (el) { el.textContent = text; }); }

  var NAMES = ['session_status', 'message_received', 'message_reaction', 'message_command', 'message_edited',
    'message_revoked', 'message_ack', 'group_participants', 'group_join', 'group_leave', 'group_update',
    'presence_update', 'creds_update', 'call'];
  var source = new EventSource(url);
  source.addEventListener('open', function () {
    say('Live: connected to the event stream.');
    body.setAttribute('data-stream', 'open');
    if (page !== 'events') catchUp();
  });
  source.addEventListener('error', function () {
    // A refused stream (signed out: 401) is closed for good; a dropped one comes back
    // by itself and resumes after the last event it saw (Last-Event-ID).
    var closed = source.readyState === EventSource.CLOSED;
    say(closed ? 'Event stream closed; reload the page (signed out?).' : 'Event stream interrupted; reconnecting…');
    body.setAttribute('data-stream', closed ? 'closed' : 'reconnecting');
  });
  NAMES.forEach(function (name) {
    source.addEventListener(name, function (e) { onEvent(name, e.data); });
  });
})();
