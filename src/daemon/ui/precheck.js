/* qingdan pages: the shipment pre-check (GET /ui/).
 *
 * Reads the institution id, date and item codes (typed, pasted, or from a
 * CSV file read here or an .xlsx workbook whose rows POST /v1/sheet gives),
 * calls POST /v1/check (1000 items a call) and shows one row per item with
 * its decision, reason, basis, waived documents, conditions and near
 * misses.  Results download as CSV (made here) or as Excel (the same
 * check asked again with format=xlsx: the daemon writes the workbook).
 * ?entity=&date=&codes= (codes newline-separated; also list=, customs= and
 * lang=en) prefill the form and run the check on load, so a result can be
 * shared as a link.
 *
 * The customs office of declaration (4-digit 关区代码) is remembered per
 * browser (localStorage): an officer or broker declares at the same office
 * day after day.  With "check by declared name" ticked, each line's name
 * and specification (code,name,spec) go with its item, so a whitelist's
 * item entries are checked against them; the page shows each answer's
 * scope and item check in words either way.
 *
 * With qingdand --read-auth token the reads answer 401 without a token: the
 * page then shows a token field.  The token lives in sessionStorage only
 * (this tab, this session) and goes with every API call as
 * Authorization: Bearer.  It is never taken from or put into the address:
 * addresses end up in access logs, proxies and shared links. */
