/* qingdan pages: helpers shared by the pre-check and list update pages —
 * DOM building (text nodes only, no HTML parsing), the HTTP/JSON client, the
 * institution id check (USCC, GB 32100-2015), China-time dates and CSV. */
(function () {
  'use strict';
  var QD = window.QD = window.QD || {};

  /* el('td', {class: 'x', 'data-ref': '1'}, child, 'text', [more]) */
  QD.el = function (tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === 'text') e.textContent = v;
        else if (k === 'class') e.className = v;
        else e.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) QD.append(e, arguments[i]);
    return e;
  };
  QD.append = function (parent, c) {
    if (c === undefined || c === null || c === false) return parent;
    if (Array.isArray(c)) c.forEach(function (x) { QD.append(parent, x); });
    else if (typeof c === 'string' || typeof c === 'number') parent.appendChild(document.createTextNode(String(c)));
    else parent.appendChild(c);
    return parent;
  };
  QD.clear = function (e) { while (e.firstChild) e.removeChild(e.firstChild); return e; };
  QD.$ = function (id) { return document.getElementById(id); };

  /* The Content-Type of an .xlsx workbook. */
  QD.XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  /* Does the byte array start like a zip (an .xlsx workbook)? */
  QD.isZip = function (bytes) {
    return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4;
  };

  /* Call the API.  Resolves to {status, ok, json, headers}, and with
   * opts.blob a 2xx body as res.blob (a workbook) instead of JSON; rejects
   * only on network failure. */
  QD.api = function (method, path, opts) {
    opts = opts || {};
    var h = { 'Accept': opts.blob ? QD.XLSX + ', application/json' : 'application/json' };
    if (opts.contentType) h['Content-Type'] = opts.contentType;
    if (opts.token) h['Authorization'] = 'Bearer ' + opts.token;
    if (opts.ifMatch !== undefined && opts.ifMatch !== null) h['If-Match'] = '"' + opts.ifMatch + '"';
    var body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      h['Content-Type'] = 'application/json; charset=utf-8';
    }
    return fetch(path, { method: method, headers: h, body: body, cache: 'no-store', credentials: 'omit' })
      .then(function (r) {
        if (opts.blob && r.ok) {
          return r.blob().then(function (b) {
            return { status: r.status, ok: r.ok, json: null, blob: b, headers: r.headers };
          });
        }
        return r.text().then(function (t) {
          var j = null;
          try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
          return { status: r.status, ok: r.ok, json: j, headers: r.headers };
        });
      });
  };
  /* A bearer token kept in sessionStorage under key: this tab only, gone when
   * it closes; never localStorage, a cookie or the address.  '' when none
   * (or when storage is refused). */
  QD.storedToken = function (key) {
    try { return window.sessionStorage.getItem(key) || ''; } catch (e) { return ''; }
  };
  /* Keep v as the token under key; '' forgets it. */
  QD.storeToken = function (key, v) {
    try {
      if (v) window.sessionStorage.setItem(key, v);
      else window.sessionStorage.removeItem(key);
    } catch (e) { /* ignore */ }
  };
  /* Show message key (with vars) in the status element st, state "ok", "bad",
   * "need" or empty, with an icon so the state is not told by colour alone. */
  QD.tokenStatus = function (st, key, state, vars) {
    QD.clear(st);
    st.className = 'status state-' + (state || 'empty');
    st.setAttribute('data-state', state || '');
    if (!key) return;
    var icon = { ok: '✓', bad: '✗', need: '!' }[state] || '';
    QD.append(st, [icon ? QD.el('span', { class: 'icon', 'aria-hidden': 'true', text: icon + ' ' }) : null, QD.t(key, vars)]);
  };
  /* The error message of a failed API answer. */
  QD.errorText = function (res) {
    var m = res.json && res.json.error && res.json.error.message;
    return QD.t('err.http', { status: res.status, message: m || '' });
  };
  /* "line 3, column 4" or "at /entries/0/code" for one error detail. */
  QD.where = function (d) {
    if (d.line !== undefined) return QD.t('loc.line', { line: d.line, column: d.column });
    if (d.path) return QD.t('loc.path', { path: d.path });
    return '';
  };

  /* ---- institution ids ---- */
  var ALPHA = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  var WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  /* The check character of the first 17 characters of a USCC, or null. */
  QD.usccCheck = function (s17) {
    var sum = 0;
    for (var i = 0; i < 17; i++) {
      var v = ALPHA.indexOf(s17.charAt(i));
      if (v < 0) return null;
      sum += v * WEIGHTS[i];
    }
    return ALPHA.charAt((31 - (sum % 31)) % 31);
  };

  /* Check an institution id as it is typed.  Returns {state, key, vars}:
   * state "empty", "partial" (could still become valid), "ok" or "bad";
   * key/vars the message for QD.t. */
  QD.checkEntity = function (raw) {
    var s = (raw || '').trim();
    if (!s) return { state: 'empty' };
    var m = /^([A-Za-z]{2,8}):(.*)$/.exec(s);
    if (m) {
      var id = m[2];
      if (!id) return { state: 'partial', key: 'entity.partial.scheme' };
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) return { state: 'bad', key: 'entity.bad.scheme' };
      return { state: 'ok', key: 'entity.ok.scheme', vars: { scheme: m[1].toUpperCase() } };
    }
    var u = s.toUpperCase();
    for (var i = 0; i < u.length; i++) {
      var c = u.charAt(i);
      if (ALPHA.indexOf(c) < 0) {
        /* "HK", "MO" … before the colon is typed */
        if (/^[A-Z]{1,8}$/.test(u)) return { state: 'partial', key: 'entity.partial.scheme' };
        return { state: 'bad', key: 'entity.bad.char', vars: { c: c } };
      }
    }
    if (u.length < 18) {
      if (/^[A-Z]{1,8}$/.test(u) && u.length <= 2) return { state: 'partial', key: 'entity.partial.scheme' };
      return { state: 'partial', key: 'entity.partial.uscc', vars: { n: u.length } };
    }
    if (u.length > 18) return { state: 'bad', key: 'entity.bad.long', vars: { n: u.length } };
    var want = QD.usccCheck(u.slice(0, 17));
    if (want !== u.charAt(17)) return { state: 'bad', key: 'entity.bad.check', vars: { want: want, got: u.charAt(17) } };
    return { state: 'ok', key: 'entity.ok.uscc' };
  };

  /* ---- dates (China time, UTC+08:00) ---- */
  QD.todayChina = function () {
    return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  };
  QD.validDate = function (s) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
    var d = new Date(s + 'T00:00:00Z');
    return !isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  };
  /* "2026-11-26T23:56:29Z" → "2026-11-27 07:56:29" (China time). */
  QD.chinaTime = function (iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso || '';
    return new Date(d.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 19).replace('T', ' ');
  };

  /* ---- CSV ---- */
  /* Parse CSV text (RFC 4180, comma, semicolon or tab separated) into rows. */
  QD.parseCSV = function (text) {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    var first = text.split(/\r?\n/, 1)[0] || '';
    var sep = ',';
    if (first.indexOf(',') < 0) {
      if (first.indexOf('\t') >= 0) sep = '\t';
      else if (first.indexOf(';') >= 0) sep = ';';
    }
    var rows = [], row = [], cell = '', q = false;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (q) {
        if (c === '"') {
          if (text.charAt(i + 1) === '"') { cell += '"'; i++; } else q = false;
        } else cell += c;
      } else if (c === '"' && cell === '') q = true;
      else if (c === sep) { row.push(cell); cell = ''; }
      else if (c === '\n' || c === '\r') {
        if (c === '\r' && text.charAt(i + 1) === '\n') i++;
        row.push(cell); rows.push(row); row = []; cell = '';
      } else cell += c;
    }
    if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
    return rows.filter(function (r) { return r.some(function (x) { return x.trim() !== ''; }); });
  };
  /* One CSV field.  Cells that a spreadsheet would run as a formula are
   * prefixed with an apostrophe. */
  QD.csvField = function (v) {
    var s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s) && !/^-?\d[\d.]*$/.test(s)) s = '\'' + s;
    if (/[",\r\n]/.test(s)) s = '"' + s.replace(/"/g, '""') + '"';
    return s;
  };
  QD.toCSV = function (rows) {
    return rows.map(function (r) { return r.map(QD.csvField).join(','); }).join('\r\n') + '\r\n';
  };
  /* Decode file bytes: UTF-8 (with or without BOM), else GB18030. */
  QD.decodeText = function (buf) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch (e) {
      return new TextDecoder('gb18030').decode(buf);
    }
  };
  /* Save text (or a Blob) as a file. */
  QD.download = function (name, text, type) {
    var blob = text instanceof Blob ? text : new Blob([text], { type: type || 'text/csv;charset=utf-8' });
    var url = URL.createObjectURL(blob);
    var a = QD.el('a', { href: url, download: name, class: 'hidden-link' });
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 1000);
  };
  /* A list's title in lang ('zh' or 'en'; default: the current language). */
  QD.title = function (t, id, lang) {
    if (!t) return id || '';
    return ((lang || QD.lang) === 'en' && t.en) ? t.en : (t.zh || t.en || id || '');
  };
}());
