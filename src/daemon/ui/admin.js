/* qingdan pages: list updates (GET /ui/admin).
 *
 * The admin token lives in sessionStorage only (this tab, this session).
 * An upload is always dry-run first (PUT ?dry_run=true): the page shows the
 * diff or every validation error with its line/column or JSON path.  Confirm
 * stores it with If-Match: "<the version the dry run compared against>", so
 * a change made by someone else in between is refused (412) instead of being
 * overwritten.  Rollbacks are guarded the same way. */
(function () {
  'use strict';
  var QD = window.QD;
  var $ = QD.$, el = QD.el, t = QD.t;
  var TOKEN_KEY = 'qd.admin.token';

  var lists = [];        // GET /v1/lists
  var historyOf = null;  // list id whose history is shown
  var versions = null;   // its GET /v1/lists/{id}/versions reply
  var pending = null;    // a passed dry run: {file, type, target, previous, version, reply}
  var rollback = null;   // {list, v, current}
  var banner = null;     // {kind, key, vars} of the status banner, re-rendered on language change
  var tokenState = null; // {key, state}

  function token() { return QD.storedToken(TOKEN_KEY); }
  function setToken(v) { QD.storeToken(TOKEN_KEY, v); }

  /* ---- status messages ---- */

  function say(kind, key, vars) {
    banner = kind ? { kind: kind, key: key, vars: vars } : null;
    var b = $('admin-status');
    if (!banner) { b.hidden = true; b.textContent = ''; return; }
    b.hidden = false;
    b.className = 'banner banner-' + kind;
    b.setAttribute('data-kind', kind);
    b.textContent = key.indexOf(' ') >= 0 || !QD.has(key) ? key : t(key, vars);
  }
  function sayRaw(kind, text) { say(kind, text); }

  function showTokenState(key, state) {
    tokenState = key ? { key: key, state: state } : null;
    QD.tokenStatus($('token-status'), key, state);
  }

  /* Map an auth failure to a token message; true when it was one. */
  function authProblem(res) {
    if (res.status === 401) { showTokenState('ad.token.bad', 'bad'); say('error', 'ad.token.bad'); return true; }
    if (res.status === 403) {
      var code = res.json && res.json.error && res.json.error.code;
      var k = code === 'admin_disabled' ? 'ad.token.disabled' : 'ad.token.role';
      showTokenState(k, 'bad');
      say('error', k);
      return true;
    }
    return false;
  }

  function verifyToken() {
    var tok = token();
    if (!tok) { showTokenState('ad.token.none', 'empty'); return Promise.resolve(false); }
    return QD.api('GET', '/v1/audit?limit=1', { token: tok }).then(function (res) {
      if (res.ok) { showTokenState('ad.token.ok.anon', 'ok'); return true; }
      if (!authProblem(res)) sayRaw('error', QD.errorText(res));
      return false;
    }, function (e) {
      sayRaw('error', t('err.network', { message: e.message }));
      return false;
    });
  }

  /* ---- lists and history ---- */

  function loadLists() {
    return QD.api('GET', '/v1/lists', { token: token() || undefined }).then(function (res) {
      if (!res.ok || !res.json) { sayRaw('error', QD.errorText(res)); return; }
      lists = res.json.lists;
      renderLists();
    }, function (e) { sayRaw('error', t('err.network', { message: e.message })); });
  }

  function currentVersion(id) {
    for (var i = 0; i < lists.length; i++) if (lists[i].id === id) return lists[i].version;
    return null;
  }

  function renderLists() {
    var body = QD.clear($('lists-body'));
    if (!lists.length) {
      body.appendChild(el('tr', {}, el('td', { colspan: 7, class: 'muted', text: t('ad.lists.empty') })));
    }
    lists.forEach(function (l) {
      var td = function (key, content, cls) { return el('td', { 'data-label': t(key), class: cls }, content); };
      body.appendChild(el('tr', { 'data-list': l.id, 'data-version': l.version },
        td('ad.lists.id', el('code', { text: l.id })),
        td('ad.lists.name', QD.title(l.title, l.id)),
        td('ad.lists.kind', t('kind.' + l.kind)),
        td('ad.lists.version', String(l.version), 'c-version'),
        td('ad.lists.entries', String(l.entries)),
        td('ad.lists.loaded', QD.chinaTime(l.loaded_at)),
        td('ad.lists.history', el('button', {
          type: 'button', class: 'show-history', 'data-list': l.id,
          'aria-label': t('ad.lists.show') + ' ' + l.id, text: t('ad.lists.show')
        }))));
    });
    var sel = $('target'), keep = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    lists.forEach(function (l) {
      sel.appendChild(el('option', { value: l.id, text: l.id + ' — ' + QD.title(l.title, l.id) }));
    });
    sel.value = keep && currentVersion(keep) !== null ? keep : '';
  }

  function showHistory(id) {
    historyOf = id;
    hideRollback();
    return QD.api('GET', '/v1/lists/' + encodeURIComponent(id) + '/versions', { token: token() || undefined })
      .then(function (res) {
        if (!res.ok || !res.json) { sayRaw('error', QD.errorText(res)); return; }
        versions = res.json;
        renderHistory();
      }, function (e) { sayRaw('error', t('err.network', { message: e.message })); });
  }

  function renderHistory() {
    if (!versions) return;
    $('history-title').textContent = t('ad.history', { list: versions.list });
    $('history-hint').hidden = true;
    var body = QD.clear($('versions-body'));
    var vs = versions.versions.slice().sort(function (a, b) { return b.version - a.version; });
    vs.forEach(function (v) {
      var cur = v.version === versions.current;
      var td = function (key, content, cls) { return el('td', { 'data-label': key ? t(key) : null, class: cls }, content); };
      var act = cur
        ? el('span', { class: 'badge dec-allow', text: t('ad.h.current') })
        : el('button', {
          type: 'button', class: 'rollback', 'data-version': v.version,
          'aria-label': t('ad.rollback.label', { list: versions.list, v: v.version }), text: t('ad.rollback')
        });
      body.appendChild(el('tr', { 'data-version': v.version, class: cur ? 'current' : null },
        td('ad.h.version', String(v.version), 'c-version'),
        td('ad.h.time', QD.chinaTime(v.loaded_at)),
        td('ad.h.actor', v.actor || ''),
        td('ad.h.action', QD.has('action.' + v.action) ? t('action.' + v.action) : (v.action || '')),
        td('ad.h.entries', String(v.entries)),
        td('ad.h.source', v.source || '', 'c-source'),
        td(null, act)));
    });
    $('versions-table').hidden = false;
  }

  /* ---- rollback ---- */

  function hideRollback() {
    rollback = null;
    $('rollback-confirm').hidden = true;
  }
  function askRollback(v) {
    if (!versions) return;
    rollback = { list: versions.list, v: v, current: versions.current };
    $('rollback-text').textContent = t('ad.rollback.confirm', { v: v, next: versions.current + 1 });
    $('rollback-confirm').hidden = false;
    $('rollback-yes').focus();
  }
  function doRollback() {
    if (!rollback) return;
    if (!token()) { say('error', 'ad.needtoken'); $('token').focus(); return; }
    var rb = rollback;
    $('rollback-yes').disabled = true;
    QD.api('POST', '/v1/lists/' + encodeURIComponent(rb.list) + '/rollback',
      { token: token(), json: { version: rb.v }, ifMatch: rb.current })
      .then(function (res) {
        if (res.ok) {
          say('ok', 'ad.rollback.done', { list: rb.list, v: res.json.version, from: rb.v });
          return reload(rb.list);
        }
        if (res.status === 412) {
          return reload(rb.list).then(function () {
            say('conflict', 'ad.conflict.rb', { v: currentVersion(rb.list) });
          });
        }
        if (!authProblem(res)) sayRaw('error', QD.errorText(res));
      }, function (e) { sayRaw('error', t('err.network', { message: e.message })); })
      .then(function () {
        $('rollback-yes').disabled = false;
        hideRollback();
      });
  }

  function reload(id) {
    return loadLists().then(function () { if (id || historyOf) return showHistory(id || historyOf); });
  }

  /* ---- upload: dry run, then confirm ---- */

  function fileType(file, text, bytes) {
    var n = (file.name || '').toLowerCase();
    if (/\.xlsx$/.test(n) || QD.isZip(bytes)) return QD.XLSX;
    if (/\.csv$/.test(n)) return 'text/csv';
    if (/\.json$/.test(n)) return 'application/json';
    return /^\s*[{[]/.test(text) ? 'application/json' : 'text/csv';
  }

  function resetDry() {
    pending = null;
    $('dry-result').hidden = true;
    $('apply').hidden = true;
    $('cancel').hidden = true;
    $('problems').hidden = true;
    $('diff-table').hidden = true;
    $('diff-more').hidden = true;
  }

  /* Read the chosen file: its type, and the list it names (JSON). */
  function readChosen() {
    var f = $('upload-file').files && $('upload-file').files[0];
    if (!f) return Promise.resolve(null);
    return f.slice(0, 4 << 20).arrayBuffer().then(function (buf) {
      var bytes = new Uint8Array(buf);
      var type = fileType(f, QD.isZip(bytes) ? '' : QD.decodeText(bytes), bytes);
      var info = { file: f, type: type, list: null, jsonError: null };
      if (type === 'application/json') {
        return f.text().then(function (txt) {
          try {
            var d = JSON.parse(txt);
            if (d && typeof d.list === 'string') info.list = d.list;
          } catch (e) { info.jsonError = e.message; }
          return info;
        });
      }
      return info;
    });
  }

  function dryRun() {
    say(null);
    resetDry();
    if (!token()) { say('error', 'ad.needtoken'); $('token').focus(); return Promise.resolve(); }
    $('dry-busy').textContent = t('ad.dry.running');
    $('dry-run').disabled = true;
    return readChosen().then(function (info) {
      if (!info) { say('error', 'ad.nofile'); $('upload-file').focus(); return; }
      var target = $('target').value || info.list;
      if (!target) {
        if (info.jsonError) sayRaw('error', t('ad.badjsonfile', { message: info.jsonError }));
        else say('error', 'ad.notarget');
        $('target').focus();
        return;
      }
      return QD.api('PUT', '/v1/lists/' + encodeURIComponent(target) + '?dry_run=true',
        { token: token(), body: info.file, contentType: info.type })
        .then(function (res) { showDry(res, info, target); });
    }).catch(function (e) {
      sayRaw('error', t('err.network', { message: e.message }));
    }).then(function () {
      $('dry-busy').textContent = '';
      $('dry-run').disabled = false;
    });
  }

  function showDry(res, info, target) {
    if (authProblem(res)) return;
    var box = $('dry-result');
    if (res.ok && res.json) {
      var r = res.json;
      pending = { file: info.file, type: info.type, target: target, previous: r.previous, version: r.version, reply: r };
      renderDry();
      box.hidden = false;
      $('apply').hidden = false;
      $('cancel').hidden = false;
      box.focus();
      return;
    }
    var err = res.json && res.json.error;
    if (err && err.details && err.details.length && (res.status === 422 || res.status === 400)) {
      $('dry-summary').textContent = '';
      $('dry-counts').textContent = '';
      $('problems-title').textContent = (err.message ? err.message + ' — ' : '') +
        t('ad.dry.errors', { n: err.details.length });
      var ul = QD.clear($('problems-list'));
      err.details.forEach(function (d) {
        var where = QD.where(d);
        ul.appendChild(el('li', {
          class: 'problem', 'data-line': d.line, 'data-column': d.column, 'data-path': d.path
        }, where ? el('strong', { class: 'where', text: where }) : null, where ? t('colon') : '', d.message));
      });
      $('problems').hidden = false;
      box.hidden = false;
      box.focus();
      return;
    }
    sayRaw('error', QD.errorText(res));
  }

  function renderDry() {
    if (!pending) return;
    var r = pending.reply;
    $('dry-summary').textContent = r.previous === null
      ? t('ad.dry.ok.new', { list: r.list, v: r.version, n: r.entries })
      : t('ad.dry.ok', { list: r.list, prev: r.previous, v: r.version, n: r.entries });
    var d = r.diff;
    var counts = $('dry-counts');
    counts.textContent = d.added + d.removed + d.changed ? t('ad.dry.counts', { a: d.added, r: d.removed, c: d.changed })
      : t('ad.dry.nochange');
    counts.setAttribute('data-added', d.added);
    counts.setAttribute('data-removed', d.removed);
    counts.setAttribute('data-changed', d.changed);
    var body = QD.clear($('diff-body'));
    var ch = r.changes || [];
    ch.forEach(function (c) {
      body.appendChild(el('tr', { 'data-id': c.id, 'data-kind': c.kind, class: 'diff-' + c.kind },
        el('td', { 'data-label': t('ad.diff.id') }, el('code', { text: c.id })),
        el('td', { 'data-label': t('ad.diff.kind') }, el('span', { class: 'badge diff-badge-' + c.kind, text: t('diff.' + c.kind) })),
        el('td', { 'data-label': t('ad.diff.fields') }, (c.fields || []).map(function (f, i) {
          return [i ? ', ' : '', el('code', { text: f })];
        }))));
    });
    $('diff-table').hidden = !ch.length;
    var more = d.added + d.removed + d.changed - ch.length;
    $('diff-more').hidden = more <= 0;
    if (more > 0) $('diff-more').textContent = t('ad.dry.more', { n: more });
    $('apply').textContent = t('ad.apply.v', { v: r.version });
  }

  function apply() {
    if (!pending) return;
    var p = pending;
    $('apply').disabled = true;
    $('dry-busy').textContent = t('ad.applying');
    QD.api('PUT', '/v1/lists/' + encodeURIComponent(p.target),
      { token: token(), body: p.file, contentType: p.type, ifMatch: p.previous })
      .then(function (res) {
        if (res.ok && res.json) {
          var d = res.json.diff;
          resetDry();
          say('ok', 'ad.applied', { list: res.json.list, v: res.json.version, a: d.added, r: d.removed, c: d.changed });
          return reload(p.target);
        }
        if (res.status === 412) {
          resetDry();
          return reload(p.target).then(function () {
            say('conflict', 'ad.conflict', { v: currentVersion(p.target) });
            $('dry-run').focus();
          });
        }
        if (res.status === 422 || res.status === 400) { resetDry(); showDry(res, p, p.target); return; }
        if (!authProblem(res)) sayRaw('error', QD.errorText(res));
      }, function (e) { sayRaw('error', t('err.network', { message: e.message })); })
      .then(function () {
        $('apply').disabled = false;
        $('dry-busy').textContent = '';
      });
  }

  /* ---- start ---- */

  document.addEventListener('DOMContentLoaded', function () {
    $('token-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var v = $('token').value.trim();
      if (!v) { showTokenState('ad.token.none', 'empty'); return; }
      setToken(v);
      $('token').value = '';
      say(null);
      verifyToken().then(function (ok) {
        if (!ok) setToken('');
        return loadLists();
      });
    });
    $('token-forget').addEventListener('click', function () {
      setToken('');
      $('token').value = '';
      resetDry();
      showTokenState('ad.token.none', 'empty');
    });
    $('upload-form').addEventListener('submit', function (ev) { ev.preventDefault(); dryRun(); });
    $('upload-file').addEventListener('change', function () {
      resetDry();
      say(null);
      readChosen().then(function (info) {
        if (info && info.list && currentVersion(info.list) !== null) $('target').value = info.list;
      }).catch(function () { /* reported on dry run */ });
    });
    $('target').addEventListener('change', resetDry);
    $('apply').addEventListener('click', apply);
    $('cancel').addEventListener('click', function () { resetDry(); $('upload-file').focus(); });
    $('lists-body').addEventListener('click', function (ev) {
      var b = ev.target.closest('button.show-history');
      if (b) showHistory(b.getAttribute('data-list')).then(function () { $('history-title').scrollIntoView(); });
    });
    $('versions-body').addEventListener('click', function (ev) {
      var b = ev.target.closest('button.rollback');
      if (b) askRollback(Number(b.getAttribute('data-version')));
    });
    // A proposal approved or a schedule cancelled (governance.js) changes the lists.
    document.addEventListener('qd:lists-changed', function () { reload(); });
    $('rollback-yes').addEventListener('click', doRollback);
    $('rollback-no').addEventListener('click', hideRollback);
    QD.onLang(function () {
      renderLists();
      renderHistory();
      renderDry();
      if (tokenState) showTokenState(tokenState.key, tokenState.state);
      if (banner) say(banner.kind, banner.key, banner.vars);
      if (rollback) $('rollback-text').textContent = t('ad.rollback.confirm', { v: rollback.v, next: rollback.current + 1 });
    });

    if (token()) verifyToken(); else showTokenState('ad.token.none', 'empty');
    loadLists();
  });
}());
