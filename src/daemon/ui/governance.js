/* qingdan pages: governed publication on the list update page (GET
 * /ui/admin) — proposals (four eyes: one admin proposes, another approves
 * or rejects after reading the diff), versions scheduled to take effect
 * later (with cancel), and the "expiring soon" panel.  The admin token is
 * the page's (sessionStorage, this tab only).  Its strings are kept here
 * and added to the page's (QD.addStrings). */
(function () {
  'use strict';
  var QD = window.QD;
  var $ = QD.$, el = QD.el, t = QD.t;
  var TOKEN_KEY = 'qd.admin.token';

  QD.addStrings({
    zh: {
      'gv.exp': '即将到期',
      'gv.exp.hint': '有效期止（valid_to）落在今后若干天内（北京时间，含今天）的条目和名单单位；已撤销的不列出。',
      'gv.exp.list': '清单',
      'gv.exp.within': '天数',
      'gv.exp.show': '查看',
      'gv.exp.date': '有效期止',
      'gv.exp.kind': '类型',
      'gv.exp.id': '编号',
      'gv.exp.code': '商品编码',
      'gv.exp.name': '名称',
      'gv.exp.status': '状态',
      'gv.exp.entry': '条目',
      'gv.exp.member': '名单单位',
      'gv.exp.summary': '{list}（第 {v} 版）：{from} 至 {until} 到期 {entries} 个条目、{members} 个名单单位。',
      'gv.exp.none': '{list}（第 {v} 版）：{from} 至 {until} 没有到期的条目或名单单位。',
      'gv.exp.more': '只列出最早到期的 {n} 项。',
      'gv.exp.badwithin': '天数须为 1 至 3660 的整数。',
      'gv.status.active': '有效',
      'gv.status.suspended': '暂停',
      'gv.prop': '双人复核',
      'gv.prop.hint': '一名管理员提交变更，另一名管理员核对差异后批准，才会保存；可指定生效时间。',
      'gv.prop.list': '目标清单',
      'gv.prop.file': '清单文件（JSON、CSV 或 .xlsx）',
      'gv.prop.effective': '生效时间（北京时间，可不填）',
      'gv.prop.effective.hint': '不填则批准后立即生效。',
      'gv.prop.submit': '提交复核',
      'gv.prop.no': '编号',
      'gv.prop.by': '提交人',
      'gv.prop.when': '提交时间',
      'gv.prop.diff': '差异',
      'gv.prop.eff': '生效时间',
      'gv.prop.state': '状态',
      'gv.prop.show': '查看',
      'gv.prop.now': '批准后立即',
      'gv.prop.comment': '复核意见（可不填）',
      'gv.prop.approve': '批准',
      'gv.prop.reject': '驳回',
      'gv.prop.none': '没有变更提案。',
      'gv.prop.nofile': '请选择目标清单和文件。',
      'gv.prop.made': '已提交第 {n} 号提案：{list}（新增 {a}、删除 {r}、修改 {c}），等待另一名管理员复核。',
      'gv.prop.detail': '第 {n} 号提案：{list}，由 {by} 提交，基于第 {base} 版，{entries} 个条目。',
      'gv.prop.stale': '清单在提交后已被更改，此提案已过时，无法批准；请重新提交。',
      'gv.prop.approved': '已批准第 {n} 号提案：{list} 第 {v} 版。',
      'gv.prop.rejected': '已驳回第 {n} 号提案。',
      'gv.state.pending': '待复核',
      'gv.state.approved': '已批准',
      'gv.state.rejected': '已驳回',
      'gv.state.expired': '已过期',
      'gv.sched': '定时生效',
      'gv.sched.hint': '已保存、将在指定时间生效的版本；生效之前可以取消。',
      'gv.sched.cancel': '取消',
      'gv.sched.cancel.label': '取消第 {v} 版的定时生效',
      'gv.sched.none': '{list} 没有定时生效的版本。',
      'gv.sched.some': '{list} 当前为第 {v} 版；以下版本将按时生效：',
      'gv.sched.cancelled': '已取消第 {v} 版的定时生效。'
    },
    en: {
      'gv.exp': 'Expiring soon',
      'gv.exp.hint': 'Entries and roster members whose valid_to falls within the next days (China time, today included); revoked ones are not listed.',
      'gv.exp.list': 'List',
      'gv.exp.within': 'Days',
      'gv.exp.show': 'Show',
      'gv.exp.date': 'Valid to',
      'gv.exp.kind': 'Kind',
      'gv.exp.id': 'Id',
      'gv.exp.code': 'Commodity code',
      'gv.exp.name': 'Name',
      'gv.exp.status': 'Status',
      'gv.exp.entry': 'entry',
      'gv.exp.member': 'roster member',
      'gv.exp.summary': '{list} (version {v}): {entries} entries and {members} roster members end from {from} to {until}.',
      'gv.exp.none': '{list} (version {v}): nothing ends from {from} to {until}.',
      'gv.exp.more': 'Only the {n} that end first are listed.',
      'gv.exp.badwithin': 'Days must be a whole number from 1 to 3660.',
      'gv.status.active': 'active',
      'gv.status.suspended': 'suspended',
      'gv.prop': 'Four eyes',
      'gv.prop.hint': 'One admin proposes a change; it is stored only when another admin has read the diff and approves it. It may take effect at a later time.',
      'gv.prop.list': 'Target list',
      'gv.prop.file': 'List file (JSON, CSV or .xlsx)',
      'gv.prop.effective': 'Takes effect at (China time, optional)',
      'gv.prop.effective.hint': 'Empty: as soon as it is approved.',
      'gv.prop.submit': 'Propose',
      'gv.prop.no': 'No.',
      'gv.prop.by': 'Proposed by',
      'gv.prop.when': 'Proposed at',
      'gv.prop.diff': 'Changes',
      'gv.prop.eff': 'Takes effect',
      'gv.prop.state': 'State',
      'gv.prop.show': 'Show',
      'gv.prop.now': 'on approval',
      'gv.prop.comment': 'Review comment (optional)',
      'gv.prop.approve': 'Approve',
      'gv.prop.reject': 'Reject',
      'gv.prop.none': 'No proposals.',
      'gv.prop.nofile': 'Choose a target list and a file.',
      'gv.prop.made': 'Proposal {n} made: {list} (+{a} −{r} ~{c}); another admin reviews it.',
      'gv.prop.detail': 'Proposal {n}: {list}, by {by}, against version {base}, {entries} entries.',
      'gv.prop.stale': 'The list has changed since: this proposal is stale and cannot be approved; propose again.',
      'gv.prop.approved': 'Proposal {n} approved: {list} version {v}.',
      'gv.prop.rejected': 'Proposal {n} rejected.',
      'gv.state.pending': 'pending',
      'gv.state.approved': 'approved',
      'gv.state.rejected': 'rejected',
      'gv.state.expired': 'expired',
      'gv.sched': 'Scheduled versions',
      'gv.sched.hint': 'Versions stored now that take effect at a later time; they can be cancelled until then.',
      'gv.sched.cancel': 'Cancel',
      'gv.sched.cancel.label': 'Cancel the scheduled version {v}',
      'gv.sched.none': '{list}: no version is scheduled.',
      'gv.sched.some': '{list} is at version {v}; these take effect at their time:',
      'gv.sched.cancelled': 'Version {v} will not take effect.'
    }
  });

  function token() { return QD.storedToken(TOKEN_KEY); }

  /* ---- expiring soon ---- */

  var expiring = null; // the last GET /v1/lists/{id}/expiring reply
  var expError = null; // {key} or {text} of the last failure

  function fillListChoice() {
    return QD.api('GET', '/v1/lists', { token: token() || undefined }).then(function (res) {
      if (!res.ok || !res.json) return;
      ['exp-list', 'prop-list', 'sched-list'].forEach(function (id) {
        var sel = $(id), keep = sel.value;
        QD.clear(sel);
        res.json.lists.forEach(function (l) {
          sel.appendChild(el('option', { value: l.id, text: l.id + ' — ' + QD.title(l.title, l.id) }));
        });
        if (keep) sel.value = keep;
      });
    }, function () { /* the lists table reports it */ });
  }

  /* A status line of a panel: {key, vars} or {text}, kind ok | error. */
  function status(id, kind, msg) {
    var p = $(id);
    p.setAttribute('data-kind', kind || '');
    p.className = 'status' + (kind === 'error' ? ' error' : '');
    p.textContent = !msg ? '' : msg.key ? t(msg.key, msg.vars) : msg.text;
  }
  function failed(id, res) { status(id, 'error', { text: QD.errorText(res) }); }
  function offline(id, e) { status(id, 'error', { text: t('err.network', { message: e.message }) }); }
  function changed() { document.dispatchEvent(new Event('qd:lists-changed')); }

  /* ---- proposals ---- */

  var proposals = [];   // GET /v1/proposals
  var shown = null;     // GET /v1/proposals/{n} of the one shown

  function loadProposals() {
    if (!token()) return Promise.resolve();
    return QD.api('GET', '/v1/proposals?limit=50', { token: token() }).then(function (res) {
      if (!res.ok || !res.json) return;
      proposals = res.json.proposals;
      renderProposals();
    }, function () { /* reported by the token check */ });
  }

  function diffText(d) { return '+' + d.added + ' −' + d.removed + ' ~' + d.changed; }

  function renderProposals() {
    var body = QD.clear($('prop-body'));
    proposals.forEach(function (p) {
      var td = function (key, content) { return el('td', { 'data-label': t(key) }, content); };
      body.appendChild(el('tr', { 'data-proposal': p.proposal, 'data-state': p.state },
        td('gv.prop.no', String(p.proposal)),
        td('gv.prop.list', el('code', { text: p.list })),
        td('gv.prop.by', p.proposer),
        td('gv.prop.when', QD.chinaTime(p.created_at)),
        td('gv.prop.diff', diffText(p.diff)),
        td('gv.prop.eff', p.effective_at ? QD.chinaTime(p.effective_at) : t('gv.prop.now')),
        td('gv.prop.state', t('gv.state.' + p.state) + (p.stale ? ' ⚠' : '')),
        el('td', {}, el('button', { type: 'button', class: 'show-proposal', 'data-proposal': p.proposal,
          text: t('gv.prop.show'), 'aria-label': t('gv.prop.show') + ' ' + p.proposal }))));
    });
    $('prop-table').hidden = !proposals.length;
    renderShown();
  }

  function showProposal(n) {
    return QD.api('GET', '/v1/proposals/' + n, { token: token() }).then(function (res) {
      if (!res.ok || !res.json) { failed('prop-status', res); return; }
      shown = res.json;
      renderShown();
      $('prop-detail').focus();
    }, function (e) { offline('prop-status', e); });
  }

  function renderShown() {
    var box = $('prop-detail');
    if (!shown) { box.hidden = true; return; }
    box.hidden = false;
    box.setAttribute('data-proposal', shown.proposal);
    var p = shown;
    $('prop-summary').textContent = t('gv.prop.detail', { n: p.proposal, list: p.list, by: p.proposer,
      base: p.base_version === null ? '—' : p.base_version, entries: p.entries }) + ' ' + diffText(p.diff) +
      (p.stale ? ' ' + t('gv.prop.stale') : '');
    var body = QD.clear($('prop-changes-body'));
    (p.changes || []).forEach(function (c) {
      body.appendChild(el('tr', { 'data-id': c.id, 'data-kind': c.kind },
        el('td', { 'data-label': t('ad.diff.id') }, el('code', { text: c.id })),
        el('td', { 'data-label': t('ad.diff.kind') }, t('diff.' + c.kind)),
        el('td', { 'data-label': t('ad.diff.fields') }, (c.fields || []).join(', '))));
    });
    var open = p.state === 'pending';
    $('prop-approve').hidden = !open || p.stale;
    $('prop-reject').hidden = !open;
  }

  function decide(what) {
    if (!shown) return Promise.resolve();
    var n = shown.proposal, comment = $('prop-comment').value.trim();
    return QD.api('POST', '/v1/proposals/' + n + '/' + what, { token: token(), json: comment ? { comment: comment } : {} })
      .then(function (res) {
        if (!res.ok || !res.json) { failed('prop-status', res); return; }
        shown = res.json;
        $('prop-comment').value = '';
        status('prop-status', 'ok', what === 'approve'
          ? { key: 'gv.prop.approved', vars: { n: n, list: shown.list, v: shown.version } }
          : { key: 'gv.prop.rejected', vars: { n: n } });
        changed();
        return loadProposals();
      }, function (e) { offline('prop-status', e); });
  }

  function fileType(name) {
    if (/\.xlsx$/i.test(name)) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    return /\.csv$/i.test(name) ? 'text/csv' : 'application/json';
  }

  function propose() {
    var list = $('prop-list').value, f = $('prop-file').files[0], eff = $('prop-effective').value;
    if (!list || !f) { status('prop-status', 'error', { key: 'gv.prop.nofile' }); return Promise.resolve(); }
    var q = '?propose=true';
    if (eff) q += '&effective_at=' + encodeURIComponent((eff.length === 16 ? eff + ':00' : eff) + '+08:00');
    return f.arrayBuffer().then(function (buf) {
      return QD.api('PUT', '/v1/lists/' + encodeURIComponent(list) + q,
        { token: token(), contentType: fileType(f.name), body: buf });
    }).then(function (res) {
      if (res.status !== 202 || !res.json) { failed('prop-status', res); return; }
      var p = res.json;
      status('prop-status', 'ok', { key: 'gv.prop.made', vars: { n: p.proposal, list: p.list, a: p.diff.added,
        r: p.diff.removed, c: p.diff.changed } });
      return loadProposals();
    }, function (e) { offline('prop-status', e); });
  }

  /* ---- scheduled versions ---- */

  var sched = null;     // GET /v1/lists/{id} of the list shown
  var schedNote = null; // the version just cancelled in it, said after the schedule

  function loadSchedule() {
    var list = $('sched-list').value;
    if (!list) return Promise.resolve();
    return QD.api('GET', '/v1/lists/' + encodeURIComponent(list), { token: token() || undefined }).then(function (res) {
      sched = res.ok && res.json ? res.json : null;
      renderSchedule();
    }, function () { /* the lists table reports it */ });
  }

  function renderSchedule() {
    var body = QD.clear($('sched-body'));
    if (!sched) { $('sched-summary').textContent = ''; $('sched-table').hidden = true; return; }
    var items = sched.schedule || [];
    $('sched-summary').textContent = t(items.length ? 'gv.sched.some' : 'gv.sched.none', { list: sched.id, v: sched.version }) +
      (schedNote && schedNote.list === sched.id ? ' ' + t('gv.sched.cancelled', { v: schedNote.v }) : '');
    items.forEach(function (it) {
      body.appendChild(el('tr', { 'data-version': it.version },
        el('td', { 'data-label': t('ad.h.version') }, String(it.version)),
        el('td', { 'data-label': t('gv.prop.eff') }, QD.chinaTime(it.effective_at)),
        el('td', {}, el('button', { type: 'button', class: 'danger cancel-schedule', 'data-version': it.version,
          text: t('gv.sched.cancel'), 'aria-label': t('gv.sched.cancel.label', { v: it.version }) }))));
    });
    $('sched-table').hidden = !items.length;
  }

  function cancelSchedule(v) {
    var list = sched.id;
    return QD.api('DELETE', '/v1/lists/' + encodeURIComponent(list) + '/scheduled?version=' + v, { token: token() })
      .then(function (res) {
        if (!res.ok) { $('sched-summary').textContent = QD.errorText(res); return; }
        schedNote = { list: list, v: v };
        changed(); // reloads the lists, and this schedule with the note
      }, function (e) { $('sched-summary').textContent = t('err.network', { message: e.message }); });
  }

  function showExpiring() {
    var list = $('exp-list').value, within = $('exp-within').value.trim();
    if (!/^[0-9]{1,4}$/.test(within) || Number(within) < 1 || Number(within) > 3660) {
      expiring = null;
      expError = { key: 'gv.exp.badwithin' };
      renderExpiring();
      $('exp-within').focus();
      return Promise.resolve();
    }
    if (!list) return Promise.resolve();
    var path = '/v1/lists/' + encodeURIComponent(list) + '/expiring?within=' + within;
    return QD.api('GET', path, { token: token() || undefined }).then(function (res) {
      expiring = res.ok && res.json ? res.json : null;
      expError = expiring ? null : { text: QD.errorText(res) };
      renderExpiring();
    }, function (e) {
      expiring = null;
      expError = { text: t('err.network', { message: e.message }) };
      renderExpiring();
    });
  }

  function entryName(item) {
    var n = item.entry && item.entry.name;
    if (!n) return '';
    return (QD.lang === 'en' && n.en) ? n.en : (n.zh || n.en || '');
  }

  function renderExpiring() {
    var sum = $('exp-summary'), body = QD.clear($('exp-body'));
    sum.className = expError ? 'summary error' : 'summary';
    if (expError) {
      sum.textContent = expError.key ? t(expError.key) : expError.text;
      $('exp-table').hidden = true;
      return;
    }
    if (!expiring) { sum.textContent = ''; $('exp-table').hidden = true; return; }
    var e = expiring, vars = { list: e.list, v: e.version, from: e.today, until: e.until,
      entries: e.entries, members: e.members };
    sum.textContent = t(e.items.length ? 'gv.exp.summary' : 'gv.exp.none', vars) +
      (e.truncated ? ' ' + t('gv.exp.more', { n: e.items.length }) : '');
    e.items.forEach(function (it) {
      var td = function (key, content, cls) { return el('td', { 'data-label': t(key), class: cls }, content); };
      body.appendChild(el('tr', { 'data-kind': it.kind, 'data-id': it.id },
        td('gv.exp.date', it.valid_to),
        td('gv.exp.kind', t('gv.exp.' + it.kind)),
        td('gv.exp.id', el('code', { text: it.id })),
        td('gv.exp.code', it.code ? el('code', { text: it.code + (it.ciq ? ' ' + it.ciq : '') }) : ''),
        td('gv.exp.name', entryName(it)),
        td('gv.exp.status', t('gv.status.' + it.status))));
    });
    $('exp-table').hidden = !e.items.length;
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('exp-form').addEventListener('submit', function (ev) { ev.preventDefault(); showExpiring(); });
    $('prop-form').addEventListener('submit', function (ev) { ev.preventDefault(); propose(); });
    $('prop-body').addEventListener('click', function (ev) {
      var b = ev.target.closest('button.show-proposal');
      if (b) showProposal(b.getAttribute('data-proposal'));
    });
    $('prop-approve').addEventListener('click', function () { decide('approve'); });
    $('prop-reject').addEventListener('click', function () { decide('reject'); });
    $('sched-list').addEventListener('change', function () { schedNote = null; loadSchedule(); });
    $('sched-body').addEventListener('click', function (ev) {
      var b = ev.target.closest('button.cancel-schedule');
      if (b) cancelSchedule(Number(b.getAttribute('data-version')));
    });
    // The token is checked by the page: proposals follow it.
    $('token-form').addEventListener('submit', function () { setTimeout(loadProposals, 0); });
    document.addEventListener('qd:lists-changed', loadSchedule);
    QD.onLang(function () { renderExpiring(); renderProposals(); renderSchedule(); });
    fillListChoice().then(function () { showExpiring(); loadSchedule(); loadProposals(); });
  });
}());