(function () {
  'use strict';
  var QD = window.QD;
  var $ = QD.$, el = QD.el, t = QD.t;
  var BATCH = 1000;
  var TOKEN_KEY = 'qd.read.token';
  var CUSTOMS_KEY = 'qd.customs';

  var lists = {};        // list id → metadata (titles), from GET /v1/lists
  var listsReady = null; // promise
  var last = null;       // the last check: {rows, summary, entity, date, ids, receipts}
  var signing = null;    // does the server sign receipts (GET /v1/keys)? null: not known yet
  var wantList = '';     // ?list= of a shared link, chosen once the lists are known
  var tokenState = null; // {key, state, vars} of the token message, re-rendered on language change
  var checkRefused = false; // the last check was refused for want of a token

  /* ---- the reader token ---- */

  function token() { return QD.storedToken(TOKEN_KEY); }
  function setToken(v) { QD.storeToken(TOKEN_KEY, v); }

  function showTokenState(key, state, vars) {
    tokenState = key ? { key: key, state: state, vars: vars } : null;
    QD.tokenStatus($('token-status'), key, state, vars);
  }

  /* Show the token field with a message and move focus to it. */
  function askToken(key, state) {
    $('token-form').hidden = false;
    showTokenState(key, state);
    $('token').focus();
  }

  /* Every API call of the page: with the tab's token when there is one.
   * The answer says whether a token went with it (res.sentToken). */
  function api(method, path, opts) {
    var tok = token();
    opts = opts || {};
    if (tok) opts.token = tok;
    return QD.api(method, path, opts).then(function (res) {
      res.sentToken = !!tok;
      return res;
    });
  }

  /* A 401 asks for a token, or says the one sent was refused (and forgets
   * it, as the admin page does); true when res was one. */
  function tokenRefused(res) {
    if (res.status !== 401) return false;
    if (res.sentToken) {
      setToken('');
      askToken('pc.token.bad', 'bad');
    } else {
      askToken('pc.token.need', 'need');
    }
    return true;
  }

  /* (Re)load the lists with the tab's token and say how the token fared. */
  function tryToken() {
    return loadLists().then(function (res) {
      if (res.status === 401 || !token()) return; // tokenRefused() has said why
      if (!res.ok) {
        showTokenState('pc.token.unchecked', 'bad', { message: res.status ? 'HTTP ' + res.status : res.message });
        return;
      }
      showTokenState(checkRefused ? 'pc.token.ok.rerun' : 'pc.token.ok', 'ok');
      if (checkRefused) showError('');
    });
  }

  function useToken() {
    var v = $('token').value.trim();
    if (!v) { askToken('pc.token.none', 'bad'); return; }
    setToken(v);
    $('token').value = '';
    tryToken();
  }

  function forgetToken() {
    setToken('');
    $('token').value = '';
    showTokenState('pc.token.forgotten', '');
    $('token').focus();
  }

  /* ---- input ---- */

  /* The items of the codes box: one per non-empty line, "code",
   * "code,description" or "code,name,spec" (also tab or full-width comma);
   * '#' starts a comment.  The description is the declared name, up to a
   * second separator, and the specification after it. */
  function parseItems(text) {
    var out = [];
    text.split(/\r?\n/).forEach(function (raw, i) {
      var s = raw.trim();
      if (!s || s.charAt(0) === '#') return;
      var m = /^([^\t,，]*)[\t,，](.*)$/.exec(s);
      var code = m ? m[1].trim() : s, desc = m ? m[2].trim() : '';
      var g = /^([^\t,，]*)[\t,，](.*)$/.exec(desc);
      out.push({ ref: String(i + 1), line: i + 1, entered: code, desc: desc,
        name: (g ? g[1] : desc).trim(), spec: g ? g[2].trim() : '' });
    });
    return out;
  }

  /* The remembered customs office of this browser. */
  function storedCustoms() {
    try { return window.localStorage.getItem(CUSTOMS_KEY) || ''; } catch (e) { return ''; }
  }
  function storeCustoms(v) {
    try {
      if (v) window.localStorage.setItem(CUSTOMS_KEY, v);
      else window.localStorage.removeItem(CUSTOMS_KEY);
    } catch (e) { /* ignore */ }
  }

  function entityStatus() {
    var input = $('entity'), st = $('entity-status');
    var r = QD.checkEntity(input.value);
    st.className = 'status state-' + r.state;
    QD.clear(st);
    if (r.state === 'empty') {
      input.removeAttribute('aria-invalid');
      return r;
    }
    var icon = { ok: '✓', bad: '✗', partial: '…' }[r.state];
    QD.append(st, [el('span', { class: 'icon', 'aria-hidden': 'true', text: icon + ' ' }), t(r.key, r.vars)]);
    if (r.state === 'bad') input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    return r;
  }

  function showError(msg) {
    var e = $('form-error');
    if (!msg) { e.hidden = true; QD.clear(e); return; }
    e.textContent = msg;
    e.hidden = false;
  }

  /* ---- CSV or Excel file of a shipment ---- */

  var H_CODE = /^(code|hs|hscode|hs_code|commoditycode|商品编号|商品编码|hs编码|hs编号|税号|编码)$/;
  var H_DESC = /^(description|desc|name|name_zh|goods|品名|商品名称|物品名称|名称|货物名称|中文名称)$/;
  var H_CIQ = /^(ciq|ciqcode|检验检疫编码|检验检疫附加编号|ciq编码)$/;
  var H_SPEC = /^(spec|specification|model|规格型号|规格|型号)$/;

  /* The rows of a workbook's first sheet, read by the daemon: resolves to
   * {rows, sheet}; a workbook it cannot read rejects with its problems. */
  function sheetRows(buf) {
    return api('POST', '/v1/sheet', { body: buf, contentType: QD.XLSX }).then(function (res) {
      if (tokenRefused(res)) throw new Error(t(res.sentToken ? 'pc.token.bad' : 'pc.token.need'));
      if (!res.ok || !res.json) {
        var err = new Error(QD.errorText(res));
        err.details = res.json && res.json.error && res.json.error.details;
        throw err;
      }
      return { sheet: res.json.sheet, rows: res.json.rows.map(function (r) { return r.cells; }) };
    });
  }

  function importFile(file) {
    var st = $('file-status');
    var sheet = null;
    st.textContent = '';
    showError('');
    file.arrayBuffer().then(function (buf) {
      var bytes = new Uint8Array(buf);
      if (QD.isZip(bytes) || /\.xlsx$/i.test(file.name || '')) {
        return sheetRows(buf).then(function (r) { sheet = r.sheet; return r.rows; });
      }
      return QD.parseCSV(QD.decodeText(bytes));
    }).then(function (rows) {
      if (!rows.length) throw new Error(t('err.file.empty'));
      var head = rows[0].map(function (h) { return h.trim().toLowerCase().replace(/[\s（）()]/g, ''); });
      var ci = -1, di = -1, qi = -1, si = -1;
      head.forEach(function (h, i) {
        if (ci < 0 && H_CODE.test(h)) ci = i;
        else if (di < 0 && H_DESC.test(h)) di = i;
        else if (qi < 0 && H_CIQ.test(h)) qi = i;
        else if (si < 0 && H_SPEC.test(h)) si = i;
      });
      if (ci >= 0) rows = rows.slice(1);
      else { ci = 0; di = rows[0].length > 1 ? 1 : -1; }
      var lines = [];
      rows.forEach(function (r) {
        var code = (r[ci] || '').trim();
        if (!code) return;
        var ciq = qi >= 0 ? (r[qi] || '').trim() : '';
        var desc = di >= 0 ? (r[di] || '').trim().replace(/[\r\n]+/g, ' ') : '';
        var spec = si >= 0 ? (r[si] || '').trim().replace(/[\r\n]+/g, ' ') : '';
        /* A name that holds a separator would run into the spec: the
         * spec column then goes with a name without commas. */
        if (spec) desc = desc.replace(/[\t,，]/g, ' ') + ',' + spec;
        lines.push(code + (ciq ? ' ' + ciq : '') + (desc ? ',' + desc : ''));
      });
      if (!lines.length) throw new Error(t('err.file.empty'));
      $('codes').value = lines.join('\n');
      st.textContent = sheet !== null ? t('file.loaded.sheet', { n: lines.length, name: file.name, sheet: sheet })
        : t('file.loaded', { n: lines.length, name: file.name });
    }).catch(function (e) {
      var msg = e.message;
      if (e.details && e.details.length) msg += ' — ' + e.details.map(function (d) { return d.message; }).join('; ');
      if (e instanceof TypeError) msg = t('err.network', { message: e.message });
      showError(t('err.file', { message: msg }));
    });
  }

  /* ---- the check ---- */

  /* Load the lists for the picker.  Resolves to the answer, or to
   * {status: 0, message} when there was none. */
  function loadLists() {
    listsReady = api('GET', '/v1/lists').then(function (res) {
      if (tokenRefused(res) || !res.ok || !res.json) return res;
      var sel = $('list'), keep = sel.value || wantList;
      while (sel.options.length > 1) sel.remove(1);
      res.json.lists.forEach(function (l) {
        lists[l.id] = l;
        sel.appendChild(el('option', { value: l.id, text: QD.title(l.title, l.id) }));
      });
      sel.value = keep && lists[keep] ? keep : '';
      wantList = '';
      return res;
    }).catch(function (e) {
      return { status: 0, ok: false, message: e.message }; /* titles are a nicety: ids are shown instead */
    });
    return listsReady;
  }

  /* Whether the server signs receipts: it lists a current key.  Asked
   * once; a refusal (a token still wanted) leaves it unknown. */
  function loadKeys() {
    if (signing !== null) return Promise.resolve();
    return api('GET', '/v1/keys').then(function (res) {
      if (res.ok && res.json && res.json.keys) signing = res.json.keys.some(function (k) { return k.current; });
    });
  }

  function run() {
    showError('');
    var ent = entityStatus();
    if (ent.state === 'bad' || ent.state === 'partial') {
      showError(t('err.entity'));
      $('entity').focus();
      return Promise.resolve();
    }
    var date = $('date').value.trim();
    if (!date) { date = QD.todayChina(); $('date').value = date; }
    if (!QD.validDate(date)) {
      showError(t('err.date'));
      $('date').focus();
      return Promise.resolve();
    }
    var items = parseItems($('codes').value);
    if (!items.length) {
      showError(t('err.nocodes'));
      $('codes').focus();
      return Promise.resolve();
    }
    var customs = $('customs').value.trim();
    if (customs && !/^[0-9]{4}$/.test(customs)) {
      showError(t('err.customs'));
      $('customs').focus();
      return Promise.resolve();
    }
    storeCustoms(customs);
    customs = customs || null;
    var goods = $('goods').checked;
    var entity = $('entity').value.trim() || null;
    var list = $('list').value || wantList || null;
    var batches = [];
    for (var i = 0; i < items.length; i += BATCH) batches.push(items.slice(i, i + BATCH));

    $('submit').disabled = true;
    $('busy').textContent = t('pc.checking');
    var answers = [], ids = [], receipts = [], summary = { allow: 0, deny: 0, invalid: 0 };
    var chain = (listsReady || Promise.resolve()).then(loadKeys);
    var bodies = batches.map(function (b) {
      return {
        entity: entity, date: date, list: list, customs: customs,
        items: b.map(function (it) {
          var q = { ref: it.ref, code: it.entered };
          if (goods && it.name) q.name = it.name;
          if (goods && it.spec) q.spec = it.spec;
          return q;
        })
      };
    });
    bodies.forEach(function (body) {
      chain = chain.then(function () {
        return api('POST', '/v1/check', {
          json: Object.assign({ receipt: signing ? true : undefined }, body)
        }).then(function (res) {
          if (tokenRefused(res)) {
            checkRefused = true;
            throw new Error(t(res.sentToken ? 'pc.token.bad' : 'pc.token.need.check'));
          }
          if (!res.ok || !res.json) {
            var err = new Error(QD.errorText(res));
            err.details = res.json && res.json.error && res.json.error.details;
            throw err;
          }
          answers = answers.concat(res.json.items);
          ids.push(res.json.decision_id);
          if (res.json.receipt) receipts.push({ id: res.json.decision_id, receipt: res.json.receipt });
          summary.allow += res.json.summary.allow;
          summary.deny += res.json.summary.deny;
          summary.invalid += res.json.summary.invalid;
        });
      });
    });
    return chain.then(function () {
      checkRefused = false;
      if (tokenState && tokenState.key === 'pc.token.ok.rerun') showTokenState('pc.token.ok', 'ok');
      last = {
        rows: items.map(function (it, k) { return { input: it, answer: answers[k] }; }),
        summary: summary, entity: entity, date: date, ids: ids, customs: customs, goods: goods, receipts: receipts, bodies: bodies
      };
      render(true);
      updateLink();
    }).catch(function (e) {
      var msg = e.message;
      if (e.details && e.details.length) msg += ' — ' + e.details.map(function (d) { return d.message + ' ' + QD.where(d); }).join('; ');
      if (e instanceof TypeError) msg = t('err.network', { message: e.message });
      showError(msg);
    }).then(function () {
      $('submit').disabled = false;
      $('busy').textContent = '';
    });
  }

  /* ---- rendering ---- */

  function entryName(e, lang) {
    if (!e || !e.name) return '';
    return (lang || QD.lang) === 'en' && e.name.en ? e.name.en : (e.name.zh || e.name.en || '');
  }
  function codeText(code, ciq) { return code + (ciq ? ' / ' + t('code.ciq') + ' ' + ciq : ''); }
  function lbl(key) { return t(key) + t('colon'); }
  function listName(id, lang) { return QD.title(lists[id] && lists[id].title, id, lang); }

  /* Both languages: the current one first, the other one smaller.  vars
   * may be a function of the language, for values that have one each
   * (a list's title). */
  function both(key, vars) {
    var o = QD.other(), v = typeof vars === 'function' ? vars : function () { return vars; };
    return [el('span', { class: 'primary-lang', text: t(key, v(QD.lang)) }),
            el('span', { class: 'alt', lang: o === 'zh' ? 'zh-CN' : 'en', text: t(key, v(o), o) })];
  }

  /* Why a near miss did not apply, as a message key and its values. */
  function nearKey(nm, entity) {
    var e = nm.entry || {};
    switch (nm.reason) {
    case 'not_yet_effective':
      return e.valid_from ? ['near.not_yet_effective', { from: e.valid_from }] : ['near.not_yet_effective.nodate'];
    case 'expired':
      return e.valid_to ? ['near.expired', { to: e.valid_to }] : ['near.expired.nodate'];
    case 'entity_not_eligible':
      return e.entities && e.entities.length && (!entity || e.entities.indexOf(entity) < 0)
        ? ['near.other_entity'] : ['near.roster'];
    case 'entity_required': return ['near.entity_required'];
    case 'outside_jurisdiction':
      return e.customs && e.customs.length ? ['near.outside_jurisdiction', { customs: e.customs.join('、') }]
        : ['near.outside_jurisdiction.list'];
    case 'item_differs':
      return ['near.item_differs', { item: entryName(e) + (e.spec ? ' ' + e.spec : '') }];
    case 'suspended': return ['near.suspended'];
    case 'revoked': return ['near.revoked'];
    default: return ['reason.' + nm.reason];
    }
  }
  function nearMisses(a) {
    var out = [];
    (a.results || []).forEach(function (r) {
      (r.near_misses || []).forEach(function (nm) { out.push({ list: r.list, kind: r.kind, nm: nm }); });
    });
    return out;
  }
  function waiveText(w) { return QD.has('waive.' + w) ? t('waive.' + w) : w; }

  function decisionCell(kind) {
    var icon = { allow: '✓', deny: '–', invalid: '!' }[kind];
    var badge = el('span', { class: 'badge dec-' + kind },
      el('span', { class: 'icon', 'aria-hidden': 'true', text: icon }), ' ', t('dec.' + kind));
    return [badge, kind === 'deny' ? el('span', { class: 'sub', text: t('dec.deny.sub') }) : null];
  }

  /* Where the answer holds: the customs prefixes (and region), both
   * languages. */
  function scopeLine(sc) {
    var where = (sc.customs && sc.customs.length ? sc.customs.join('、') : '—') +
      (sc.region ? t('basis.scope.region', { region: sc.region }) : '');
    return el('div', { class: 'basis-scope', 'data-customs': (sc.customs || []).join(',') },
      el('span', { class: 'k', text: lbl('basis.scope') }), where);
  }

  /* What the goods must be for the answer to hold, and what was checked. */
  function itemLine(ic) {
    var name = ic.name ? (QD.lang === 'en' && ic.name.en ? ic.name.en : ic.name.zh) : '';
    var what = name + (ic.spec ? ' · ' + t('basis.spec') + ' ' + ic.spec : '') +
      (ic.aliases && ic.aliases.length ? ' · ' + t('basis.item.aliases') + ' ' + ic.aliases.join('、') : '');
    var checked = ic.checked || [];
    var key = checked.length ? 'basis.item.checked.' + checked.join('_') : 'basis.item.unchecked';
    return el('div', { class: 'basis-item', 'data-checked': checked.join(',') },
      el('span', { class: 'k', text: lbl('basis.item') }), what,
      el('div', { class: 'hint' }, both(key)));
  }

  function basisCell(a) {
    var b = a.basis;
    if (!b) return el('span', { class: 'muted', text: t('basis.none') });
    var e = b.entry;
    var parts = [
      el('div', { class: 'basis-list' }, el('span', { class: 'k', text: lbl('basis.list') }),
        listName(b.list), ' · ', t('basis.version', { v: b.version })),
      el('div', { class: 'basis-entry' }, el('span', { class: 'k', text: lbl('basis.entry') }),
        el('code', { class: 'entry-id', text: e.id }), ' ', entryName(e), ' (', codeText(e.code, e.ciq), ')')
    ];
    if (e.spec) parts.push(el('div', {}, el('span', { class: 'k', text: lbl('basis.spec') }), e.spec));
    if (b.batch) {
      parts.push(el('div', { class: 'basis-batch' }, el('span', { class: 'k', text: lbl('basis.batch') }),
        b.batch.document ? t('basis.batch.doc', { id: b.batch.id, document: b.batch.document,
          published: b.batch.published || '—' }) : b.batch.id));
    } else if (e.batch) {
      parts.push(el('div', {}, el('span', { class: 'k', text: lbl('basis.batch') }), e.batch));
    }
    if (b.scope) parts.push(scopeLine(b.scope));
    if (b.item_check) parts.push(itemLine(b.item_check));
    (b.clauses || []).forEach(function (c) {
      var d = el('details', { class: 'clause' },
        el('summary', {}, el('span', { class: 'k', text: lbl('basis.clause') }),
          c.document, ' ', c.article || '', c.title ? ' ' + c.title : ''),
        el('p', { class: 'clause-text', text: c.text || '' }));
      if (c.url && /^https?:\/\//.test(c.url)) {
        d.appendChild(el('p', { class: 'hint' }, lbl('basis.clause.source'),
          el('a', { href: c.url, rel: 'noopener noreferrer', target: '_blank', text: c.url })));
      }
      parts.push(d);
    });
    return parts;
  }

  function notesCell(a) {
    var out = [];
    var e = a.basis && a.decision === 'allow' ? a.basis.entry : null;
    if (e) {
      if (e.waives && e.waives.length) {
        out.push(el('div', { class: 'note-waives' }, el('span', { class: 'k', text: lbl('notes.waives') }),
          e.waives.map(waiveText).join('、')));
      }
      (e.conditions || []).forEach(function (c) {
        if (c.type === 'remark') {
          out.push(el('div', { class: 'note-remark' }, el('span', { class: 'k', text: lbl('notes.remark') }),
            el('q', { class: 'remark', text: c.text })));
        } else {
          out.push(el('div', { class: 'note-note' }, el('span', { class: 'k', text: lbl('notes.note') }), c.text));
        }
      });
      if (e.quantity) {
        out.push(el('div', {}, el('span', { class: 'k', text: lbl('notes.quantity') }),
          e.quantity.limit + ' ' + e.quantity.unit));
      }
    }
    (a.results || []).forEach(function (r) {
      if (r.terms && r.terms.superseded_by) {
        out.push(el('div', { class: 'note-superseded' }, both('notes.superseded', function (lang) {
          return { list: listName(r.list, lang), next: r.terms.superseded_by };
        })));
      }
    });
    if (a.decision !== 'allow') {
      var nms = nearMisses(a);
      if (nms.length) {
        var ul = el('ul', { class: 'near' });
        nms.forEach(function (x) {
          var k = nearKey(x.nm, a.query && a.query.entity), o = QD.other();
          ul.appendChild(el('li', { class: 'near-miss', 'data-reason': x.nm.reason },
            el('span', { class: 'muted', title: listName(x.list),
              text: (QD.has('list.' + x.kind) ? t('list.' + x.kind) : listName(x.list)) + ' · ' }),
            el('code', { class: 'entry-id', text: x.nm.entry.id }), ' ', entryName(x.nm.entry),
            ' (', codeText(x.nm.entry.code, x.nm.entry.ciq), ')', t('colon'),
            el('strong', { text: t(k[0], k[1]) }),
            el('span', { class: 'alt', lang: o === 'zh' ? 'zh-CN' : 'en', text: ' · ' + t(k[0], k[1], o) })));
        });
        out.push(el('div', { class: 'note-near' }, el('span', { class: 'k', text: lbl('notes.near') }), ul));
      }
    }
    return out.length ? out : el('span', { class: 'muted', text: t('notes.none') });
  }

  function row(r) {
    var it = r.input, a = r.answer || { error: { message: '' } };
    var kind = a.error ? 'invalid' : a.decision;
    var td = function (key, cls, content) {
      return el('td', { class: cls, 'data-label': t(key) }, content);
    };
    var codeCell = [el('code', { class: 'entered', text: it.entered })];
    if (!a.error) codeCell.push(el('div', { class: 'normalised' },
      el('span', { class: 'muted', text: t('code.normalised') + ' ' }), el('code', { text: codeText(a.query.code, a.query.ciq) })));
    if (it.desc) codeCell.push(el('div', { class: 'desc', text: it.desc }));
    var reason = a.error
      ? [both('reason.invalid'), el('div', { class: 'server-msg', lang: 'en', text: a.error.message })]
      : both('reason.' + a.reason);
    return el('tr', { 'data-ref': it.ref, 'data-decision': kind, 'data-reason': a.error ? 'invalid' : a.reason, class: 'row-' + kind },
      td('col.line', 'c-line', it.ref),
      td('col.code', 'c-code', codeCell),
      td('col.decision', 'c-decision', decisionCell(kind)),
      td('col.reason', 'c-reason', reason),
      td('col.basis', 'c-basis', a.error ? el('span', { class: 'muted', text: '—' }) : basisCell(a)),
      td('col.notes', 'c-notes', a.error ? el('span', { class: 'muted', text: '—' }) : notesCell(a)));
  }

  function render(focus) {
    if (!last) return;
    var s = last.summary, total = last.rows.length;
    var sum = $('summary');
    QD.clear(sum);
    sum.setAttribute('data-allow', s.allow);
    sum.setAttribute('data-deny', s.deny);
    sum.setAttribute('data-invalid', s.invalid);
    sum.textContent = t('pc.summary', { total: total, allow: s.allow, deny: s.deny, invalid: s.invalid });
    var all = s.allow === total;
    $('overall').textContent = t(all ? 'pc.overall.allow' : 'pc.overall.deny');
    $('overall').className = 'overall ' + (all ? 'dec-allow' : 'dec-deny');
    $('context').textContent = t('pc.context', {
      entity: last.entity || t('pc.context.noentity'), date: last.date, id: last.ids.join(', ')
    }) + (last.customs ? t('pc.context.customs', { customs: last.customs }) : '');
    var body = QD.clear($('result-body'));
    last.rows.forEach(function (r) { body.appendChild(row(r)); });
    $('receipt-download').hidden = !last.receipts.length;
    $('results').hidden = false;
    if (focus) sum.focus();
  }

  /* ---- results as CSV ---- */

  function csv() {
    var head = ['line', 'code_entered', 'description', 'code', 'ciq', 'decision', 'reason', 'reason_zh', 'reason_en',
      'list', 'list_version', 'entry_id', 'entry_name_zh', 'entry_name_en', 'entry_code', 'clauses', 'waives',
      'remark', 'near_misses', 'error', 'entity', 'date', 'decision_id', 'customs', 'name_declared', 'spec_declared',
      'scope', 'item_check', 'batch'];
    var rows = [head];
    last.rows.forEach(function (r) {
      var it = r.input, a = r.answer;
      if (a.error) {
        rows.push([it.ref, it.entered, it.desc, '', '', 'invalid', 'invalid', t('reason.invalid', null, 'zh'),
          t('reason.invalid', null, 'en'), '', '', '', '', '', '', '', '', '', '', a.error.message,
          last.entity || '', last.date, last.ids.join(' '), last.customs || '',
          last.goods ? it.name : '', last.goods ? it.spec : '', '', '', '']);
        return;
      }
      var b = a.basis, e = b ? b.entry : null;
      var remark = e && a.decision === 'allow' ? (e.conditions || []).filter(function (c) { return c.type === 'remark'; })
        .map(function (c) { return c.text; }).join(' | ') : '';
      var near = a.decision === 'allow' ? '' : nearMisses(a).map(function (x) {
        var k = nearKey(x.nm, a.query.entity);
        return x.list + ' ' + x.nm.entry.id + ': ' + t(k[0], k[1], 'en');
      }).join(' | ');
      rows.push([it.ref, it.entered, it.desc, a.query.code, a.query.ciq || '', a.decision, a.reason,
        t('reason.' + a.reason, null, 'zh'), t('reason.' + a.reason, null, 'en'),
        b ? b.list : '', b ? b.version : '', e ? e.id : '', e ? entryName(e, 'zh') : '',
        e && e.name.en ? e.name.en : '', e ? e.code + (e.ciq ? '/' + e.ciq : '') : '',
        b ? b.clauses.map(function (c) { return c.document + ' ' + (c.article || ''); }).join(' | ') : '',
        e && a.decision === 'allow' ? (e.waives || []).join(' | ') : '', remark, near, '',
        last.entity || '', last.date, last.ids.join(' '), a.query.customs || '',
        a.query.name || '', a.query.spec || '',
        b && b.scope ? (b.scope.customs || []).join(' | ') : '',
        b && b.item_check ? (b.item_check.name ? b.item_check.name.zh : '') + (b.item_check.spec ? ' / ' + b.item_check.spec : '') +
          ' [' + (b.item_check.checked || []).join(',') + ']' : '',
        b && b.batch ? b.batch.id + (b.batch.document ? ' ' + b.batch.document : '') : '']);
    });
    return '\ufeff' + QD.toCSV(rows);
  }

  /* ---- results as Excel ---- */

  /* The same check asked again with format=xlsx, one workbook per call of
   * 1000 items: the daemon writes them (qingdan-precheck-DATE[-k].xlsx). */
  function downloadXlsx() {
    if (!last) return Promise.resolve();
    var st = $('download-status'), btn = $('download-xlsx');
    var n = last.bodies.length, date = last.date, chain = Promise.resolve();
    btn.disabled = true;
    st.textContent = t('pc.download.xlsx.busy');
    showError('');
    last.bodies.forEach(function (body, k) {
      chain = chain.then(function () {
        return api('POST', '/v1/check?format=xlsx', { body: JSON.stringify(body),
          contentType: 'application/json; charset=utf-8', blob: true }).then(function (res) {
          if (tokenRefused(res)) throw new Error(t(res.sentToken ? 'pc.token.bad' : 'pc.token.need.check'));
          if (!res.ok || !res.blob) throw new Error(QD.errorText(res));
          QD.download('qingdan-precheck-' + date + (n > 1 ? '-' + (k + 1) : '') + '.xlsx', res.blob);
        });
      });
    });
    return chain.catch(function (e) {
      showError(e instanceof TypeError ? t('err.network', { message: e.message }) : e.message);
    }).then(function () {
      btn.disabled = false;
      st.textContent = '';
    });
  }

  /* ---- shareable link ---- */

  function linkFor() {
    var p = new URLSearchParams();
    var ent = $('entity').value.trim(), date = $('date').value, codes = $('codes').value.trim();
    if (ent) p.set('entity', ent);
    if (date) p.set('date', date);
    if (codes && codes.length <= 4000) p.set('codes', codes);
    if ($('list').value) p.set('list', $('list').value);
    if ($('customs').value.trim()) p.set('customs', $('customs').value.trim());
    if (QD.lang === 'en') p.set('lang', 'en');
    var q = p.toString();
    return window.location.pathname + (q ? '?' + q : '');
  }
  function updateLink() {
    var href = linkFor();
    $('share-link').setAttribute('href', href);
    try { window.history.replaceState(null, '', href); } catch (e) { /* ignore */ }
  }

  /* ---- signed receipts ---- */

  /* One file per check request (a shipment of more than BATCH items is
   * several checks), as qingdanctl verify-receipt and the section below
   * read it. */
  function downloadReceipts() {
    last.receipts.forEach(function (r) {
      QD.download('qingdan-receipt-' + last.date + '-' + r.id + '.json',
        JSON.stringify({ receipt: r.receipt }, null, 2) + '\n', 'application/json');
    });
  }

  /* The receipt in pasted text: the receipt itself, or an answer (or a
   * downloaded file) holding one. */
  function receiptOf(text) {
    var j = JSON.parse(text);
    var r = j && typeof j === 'object' && j.receipt && typeof j.receipt === 'object' ? j.receipt : j;
    return r && typeof r === 'object' && typeof r.payload === 'string' ? r : null;
  }

  function verdictRow(dl, key, text, cls) {
    dl.appendChild(el('dt', { text: t(key) }));
    dl.appendChild(el('dd', { text: text, class: cls || '' }));
  }

  var lastVerdict = null; // {v, receipt}, re-rendered on language change

  function showVerdict(v, receipt) {
    lastVerdict = { v: v, receipt: receipt };
    var dl = QD.clear($('rv-result'));
    verdictRow(dl, 'rv.sig', v.valid ? t('rv.sig.valid', { alg: receipt.alg, kid: v.kid })
      : t('rv.sig.invalid', { reason: v.reason || '' }), v.valid ? 'dec-allow' : 'dec-deny');
    var rep = !v.valid ? t('rv.repro.none')
      : v.reproduced === true ? t('rv.repro.same')
      : v.reproduced === false ? t('rv.repro.differs', { reason: v.reason || '' })
      : t('rv.repro.gone', { reason: v.reason || '' });
    verdictRow(dl, 'rv.repro', rep, v.valid && v.reproduced === true ? 'dec-allow' : 'dec-deny');
    var p = null;
    try { p = JSON.parse(receipt.payload); } catch (e) { p = null; }
    if (p && typeof p === 'object') {
      verdictRow(dl, 'rv.id', String(p.decision_id || ''));
      verdictRow(dl, 'rv.issued', String(p.issued_at || ''));
      if (p.client_ref) verdictRow(dl, 'rv.client_ref', String(p.client_ref));
      var dec = t(p.decision === 'allow' ? 'dec.allow' : 'dec.deny');
      if (Array.isArray(p.items)) dec += ' · ' + t('rv.items', { n: p.items.length });
      verdictRow(dl, 'rv.decision', dec);
    }
    dl.hidden = false;
  }

  function verifyReceipt() {
    var st = $('rv-status');
    st.hidden = true;
    $('rv-result').hidden = true;
    var text = $('rv-text').value.trim();
    if (!text) { st.textContent = t('rv.empty'); st.hidden = false; return Promise.resolve(); }
    var receipt;
    try {
      receipt = receiptOf(text);
    } catch (e) {
      st.textContent = t('rv.notjson', { message: e.message });
      st.hidden = false;
      return Promise.resolve();
    }
    if (!receipt) { st.textContent = t('rv.noreceipt'); st.hidden = false; return Promise.resolve(); }
    $('rv-check').disabled = true;
    return api('POST', '/v1/receipts/verify', { json: { receipt: receipt } }).then(function (res) {
      if (tokenRefused(res)) throw new Error(t(res.sentToken ? 'pc.token.bad' : 'pc.token.need.check'));
      if (!res.ok || !res.json) {
        var d = res.json && res.json.error && res.json.error.details;
        throw new Error(QD.errorText(res) + (d && d.length ? ' — ' + QD.where(d[0]) : ''));
      }
      showVerdict(res.json, receipt);
    }).catch(function (e) {
      st.textContent = e instanceof TypeError ? t('err.network', { message: e.message }) : e.message;
      st.hidden = false;
    }).then(function () { $('rv-check').disabled = false; });
  }

  /* ---- start ---- */

  document.addEventListener('DOMContentLoaded', function () {
    // Only these parameters are read: a token in the address is never taken.
    var p = new URLSearchParams(window.location.search);
    $('date').value = QD.validDate(p.get('date') || '') ? p.get('date') : QD.todayChina();
    if (p.get('entity')) $('entity').value = p.get('entity');
    $('customs').value = p.get('customs') || storedCustoms();
    var codes = p.getAll('codes').join('\n');
    if (codes) $('codes').value = codes;
    wantList = p.get('list') || '';
    if ($('entity').value) entityStatus();

    $('token-form').addEventListener('submit', function (ev) { ev.preventDefault(); useToken(); });
    $('token-forget').addEventListener('click', forgetToken);
    $('entity').addEventListener('input', entityStatus);
    $('check-form').addEventListener('submit', function (ev) { ev.preventDefault(); run(); });
    $('codes').addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); }
    });
    $('file').addEventListener('change', function () {
      if (this.files && this.files[0]) importFile(this.files[0]);
    });
    $('clear').addEventListener('click', function () {
      $('codes').value = '';
      $('file').value = '';
      $('file-status').textContent = '';
      showError('');
      $('results').hidden = true;
      last = null;
      try { window.history.replaceState(null, '', window.location.pathname); } catch (e) { /* ignore */ }
      $('codes').focus();
    });
    $('download').addEventListener('click', function () {
      if (last) QD.download('qingdan-precheck-' + last.date + '.csv', csv());
    });
    $('receipt-download').addEventListener('click', function () { if (last) downloadReceipts(); });
    $('verify-form').addEventListener('submit', function (ev) { ev.preventDefault(); verifyReceipt(); });
    $('rv-file').addEventListener('change', function () {
      var f = this.files && this.files[0];
      if (f) f.text().then(function (s) { $('rv-text').value = s; verifyReceipt(); });
    });
    $('download-xlsx').addEventListener('click', downloadXlsx);
    $('share').addEventListener('click', function () {
      var url = new URL($('share-link').getAttribute('href'), window.location.href).href;
      var st = $('share-status');
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(function () { st.textContent = t('pc.share.copied'); },
          function () { st.textContent = t('pc.share.manual'); });
      } else {
        st.textContent = t('pc.share.manual');
      }
    });
    QD.onLang(function () {
      var sel = $('list');
      for (var i = 1; i < sel.options.length; i++) {
        var l = lists[sel.options[i].value];
        if (l) sel.options[i].textContent = QD.title(l.title, l.id);
      }
      if ($('entity').value) entityStatus();
      if (tokenState) showTokenState(tokenState.key, tokenState.state, tokenState.vars);
      render(false);
      if (last) updateLink();
      if (lastVerdict && !$('rv-result').hidden) showVerdict(lastVerdict.v, lastVerdict.receipt);
    });

    if (token()) {
      // A token kept from earlier in this tab: show that it is in use, so it can be forgotten.
      $('token-form').hidden = false;
      tryToken();
    } else {
      loadLists();
    }
    if (codes.trim()) run();
  });
}());
