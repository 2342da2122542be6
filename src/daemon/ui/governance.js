/* qingdan pages: governed publication on the list update page (GET
 * /ui/admin) — the "expiring soon" panel (GET /v1/lists/{id}/expiring).
 * Its strings are kept here and added to the page's (QD.addStrings). */
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
      'gv.status.suspended': '暂停'
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
      'gv.status.suspended': 'suspended'
    }
  });

  function token() { return QD.storedToken(TOKEN_KEY); }

  /* ---- expiring soon ---- */

  var expiring = null; // the last GET /v1/lists/{id}/expiring reply
  var expError = null; // {key} or {text} of the last failure

  function fillListChoice() {
    return QD.api('GET', '/v1/lists', { token: token() || undefined }).then(function (res) {
      if (!res.ok || !res.json) return;
      var sel = $('exp-list'), keep = sel.value;
      QD.clear(sel);
      res.json.lists.forEach(function (l) {
        sel.appendChild(el('option', { value: l.id, text: l.id + ' — ' + QD.title(l.title, l.id) }));
      });
      if (keep) sel.value = keep;
    }, function () { /* the lists table reports it */ });
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
    QD.onLang(renderExpiring);
    fillListChoice().then(showExpiring);
  });
}());
