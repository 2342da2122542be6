'use strict';
/* Browser tests of the qingdand pages, in Debian's headless Chromium driven
 * by playwright-core.  Run by tests/browser/run.sh, which starts a daemon
 * with the sample lists and passes:
 *   QD_URL          base URL of the daemon
 *   QD_ADMIN_TOKEN  an admin token it accepts
 *   QD_AUTH_URL     base URL of a second daemon, run with --read-auth token
 *   QD_READER_TOKEN a reader token both daemons accept
 *   QD_EXAMPLES     schema/examples/
 *   QD_UI_SRC       src/daemon/ui/ (the page sources, for static checks)
 *   QD_ARTIFACTS    where to save screenshots
 *   QD_USER_DATA    a fresh Chromium profile directory
 * Prints one line per test and Check's summary line at the end. */
const fs = require('fs');
const { execFileSync } = require('child_process');
const path = require('path');
const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');

const BASE = process.env.QD_URL || 'http://127.0.0.1:8080';
const TOKEN = process.env.QD_ADMIN_TOKEN || '';
const AUTH = process.env.QD_AUTH_URL || '';
const READER = process.env.QD_READER_TOKEN || '';
const APPROVER = process.env.QD_APPROVER_TOKEN || '';
const EXAMPLES = process.env.QD_EXAMPLES || path.join(__dirname, '../../schema/examples');
const UI_SRC = process.env.QD_UI_SRC || path.join(__dirname, '../../src/daemon/ui');
const ARTIFACTS = process.env.QD_ARTIFACTS || path.join(__dirname, '../artifacts');
const USER_DATA = process.env.QD_USER_DATA || fs.mkdtempSync('/tmp/qd-chromium-');

const ENTITY = '91440115MA9W3K7C66'; // on the sample positive list's roster
const DATE = '2026-11-26';
const GBA = 'gba-research-positive';

const tests = [];
function test(name, fn) { tests.push({ name, fn }); }

let ctx;
/* A fresh tab; page errors, CSP violations and console errors fail the test. */
async function newPage(problems) {
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // The browser logs every non-2xx fetch; the tests provoke 401/412/422 on purpose.
    if (/^Failed to load resource: the server responded with a status of (4\d\d)/.test(text)) return;
    problems.push('console error: ' + text);
  });
  return page;
}
async function shot(page, name, opts) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot(Object.assign({ path: path.join(ARTIFACTS, name), fullPage: true }, opts || {}));
}
function todayChina() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}
async function api(method, p, opts) {
  opts = opts || {};
  const h = {};
  if (opts.token) h.Authorization = 'Bearer ' + opts.token;
  if (opts.type) h['Content-Type'] = opts.type;
  if (opts.ifMatch) h['If-Match'] = '"' + opts.ifMatch + '"';
  const r = await fetch(BASE + p, { method, headers: h, body: opts.body, redirect: 'manual' });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}
/* RFC 4180 rows. */
function parseCSV(text) {
  const rows = [];
  let row = [], cell = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\r') { /* CRLF */ }
    else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; }
    else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}
/* An .xlsx workbook from a JSON description (tests/data/xlsx/make_xlsx.py). */
function workbook(spec) {
  const out = path.join(fs.mkdtempSync('/tmp/qd-ui-xlsx-'), 'w.xlsx');
  execFileSync('python3', [path.join(__dirname, '../data/xlsx/make_xlsx.py'), out], { input: JSON.stringify(spec) });
  return fs.readFileSync(out);
}
/* A workbook's sheets read back (tests/data/xlsx/read_xlsx.py): {name → rows}. */
function readWorkbook(file) {
  const wb = JSON.parse(execFileSync('python3', [path.join(__dirname, '../data/xlsx/read_xlsx.py'), file]));
  const out = {};
  for (const s of wb.sheets) out[s.name] = s.rows;
  return out;
}
function readWorkbookBuffer(buf) {
  const f = path.join(fs.mkdtempSync('/tmp/qd-ui-xlsx-'), 'r.xlsx');
  fs.writeFileSync(f, buf);
  return readWorkbook(f);
}
function sample(name) { return JSON.parse(fs.readFileSync(path.join(EXAMPLES, name + '.json'), 'utf8')); }

/* What a result row shows. */
async function row(page, ref) {
  const tr = page.locator(`#result-body tr[data-ref="${ref}"]`);
  await tr.waitFor();
  return {
    decision: await tr.getAttribute('data-decision'),
    reason: await tr.getAttribute('data-reason'),
    code: await tr.locator('td.c-code').innerText(),
    decisionText: await tr.locator('td.c-decision').innerText(),
    reasonText: await tr.locator('td.c-reason').innerText(),
    basis: await tr.locator('td.c-basis').innerText(),
    notes: await tr.locator('td.c-notes').innerText(),
    tr
  };
}
function noProhibition(text, where) {
  assert.doesNotMatch(text, /禁止|prohibit|forbidden|banned/i, `${where} must never call a deny a prohibition: ${text}`);
}

/* ------------------------------------------------------------------ */

test('serving: redirect, content types, Cache-Control, ETag and security headers', async () => {
  let r = await api('GET', '/ui');
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/ui/');
  r = await api('GET', '/ui?entity=HK%3A1&codes=3822%0A9012');
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/ui/?entity=HK:1&codes=3822%0A9012');

  const want = {
    '/ui/': 'text/html', '/ui/admin': 'text/html', '/ui/index.html': 'text/html', '/ui/app.css': 'text/css',
    '/ui/i18n.js': 'text/javascript', '/ui/common.js': 'text/javascript',
    '/ui/precheck.js': 'text/javascript', '/ui/admin.js': 'text/javascript',
    '/ui/governance.js': 'text/javascript'
  };
  for (const [p, type] of Object.entries(want)) {
    r = await api('GET', p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('content-type'), type + '; charset=utf-8', p);
    const csp = r.headers.get('content-security-policy') || '';
    assert.match(csp, /default-src 'self'/, p);
    assert.match(csp, /script-src 'self'(;|$)/, p);
    assert.match(csp, /style-src 'self'(;|$)/, p);
    assert.match(csp, /frame-ancestors 'none'/, p);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, p);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', p);
    assert.equal(r.headers.get('cache-control'), 'no-cache', p);
    const etag = r.headers.get('etag');
    assert.match(etag || '', /^"[0-9a-f]{20}"$/, p);
    const again = await fetch(BASE + p, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304, p + ' revalidates with If-None-Match');
  }
  r = await api('GET', '/ui/nope.js');
  assert.equal(r.status, 404);
  r = await api('POST', '/ui/');
  assert.equal(r.status, 405);

  // The embedded files are the sources, and the sources follow the CSP:
  // no inline script, no inline handlers or styles, nothing from elsewhere.
  for (const f of fs.readdirSync(UI_SRC)) {
    if (!/\.(html|css|js)$/.test(f)) continue;
    const src = fs.readFileSync(path.join(UI_SRC, f), 'utf8');
    const served = await api('GET', '/ui/' + f);
    assert.equal(served.text, src, `/ui/${f} serves the current ${f} (rebuild?)`);
    if (f.endsWith('.html')) {
      for (const m of src.matchAll(/<script\b([^>]*)>/g)) assert.match(m[1], /\bsrc="\/ui\/[a-z0-9]+\.js"/, f + ': inline <script>');
      assert.doesNotMatch(src, /\son[a-z]+\s*=/i, f + ': inline event handler');
      assert.doesNotMatch(src, /\sstyle\s*=|<style/i, f + ': inline style');
      assert.doesNotMatch(src, /(src|href)="(https?:)?\/\//i, f + ': external asset');
    }
    if (f.endsWith('.css')) assert.doesNotMatch(src, /url\(|@import|@font-face/i, f + ': fetched asset');
    if (f.endsWith('.js')) assert.doesNotMatch(src, /innerHTML|eval\(|new Function/, f + ': unsafe DOM/script construct');
  }
});

test('pre-check: institution id is validated as it is typed (USCC check character, HK:/MO:)', async (problems) => {
  const page = await newPage(problems);
  await page.goto(BASE + '/ui/');
  const status = page.locator('#entity-status');
  const type = async (v) => { await page.fill('#entity', ''); await page.locator('#entity').pressSequentially(v); };

  await type('9111000060003734');
  assert.match(await status.getAttribute('class'), /state-partial/);
  assert.match(await status.innerText(), /16\/18/);
  await type('91110000600037341X');
  assert.match(await status.getAttribute('class'), /state-bad/);
  assert.match(await status.innerText(), /“L”/, 'names the expected check character');
  assert.equal(await page.getAttribute('#entity', 'aria-invalid'), 'true');
  await type('91110000600037341L'); // GB 32100-2015 test vector
  assert.match(await status.getAttribute('class'), /state-ok/);
  assert.match(await status.innerText(), /校验通过/);
  assert.equal(await page.getAttribute('#entity', 'aria-invalid'), null);
  await type('91110000600037341l'); // lowercase is accepted
  assert.match(await status.getAttribute('class'), /state-ok/);
  await type('9144011SMA9W3K7C66');
  assert.match(await status.getAttribute('class'), /state-bad/);
  assert.match(await status.innerText(), /“S”/);
  await type('MO');
  assert.match(await status.getAttribute('class'), /state-partial/, 'MO before the colon is not an error');
  await type('MO:80321');
  assert.match(await status.getAttribute('class'), /state-ok/);
  await type('HK:12345678');
  assert.match(await status.getAttribute('class'), /state-ok/);
  await type('HK:12 34');
  assert.match(await status.getAttribute('class'), /state-bad/);

  // An invalid id stops the check with a message, and focus goes back to it.
  await type('91110000600037341X');
  await page.fill('#codes', '3822190090');
  await page.click('#submit');
  await page.locator('#form-error').waitFor();
  assert.match(await page.innerText('#form-error'), /单位代码/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'entity');
  assert.equal(await page.isHidden('#results'), true);
  await page.close();
});

const SHIPMENT = [
  '3822.1900.90,体外诊断试剂', // 1 allow: positive list heading 3822 (PL-0001)
  '3002901000,石房蛤毒素',     // 2 deny excluded: carve-out PL-0011
  '8471300000,笔记本电脑',     // 3 deny not_listed
  '38x',                       // 4 invalid
  '9012,电子显微镜',           // 5 deny not_yet_effective: PL-0027 valid from 2027-01-01
  '3002510000,细胞治疗对照品', // 6 allow: whitelist WL-0008 (remark, waives Q)
  '',
  '3004909099,化学药品'        // 8 deny entity_not_eligible: whitelist entries of other institutions
].join('\n');

test('pre-check: a shipment with allowed, excluded, unlisted and invalid codes (keyboard only)', async (problems) => {
  const page = await newPage(problems);
  await page.goto(BASE + '/ui/');
  assert.equal(await page.inputValue('#date'), todayChina(), 'date defaults to today in China time');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN', 'Chinese first');

  // Keyboard only: type into the labelled fields, Tab to the button, Enter.
  await page.focus('#entity');
  await page.keyboard.type(ENTITY);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'date');
  await page.fill('#date', DATE);
  await page.focus('#codes');
  await page.keyboard.insertText(SHIPMENT);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'file');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'submit');
  await page.keyboard.press('Enter');
  await page.locator('#result-body tr[data-ref="8"]').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'summary', 'focus moves to the summary');

  assert.equal(await page.locator('#result-body tr').count(), 7, 'one row per item (blank line skipped)');

  const r1 = await row(page, 1);
  assert.equal(r1.decision, 'allow');
  assert.equal(r1.reason, 'listed');
  assert.match(r1.code, /3822\.1900\.90/, 'code as entered');
  assert.match(r1.code, /3822190090/, 'code normalised');
  assert.match(r1.code, /体外诊断试剂/, 'description kept');
  assert.match(r1.decisionText, /✓\s*适用便利措施/, 'decision is text and icon, not colour alone');
  assert.match(r1.reasonText, /已列入清单/);
  assert.match(r1.reasonText, /Listed: the facilitation applies/, 'reason in both languages');
  assert.match(r1.basis, /粤港澳大湾区/, 'deciding list');
  assert.match(r1.basis, /PL-0001/);
  assert.match(r1.basis, /诊断或实验用试剂/, 'entry name');
  assert.match(r1.basis, /署综函〔2022〕143号/, 'clause document');
  assert.match(r1.basis, /一（一）/, 'clause article');
  const clause = r1.tr.locator('details.clause').first();
  assert.equal(await clause.locator('.clause-text').isVisible(), false, 'clause text on demand');
  await clause.locator('summary').click();
  assert.equal(await clause.locator('.clause-text').isVisible(), true);
  assert.match(await clause.locator('.clause-text').innerText(), /跨境科研/);
  assert.match(r1.notes, /仅限所列机构自用于科学研究/, 'entry note');

  const r2 = await row(page, 2);
  assert.equal(r2.decision, 'deny');
  assert.equal(r2.reason, 'excluded');
  assert.match(r2.decisionText, /未纳入/);
  assert.match(r2.decisionText, /按常规程序办理/);
  assert.match(r2.reasonText, /排除/);
  assert.match(r2.reasonText, /not covered, the normal procedure applies/);
  assert.match(r2.basis, /PL-0011/, 'a carve-out cites its own entry');

  const r3 = await row(page, 3);
  assert.equal(r3.decision, 'deny');
  assert.equal(r3.reason, 'not_listed');
  assert.match(r3.reasonText, /未列入任何清单；按常规程序办理/);
  assert.match(r3.reasonText, /Not on any list: not covered, the normal procedure applies/);
  assert.match(r3.basis, /无适用条目/);

  const r4 = await row(page, 4);
  assert.equal(r4.decision, 'invalid');
  assert.match(r4.code, /38x/);
  assert.match(r4.decisionText, /!\s*编码无效/);
  assert.match(r4.reasonText, /2–10 位数字/);
  assert.match(r4.reasonText, /contains 'x'/, 'the server\'s message');

  const r5 = await row(page, 5);
  assert.equal(r5.decision, 'deny');
  assert.equal(r5.reason, 'not_yet_effective');
  assert.match(r5.notes, /PL-0027/, 'near miss entry');
  assert.match(r5.notes, /2027-01-01 起生效/);
  assert.match(r5.notes, /valid from 2027-01-01/);

  const r6 = await row(page, 6);
  assert.equal(r6.decision, 'allow');
  assert.match(r6.basis, /WL-0008/);
  assert.match(r6.basis, /白名单/);
  assert.match(r6.notes, /免于提交：Q（进口药品通关单）/, 'waived documents');
  assert.match(r6.notes, /报关单“备注”栏填写：\s*“?已纳入生物医药研发用物品进口“白名单”/, 'the remark for 备注');

  const r8 = await row(page, 8);
  assert.equal(r8.decision, 'deny');
  assert.equal(r8.reason, 'entity_not_eligible');
  assert.match(r8.notes, /WL-0002/);
  assert.match(r8.notes, /批准给其他单位/);
  assert.match(r8.notes, /approved for another institution/);

  for (const r of [r1, r2, r3, r4, r5, r6, r8]) {
    noProhibition(r.decisionText + r.reasonText + r.notes, 'row ' + (await r.tr.getAttribute('data-ref')));
  }
  const sum = page.locator('#summary');
  assert.equal(await sum.getAttribute('data-allow'), '2');
  assert.equal(await sum.getAttribute('data-deny'), '4');
  assert.equal(await sum.getAttribute('data-invalid'), '1');
  assert.equal(await sum.innerText(), '共 7 项：2 项适用便利措施，4 项未纳入（按常规程序办理），1 项编码无效。');
  noProhibition(await page.innerText('#overall'), 'overall line');
  assert.match(await page.innerText('#context'), new RegExp(ENTITY + '.*' + DATE));
  await shot(page, 'precheck-results-zh.png');

  // English on request: the same rows, re-rendered.
  await page.click('#lang-toggle');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.innerText('#summary'), '7 items: 2 covered, 4 not covered (normal procedure applies), 1 invalid.');
  assert.equal(await page.innerText('h1'), 'Research materials import pre-check');
  const e2 = await row(page, 2);
  assert.match(e2.decisionText, /Not covered/);
  assert.match(e2.decisionText, /normal procedure applies/);
  assert.match(e2.reasonText, /^Carved out of the list/);
  const e5 = await row(page, 5);
  assert.match(e5.notes, /^Near misses/);
  assert.match(e5.notes, /valid from 2027-01-01/);
  const e6 = await row(page, 6);
  assert.match(e6.notes, /Put in the declaration's 备注 \(remarks\)/);
  for (const ref of [1, 2, 3, 4, 5, 6, 8]) {
    const r = await row(page, ref);
    noProhibition(r.decisionText + r.reasonText + r.notes, 'English row ' + ref);
  }
  await shot(page, 'precheck-results-en.png');
  await page.click('#lang-toggle');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  await page.close();
});

test('pre-check: URL parameters entity, date and codes prefill the form and run the check', async (problems) => {
  const page = await newPage(problems);
  const codes = ['3822190090', '8471300000', '0106190090101,实验用小鼠', '9012'].join('\n');
  // Through /ui, whose redirect keeps the query string.
  await page.goto(`${BASE}/ui?entity=${ENTITY}&date=${DATE}&codes=${encodeURIComponent(codes)}`);
  assert.equal(new URL(page.url()).pathname, '/ui/');
  await page.locator('#result-body tr[data-ref="4"]').waitFor();
  assert.equal(await page.inputValue('#entity'), ENTITY);
  assert.equal(await page.inputValue('#date'), DATE);
  assert.equal(await page.inputValue('#codes'), codes);
  assert.match(await page.getAttribute('#entity-status', 'class'), /state-ok/);
  assert.equal((await row(page, 1)).decision, 'allow');
  assert.equal((await row(page, 2)).reason, 'not_listed');
  const r3 = await row(page, 3);
  assert.equal(r3.decision, 'allow', '13-digit code with CIQ');
  assert.match(r3.code, /0106190090 \/ 检验检疫编码 101/);
  assert.match(r3.basis, /PL-0014/);
  assert.equal((await row(page, 4)).reason, 'not_yet_effective');
  assert.equal(await page.getAttribute('#summary', 'data-allow'), '2');

  // The page's own link reproduces the check.
  const link = await page.getAttribute('#share-link', 'href');
  const u = new URL(link, BASE);
  assert.equal(u.searchParams.get('entity'), ENTITY);
  assert.equal(u.searchParams.get('date'), DATE);
  assert.equal(u.searchParams.get('codes'), codes);
  await shot(page, 'precheck-url-params.png');

  // Phone width: no sideways scrolling; each cell carries its label.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
  const label = await page.evaluate(() => getComputedStyle(document.querySelector('#result-body td.c-decision'), '::before').content);
  assert.equal(label, '"结论"');
  await page.locator('#results').scrollIntoViewIfNeeded();
  await page.evaluate(() => document.querySelector('#results').scrollIntoView());
  await shot(page, 'precheck-phone.png', { fullPage: false });

  // list= restricts the check to one list, and the shared link keeps it.
  await page.goto(`${BASE}/ui/?entity=${ENTITY}&date=${DATE}&list=biomed-rd-whitelist&codes=3822190090`);
  await page.locator('#result-body tr[data-ref="1"]').waitFor();
  const only = await row(page, 1);
  assert.equal(only.decision, 'deny', 'the whitelist alone does not cover it for this institution');
  assert.equal(only.reason, 'entity_not_eligible');
  assert.equal(await page.inputValue('#list'), 'biomed-rd-whitelist');
  assert.equal(new URL(await page.getAttribute('#share-link', 'href'), BASE).searchParams.get('list'), 'biomed-rd-whitelist');
  await page.close();
});

test('pre-check: results download as CSV', async (problems) => {
  const page = await newPage(problems);
  await page.goto(`${BASE}/ui/?entity=${ENTITY}&date=${DATE}&codes=${encodeURIComponent(SHIPMENT)}`);
  await page.locator('#result-body tr[data-ref="8"]').waitFor();
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(dl.suggestedFilename(), `qingdan-precheck-${DATE}.csv`);
  let text = fs.readFileSync(await dl.path(), 'utf8');
  assert.equal(text.charCodeAt(0), 0xfeff, 'BOM for spreadsheets');
  text = text.slice(1);
  fs.writeFileSync(path.join(ARTIFACTS, 'precheck-results.csv'), text);
  const lines = parseCSV(text);
  assert.equal(lines.length, 8, 'header + 7 items');
  const head = lines[0];
  for (const c of ['line', 'code_entered', 'description', 'code', 'decision', 'reason', 'reason_zh', 'reason_en', 'list', 'entry_id', 'waives', 'remark', 'near_misses'])
    assert.ok(head.includes(c), 'CSV column ' + c);
  const col = (l, name) => l[head.indexOf(name)];
  assert.equal(col(lines[1], 'line'), '1');
  assert.equal(col(lines[1], 'code_entered'), '3822.1900.90');
  assert.equal(col(lines[1], 'code'), '3822190090');
  assert.equal(col(lines[1], 'decision'), 'allow');
  assert.equal(col(lines[1], 'entry_id'), 'PL-0001');
  assert.equal(col(lines[2], 'decision'), 'deny');
  assert.equal(col(lines[2], 'reason'), 'excluded');
  assert.equal(col(lines[3], 'reason'), 'not_listed');
  assert.equal(col(lines[4], 'decision'), 'invalid');
  assert.equal(col(lines[2], 'entry_id'), 'PL-0011');
  assert.match(col(lines[5], 'near_misses'), /PL-0027: valid from 2027-01-01/);
  assert.equal(col(lines[6], 'entry_id'), 'WL-0008');
  assert.equal(col(lines[6], 'waives'), 'Q');
  assert.equal(col(lines[6], 'remark'), '已纳入生物医药研发用物品进口“白名单”');
  assert.equal(col(lines[7], 'line'), '8');
  assert.match(col(lines[7], 'near_misses'), /WL-0002: approved for another institution/);
  noProhibition(lines.map((l) => l.slice(5, 9).join(',')).join('\n'), 'CSV reasons');
  await page.close();
});

test('pre-check: a signed receipt downloads, and the page verifies it (a changed one is refused)', async (problems) => {
  const page = await newPage(problems);
  await page.goto(`${BASE}/ui/?entity=${ENTITY}&date=${DATE}&codes=${encodeURIComponent(SHIPMENT)}`);
  await page.locator('#result-body tr[data-ref="8"]').waitFor();
  assert.equal(await page.isVisible('#receipt-download'), true, 'the server signs: the button shows');
  assert.equal((await page.textContent('#receipt-download')).trim(), '下载签名回执');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#receipt-download')]);
  assert.match(dl.suggestedFilename(), new RegExp(`^qingdan-receipt-${DATE}-[0-9a-f]+-[0-9a-f]+\\.json$`));
  const text = fs.readFileSync(await dl.path(), 'utf8');
  fs.writeFileSync(path.join(ARTIFACTS, 'precheck-receipt.json'), text);
  const r = JSON.parse(text).receipt;
  assert.equal(r.alg, 'sm2');
  const keys = (await api('GET', '/v1/keys')).json.keys;
  assert.equal(r.kid, keys.find((k) => k.current).kid);
  const p = JSON.parse(r.payload);
  assert.equal(p.kind, 'check');
  assert.equal(p.query.entity, ENTITY);
  assert.equal(p.query.date, DATE);
  assert.equal(p.items.length, 7, 'every non-empty line');
  assert.equal(p.items[0].entry, 'PL-0001');
  assert.equal(p.items[3].error, 'bad_item');
  assert.ok((await page.textContent('#context')).includes(p.decision_id), 'the receipt is of the check shown');

  // Pasted into the page's own section: valid, decided again the same.
  await page.fill('#rv-text', text);
  await page.click('#rv-check');
  await page.locator('#rv-result:not([hidden])').waitFor();
  let verdict = await page.textContent('#rv-result');
  assert.match(verdict, /签名有效（sm2 密钥 [0-9a-f]{16}）/);
  assert.match(verdict, /重新判定一致/);
  assert.ok(verdict.includes(p.decision_id));
  await shot(page, 'precheck-receipt-verified.png');
  // The same in English.
  await page.click('#lang-toggle');
  verdict = await page.textContent('#rv-result');
  assert.match(verdict, /Signaturevalid \(sm2 key/);
  await page.click('#lang-toggle');

  // One word of the payload changed: the signature no longer holds.
  const changed = JSON.parse(text);
  changed.receipt.payload = changed.receipt.payload.replace('"allow"', '"deny"');
  await page.fill('#rv-text', JSON.stringify(changed));
  await page.click('#rv-check');
  await page.waitForFunction(() => /签名无效/.test(document.getElementById('rv-result').textContent));
  verdict = await page.textContent('#rv-result');
  assert.match(verdict, /未进行/);

  // Not JSON, and JSON without a receipt: said in the page, nothing sent.
  await page.fill('#rv-text', '{"receipt": ');
  await page.click('#rv-check');
  await page.locator('#rv-status:not([hidden])').waitFor();
  assert.match(await page.textContent('#rv-status'), /不是有效的 JSON/);
  await page.fill('#rv-text', '{"hello": 1}');
  await page.click('#rv-check');
  await page.waitForFunction(() => /没有回执/.test(document.getElementById('rv-status').textContent));
  // A malformed signature: the server's 400 names the member.
  const badSig = JSON.parse(text);
  badSig.receipt.sig = 'not base64';
  await page.fill('#rv-text', JSON.stringify(badSig));
  await page.click('#rv-check');
  await page.waitForFunction(() => /\/receipt\/sig/.test(document.getElementById('rv-status').textContent));
  await page.close();
});

test('pre-check: without a signing key no receipt is asked for and none is offered', async (problems) => {
  const page = await newPage(problems);
  await page.route('**/v1/keys', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{"keys":[]}' }));
  const bodies = [];
  page.on('request', (req) => { if (req.url().endsWith('/v1/check')) bodies.push(JSON.parse(req.postData())); });
  await page.goto(`${BASE}/ui/?entity=${ENTITY}&date=${DATE}&codes=${encodeURIComponent('3822.1900.90')}`);
  await page.locator('#result-body tr[data-ref="1"]').waitFor();
  assert.equal(await page.isHidden('#receipt-download'), true);
  assert.equal(bodies.length, 1);
  assert.equal(bodies[0].receipt, undefined);
  await page.close();
});

test('pre-check: customs office (remembered per browser), declared names and specs, scope and item check in words', async (problems) => {
  const page = await newPage(problems);
  await page.goto(`${BASE}/ui/?entity=${ENTITY}&date=${DATE}&list=biomed-rd-whitelist`);
  assert.equal(await page.inputValue('#customs'), '', 'no office remembered yet');
  // A customs code that is not 4 digits stops the check, naming the field.
  await page.fill('#customs', '52');
  await page.fill('#codes', '3002510000');
  await page.click('#submit');
  await page.locator('#form-error').waitFor();
  assert.match(await page.innerText('#form-error'), /关区代码/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'customs');

  // Declared at 南沙 (5101), by name: WL-0008 holds at customs 51.
  await page.fill('#customs', '5101');
  await page.check('#goods');
  await page.fill('#codes', ['3002510000,细胞治疗产品(研发用对照品),1支', '3002510000,别的产品'].join('\n'));
  await page.click('#submit');
  await page.locator('#result-body tr[data-ref="2"]').waitFor();
  const r1 = await row(page, 1);
  assert.equal(r1.decision, 'allow');
  assert.match(r1.basis, /WL-0008/);
  assert.match(r1.basis, /适用关区：51/, 'scope in words');
  assert.equal(await r1.tr.locator('.basis-scope').getAttribute('data-customs'), '51');
  assert.equal(await r1.tr.locator('.basis-item').getAttribute('data-checked'), 'name', 'the declared name was checked');
  assert.match(r1.basis, /已按申报品名核对/);
  assert.match(r1.basis, /checked by declared name/, 'item check in both languages');
  assert.match(r1.basis, /第二批（示例公告〔2026〕8号（非官方文本），2026-08-25 发布）/, 'batch with its notice');
  const r2 = await row(page, 2);
  assert.equal(r2.decision, 'deny');
  assert.equal(r2.reason, 'item_differs');
  assert.match(r2.reasonText, /商品名称或规格与批准的商品不一致/);
  assert.match(r2.notes, /批准的商品为：细胞治疗产品（研发用对照品）/, 'near miss names the approved product');
  assert.match(await page.innerText('#context'), /申报地海关：5101/);

  // The office is remembered by this browser; another office is outside the scope.
  await page.reload();
  assert.equal(await page.inputValue('#customs'), '5101', 'customs office remembered');
  await page.fill('#customs', '2201');
  await page.fill('#codes', '3002510000');
  await page.click('#submit');
  await page.locator('#result-body tr[data-ref="1"]').waitFor();
  const r3 = await row(page, 1);
  assert.equal(r3.reason, 'outside_jurisdiction');
  assert.match(r3.reasonText, /申报地海关不在该批准的适用关区内/);
  assert.match(r3.reasonText, /outside where the approval holds/);
  assert.match(r3.notes, /只适用于关区 51/);
  assert.equal(await page.evaluate(() => window.localStorage.getItem('qd.customs')), '2201');
  assert.match(await page.getAttribute('#share-link', 'href'), /customs=2201/);

  // Without "check by name" the name is not sent: the item check says what must hold.
  await page.fill('#customs', '');
  await page.uncheck('#goods');
  await page.fill('#codes', '3002510000,别的产品');
  await page.click('#submit');
  await page.waitForFunction(() => !document.querySelector('#context').textContent.includes('申报地海关'));
  const r4 = await row(page, 1);
  assert.equal(r4.decision, 'allow');
  assert.equal(await r4.tr.locator('.basis-item').getAttribute('data-checked'), '');
  assert.match(r4.basis, /未核对品名/);
  assert.equal(await page.evaluate(() => window.localStorage.getItem('qd.customs')), null, 'an empty office is forgotten');

  // A CSV file's 商品名称 and 规格型号 columns become name and spec.
  const csvFile = '商品编号,商品名称,规格型号\r\n3002510000,"细胞治疗产品, 对照品",1支\r\n';
  await page.setInputFiles('#file', { name: 'goods.csv', mimeType: 'text/csv', buffer: Buffer.from(csvFile, 'utf8') });
  await page.waitForFunction(() => document.querySelector('#codes').value.startsWith('3002'));
  assert.equal(await page.inputValue('#codes'), '3002510000,细胞治疗产品  对照品,1支');
  await page.close();
});

test('pre-check: in English, the scope line names the customs offices; a successor list is named in both languages', async (problems) => {
  const WL = 'biomed-rd-whitelist';
  const original = sample(WL);
  // A version of the whitelist that names its successor; the sample comes back at the end.
  const next = Object.assign({}, original, { superseded_by: 'biomed-rd-whitelist-2027' });
  let r = await api('PUT', '/v1/lists/' + WL, { token: TOKEN, type: 'application/json', body: JSON.stringify(next) });
  assert.equal(r.status, 200, r.text);
  try {
    const page = await newPage(problems);
    await page.goto(`${BASE}/ui/?entity=${ENTITY}&date=${DATE}&list=${WL}&customs=5101&codes=3002510000&lang=en`);
    await page.locator('#result-body tr[data-ref="1"]').waitFor();
    const r1 = await row(page, 1);
    assert.equal(r1.decision, 'allow');
    const scope = await r1.tr.locator('.basis-scope').innerText();
    assert.match(scope, /^Customs offices: 51 \(示例：/, 'the scope line in English, with the region as written');
    assert.doesNotMatch(scope, /适用关区/);
    assert.equal(await r1.tr.locator('.basis-scope').getAttribute('data-customs'), '51');
    const note = r1.tr.locator('.note-superseded');
    assert.equal(await note.count(), 1, 'one note for the one list consulted');
    assert.equal(await note.locator('.primary-lang').innerText(),
      'List Whitelist for importing biomedical R&D items (illustrative sample) is superseded by biomed-rd-whitelist-2027');
    assert.match(await note.locator('.alt').innerText(), /^清单 生物医药研发用物品进口“白名单”（示例） 已由 biomed-rd-whitelist-2027 取代$/);
    assert.equal(await note.locator('.alt').getAttribute('lang'), 'zh-CN');
    await shot(page, 'precheck-superseded-en.png');
    await page.close();
  } finally {
    r = await api('PUT', '/v1/lists/' + WL, { token: TOKEN, type: 'application/json', body: JSON.stringify(original) });
    assert.equal(r.status, 200, r.text);
  }
  const again = await api('GET', `/v1/lookup?code=3002510000&entity=${ENTITY}&date=${DATE}&list=${WL}`);
  assert.equal(again.json.results[0].terms.superseded_by, null, 'the sample is current again');
});

test('pre-check: the shipment can be a CSV file from disk (UTF-8 with header, GB18030)', async (problems) => {
  const page = await newPage(problems);
  await page.goto(BASE + '/ui/');
  await page.fill('#entity', ENTITY);
  await page.fill('#date', DATE);
  const utf8 = '\ufeff序号,商品编号,商品名称,检验检疫编码\r\n1,0106190090,实验用小鼠,101\r\n2,"3822.1900.90","试剂, 盒装",\r\n';
  await page.setInputFiles('#file', { name: 'shipment.csv', mimeType: 'text/csv', buffer: Buffer.from(utf8, 'utf8') });
  await page.waitForFunction(() => document.querySelector('#codes').value !== '');
  assert.equal(await page.inputValue('#codes'), '0106190090 101,实验用小鼠\n3822.1900.90,试剂, 盒装');
  assert.match(await page.innerText('#file-status'), /shipment\.csv/);
  await page.click('#submit');
  await page.locator('#result-body tr[data-ref="2"]').waitFor();
  const r1 = await row(page, 1);
  assert.equal(r1.decision, 'allow');
  assert.match(r1.basis, /PL-0014/);
  const r2 = await row(page, 2);
  assert.equal(r2.decision, 'allow');
  assert.match(r2.code, /试剂, 盒装/);

  // What a Chinese Excel writes: GB18030, header 商品编号,品名.
  const gb = Buffer.concat([
    Buffer.from([0xc9, 0xcc, 0xc6, 0xb7, 0xb1, 0xe0, 0xba, 0xc5]), Buffer.from(','), // 商品编号
    Buffer.from([0xc6, 0xb7, 0xc3, 0xfb]), Buffer.from('\r\n8471300000,'),          // 品名
    Buffer.from([0xb5, 0xe7, 0xc4, 0xd4]), Buffer.from('\r\n')                      // 电脑
  ]);
  await page.setInputFiles('#file', { name: 'gb.csv', mimeType: 'text/csv', buffer: gb });
  await page.waitForFunction(() => document.querySelector('#codes').value.startsWith('8471'));
  assert.equal(await page.inputValue('#codes'), '8471300000,电脑');
  await page.close();
});

test('pre-check: the shipment can be an Excel workbook; results download as Excel made by the daemon', async (problems) => {
  const page = await newPage(problems);
  await page.goto(BASE + '/ui/');
  await page.fill('#entity', ENTITY);
  await page.fill('#date', DATE);
  // Codes as text and as a 10-digit number cell, a CIQ column, an empty row.
  const xlsx = workbook({ sheets: [{ name: '货物', rows: [
    ['商品编号', '品名', '检验检疫编码'],
    ['3822.1900.90', '体外诊断试剂'],
    [8471300000, { inline: '笔记本电脑' }],
    [],
    ['0106190090', '实验用小鼠', 101]] }] });
  await page.setInputFiles('#file', { name: 'shipment.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: xlsx });
  await page.waitForFunction(() => document.querySelector('#codes').value !== '');
  assert.equal(await page.inputValue('#codes'), '3822.1900.90,体外诊断试剂\n8471300000,笔记本电脑\n0106190090 101,实验用小鼠');
  assert.match(await page.innerText('#file-status'), /shipment\.xlsx/);
  assert.match(await page.innerText('#file-status'), /货物/);
  await page.click('#submit');
  await page.locator('#result-body tr[data-ref="3"]').waitFor();
  assert.equal((await row(page, 1)).decision, 'allow');
  assert.equal((await row(page, 2)).reason, 'not_listed');

  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download-xlsx')]);
  assert.equal(dl.suggestedFilename(), `qingdan-precheck-${DATE}.xlsx`);
  const file = path.join(ARTIFACTS, 'precheck-results.xlsx');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await dl.saveAs(file);
  const wb = readWorkbook(file);
  const rows = wb['预检结果'];
  assert.ok(rows, 'sheet 预检结果');
  assert.equal(rows.length, 4, 'header + 3 items');
  assert.deepEqual(rows[0].slice(0, 6), ['序号', '参考号', '商品编号', '检验检疫编码', '结论', '原因']);
  assert.equal(rows[1][2], '3822190090');
  assert.equal(rows[1][4], '适用便利措施');
  assert.equal(rows[1][8], 'PL-0001');
  assert.equal(rows[2][4], '未纳入（按常规程序办理）');
  assert.equal(rows[3][2], '0106190090');
  assert.equal(rows[3][3], '101');
  noProhibition(rows.map((r) => r.slice(4, 6).join(',')).join('\n'), 'Excel reasons');
  assert.ok(wb['概要'], 'sheet 概要');

  // A code the workbook holds as a short number is named, not guessed.
  const bad = workbook({ sheets: [{ name: '货物', rows: [['商品编号'], [106190090]] }] });
  await page.setInputFiles('#file', { name: 'bad.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: bad });
  await page.locator('#form-error').waitFor({ state: 'visible' });
  assert.match(await page.innerText('#form-error'), /货物!A2 \(商品编号\)/);
  await page.close();
});

test('pre-check: an Excel shipment with 商品名称 and 规格型号 columns checks name and spec', async (problems) => {
  const page = await newPage(problems);
  // WL-0001 approves 单克隆抗体注射液（研发用）, spec 100 mg/10 mL/瓶, for this institution.
  await page.goto(`${BASE}/ui/?entity=91310115MA1K8N6D88&date=${DATE}&list=biomed-rd-whitelist`);
  const xlsx = workbook({ sheets: [{ name: '报关单', rows: [
    ['商品编号', '商品名称', '规格型号'],
    ['3002150000', '单抗注射液(研发用)', '100MG／10ML／瓶'],
    ['3002150000', '单克隆抗体注射液（研发用）', '200 mg/10 mL/瓶']] }] });
  await page.setInputFiles('#file', { name: 'declared.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: xlsx });
  await page.waitForFunction(() => document.querySelector('#codes').value !== '');
  assert.equal(await page.inputValue('#codes'),
    '3002150000,单抗注射液(研发用),100MG／10ML／瓶\n3002150000,单克隆抗体注射液（研发用）,200 mg/10 mL/瓶');
  await page.check('#goods');
  await page.click('#submit');
  await page.locator('#result-body tr[data-ref="2"]').waitFor();
  const r1 = await row(page, 1);
  assert.equal(r1.decision, 'allow', 'an alias and the spec written another way');
  assert.match(r1.basis, /WL-0001/);
  assert.equal(await r1.tr.locator('.basis-item').getAttribute('data-checked'), 'name,spec', 'name and spec both checked');
  const r2 = await row(page, 2);
  assert.equal(r2.decision, 'deny');
  assert.equal(r2.reason, 'item_differs', 'another spec');
  assert.match(r2.notes, /100 mg\/10 mL\/瓶/, 'the near miss names the approved spec');
  await page.close();
});

test('pages: every input is labelled and the language switch works on both pages', async (problems) => {
  const page = await newPage(problems);
  for (const p of ['/ui/', '/ui/admin']) {
    await page.goto(BASE + p);
    const unlabelled = await page.evaluate(() => Array.from(document.querySelectorAll('input, select, textarea'))
      .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map((e) => e.id || e.name));
    assert.deepEqual(unlabelled, [], p + ': unlabelled inputs');
    const buttons = await page.evaluate(() => Array.from(document.querySelectorAll('button'))
      .filter((b) => !b.hidden && !(b.textContent.trim() || b.getAttribute('aria-label'))).length);
    assert.equal(buttons, 0, p + ': buttons without a name');
    const zh = await page.innerText('h1');
    assert.match(zh, /[\u4e00-\u9fff]/, p + ': Chinese first');
    await page.click('#lang-toggle');
    const en = await page.innerText('h1');
    assert.match(en, /^[A-Za-z ]+/, p + ': English');
    assert.match(await page.innerText('label[for="' + (p === '/ui/' ? 'entity' : 'token') + '"]'), /^[A-Za-z ]+$/);
    await page.reload();
    assert.equal(await page.innerText('h1'), en, p + ': the choice is kept');
    await page.click('#lang-toggle');
    assert.equal(await page.innerText('h1'), zh);
  }
  await page.close();
});

/* ---- pre-check with --read-auth token ---- */

const READ_KEY = 'qd.read.token';
function tokenState(page) { return page.getAttribute('#token-status', 'data-state'); }
async function waitTokenState(page, state) {
  await page.waitForFunction((s) => document.querySelector('#token-status').getAttribute('data-state') === s, state);
}
function listOptions(page) { return page.locator('#list option').count(); }
function stored(page) { return page.evaluate((k) => sessionStorage.getItem(k), READ_KEY); }
async function focused(page) { return page.evaluate(() => document.activeElement.id); }

test('pre-check: reads open, the token field stays hidden', async (problems) => {
  const page = await newPage(problems);
  await page.goto(BASE + '/ui/');
  await page.waitForFunction(() => document.querySelectorAll('#list option').length > 1);
  assert.equal(await page.isHidden('#token-form'), true, 'no token field while reads are open');
  assert.equal(await stored(page), null);
  await page.close();
});

test('pre-check: with --read-auth token the page asks for a token, kept in this tab only', async (problems) => {
  assert.ok(AUTH && READER, 'run.sh passes QD_AUTH_URL and QD_READER_TOKEN');
  const page = await newPage(problems);
  const sent = []; // the Authorization header of every API call the page makes
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/v1/')) sent.push(r.headers().authorization || '');
  });

  // The lists need a token: the field appears with the message, and takes focus.
  await page.goto(AUTH + '/ui/');
  await waitTokenState(page, 'need');
  assert.equal(await page.isVisible('#token-form'), true);
  assert.equal(await page.getAttribute('#token', 'type'), 'password');
  assert.equal(await page.innerText('label[for="token"]'), '读取令牌');
  assert.match(await page.innerText('#token-status'), /此服务的查询需要令牌/);
  assert.equal(await page.getAttribute('#token-status', 'aria-live'), 'polite');
  assert.equal(await focused(page), 'token', 'focus moves to the token field');
  assert.equal(await listOptions(page), 1, 'no lists without a token');

  // A check without a token says why it failed.
  await page.fill('#entity', ENTITY);
  await page.fill('#date', DATE);
  await page.fill('#codes', '3822.1900.90,体外诊断试剂\n8471300000,笔记本电脑');
  await page.click('#submit');
  await page.locator('#form-error').waitFor();
  assert.match(await page.innerText('#form-error'), /未能预检：此服务的查询需要令牌/);
  assert.equal(await page.isHidden('#results'), true);
  assert.equal(await focused(page), 'token');
  await shot(page, 'precheck-token-needed.png');

  // A wrong token is refused and not kept.
  await page.fill('#token', 'not-a-token');
  await page.click('#token-use');
  await waitTokenState(page, 'bad');
  assert.match(await page.innerText('#token-status'), /令牌未被接受/);
  assert.equal(await stored(page), null, 'a refused token is not kept');
  assert.equal(await page.inputValue('#token'), '');
  assert.equal(await focused(page), 'token');
  assert.equal(await listOptions(page), 1);

  // The reader token: the lists load, and the check can be run again.
  await page.fill('#token', READER);
  await page.keyboard.press('Enter');
  await waitTokenState(page, 'ok');
  assert.match(await page.innerText('#token-status'), /令牌已接受。请重新点击“开始预检”/);
  assert.equal(await page.isHidden('#form-error'), true, 'the refusal is cleared');
  assert.equal(await listOptions(page), 3, 'the lists are loaded');
  assert.equal(await page.inputValue('#token'), '', 'the field is cleared');
  assert.equal(await stored(page), READER);
  const elsewhere = await page.evaluate((tok) => JSON.stringify(localStorage).includes(tok) ||
    document.cookie.includes(tok) || location.href.includes(tok), READER);
  assert.equal(elsewhere, false, 'not in localStorage, cookies or the address');
  await page.click('#submit');
  await page.locator('#result-body tr[data-ref="2"]').waitFor();
  assert.match(await page.innerText('#token-status'), /令牌已接受：本标签页的每次查询都会附带它/, 'no call to re-run once it ran');
  assert.equal((await row(page, 1)).decision, 'allow');
  const r2 = await row(page, 2);
  assert.equal(r2.decision, 'deny');
  assert.equal(r2.reason, 'not_listed');
  assert.equal(await page.getAttribute('#summary', 'data-allow'), '1');
  assert.doesNotMatch(await page.getAttribute('#share-link', 'href'), new RegExp(READER), 'the shared link has no token');
  await shot(page, 'precheck-token.png');

  // English too.
  await page.click('#lang-toggle');
  assert.equal(await page.innerText('label[for="token"]'), 'Reader token');
  assert.match(await page.innerText('#token-status'), /Token accepted/);
  await page.click('#lang-toggle');

  // Reloading the tab keeps the token: the shared link re-runs the check.
  await page.reload();
  await page.locator('#result-body tr[data-ref="2"]').waitFor();
  await waitTokenState(page, 'ok');
  assert.equal(await page.isVisible('#token-form'), true, 'a stored token shows, so it can be forgotten');
  assert.match(await page.innerText('#token-status'), /令牌已接受：本标签页的每次查询都会附带它/);
  assert.equal((await row(page, 1)).decision, 'allow');
  assert.equal(await listOptions(page), 3);

  const withToken = sent.slice(sent.indexOf('Bearer ' + READER));
  assert.ok(withToken.length >= 4, 'lists and checks, before and after the reload');
  assert.deepEqual(withToken.filter((h) => h !== 'Bearer ' + READER), [], 'every call after the token carries it');

  // Another tab has its own session.
  const other = await newPage(problems);
  await other.goto(AUTH + '/ui/');
  await waitTokenState(other, 'need');
  assert.equal(await stored(other), null);
  await other.close();

  // Forget: gone from the tab; the next load asks again.
  await page.click('#token-forget');
  assert.equal(await stored(page), null);
  assert.match(await page.innerText('#token-status'), /令牌已清除/);
  assert.equal(await focused(page), 'token');
  await page.goto(AUTH + '/ui/');
  await waitTokenState(page, 'need');
  assert.equal(await listOptions(page), 1);

  // A token in the address is never taken.
  await page.goto(`${AUTH}/ui/?entity=${ENTITY}&date=${DATE}&codes=3822190090&token=${READER}&access_token=${READER}`);
  await page.locator('#form-error').waitFor();
  assert.match(await page.innerText('#form-error'), /此服务的查询需要令牌/);
  assert.equal(await tokenState(page), 'need');
  assert.equal(await stored(page), null, 'not stored from the address');
  assert.equal(sent[sent.length - 1], '', 'not sent from the address');
  await page.close();
});

/* ---- admin ---- */

async function login(page, tok) {
  await page.goto(BASE + '/ui/admin');
  await page.fill('#token', tok === undefined ? TOKEN : tok);
  await page.click('#token-use');
  await page.waitForFunction(() => ['ok', 'bad'].includes(document.querySelector('#token-status').getAttribute('data-state')));
  await page.locator(`#lists-body tr[data-list="${GBA}"]`).waitFor();
}
async function listVersion(page, id) {
  return Number(await page.getAttribute(`#lists-body tr[data-list="${id}"]`, 'data-version'));
}
async function current(id) {
  const r = await api('GET', '/v1/lists/' + id);
  return r.json.version;
}
function upload(page, name, obj) {
  const buffer = Buffer.isBuffer(obj) ? obj : Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj, null, 2), 'utf8');
  const type = name.endsWith('.csv') ? 'text/csv' : name.endsWith('.xlsx')
    ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'application/json';
  return page.setInputFiles('#upload-file', { name, mimeType: type, buffer });
}

test('admin: the token is checked and kept in this tab\'s sessionStorage only', async (problems) => {
  const page = await newPage(problems);
  await login(page, 'not-a-token');
  assert.equal(await page.getAttribute('#token-status', 'data-state'), 'bad');
  assert.match(await page.innerText('#token-status'), /令牌无效/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('qd.admin.token')), null, 'a refused token is not kept');

  await login(page);
  assert.equal(await page.getAttribute('#token-status', 'data-state'), 'ok');
  assert.equal(await page.inputValue('#token'), '', 'the field is cleared');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('qd.admin.token')), TOKEN);
  const elsewhere = await page.evaluate((tok) => JSON.stringify(localStorage).includes(tok) || document.cookie.includes(tok), TOKEN);
  assert.equal(elsewhere, false, 'not in localStorage or cookies');
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#token-status').getAttribute('data-state') === 'ok');

  // Both lists with their versions.
  assert.equal(await listVersion(page, GBA), await current(GBA));
  assert.equal(await listVersion(page, 'biomed-rd-whitelist'), await current('biomed-rd-whitelist'));
  assert.match(await page.innerText('#lists-body'), /粤港澳大湾区/);

  // A new tab has its own session: no token there.
  const other = await newPage(problems);
  await other.goto(BASE + '/ui/admin');
  assert.equal(await other.evaluate(() => sessionStorage.getItem('qd.admin.token')), null);
  await other.close();

  await page.click('#token-forget');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('qd.admin.token')), null);
  await page.close();
});

test('admin: validation errors are shown with CSV line/column and JSON path, nothing is stored', async (problems) => {
  const page = await newPage(problems);
  await login(page);
  const before = await current(GBA);
  await page.selectOption('#target', GBA);
  await upload(page, 'entries.csv', 'id,code,name_zh,clauses\nX-1,38zz,试剂,GACC-2022-143-1-1\nX-2,3822,,NOPE\n');
  await page.click('#dry-run');
  await page.locator('#problems li').first().waitFor();
  const items = await page.locator('#problems li').allInnerTexts();
  assert.equal(items.length, 3);
  assert.match(items[0], /^第 2 行第 2 列：code "38zz"/);
  assert.match(items[1], /^第 3 行第 3 列：name_zh/);
  assert.match(items[2], /^第 3 行第 4 列：clause "NOPE"/);
  assert.equal(await page.isVisible('#apply'), false, 'no confirm after a failed dry run');
  await shot(page, 'admin-validation-errors.png');

  const doc = sample(GBA);
  doc.entries[0].code = '38a';
  doc.entries[1].bogus = true;
  await page.selectOption('#target', '');
  await upload(page, 'gba.json', doc);
  await page.click('#dry-run');
  await page.locator('#problems li[data-path="/entries/1/bogus"]').waitFor();
  assert.match(await page.innerText('#problems'), /位置 \/entries\/0\/code：code "38a"/);
  assert.match(await page.innerText('#problems'), /位置 \/entries\/1\/bogus：unknown key "bogus"/);
  assert.equal(await page.isVisible('#apply'), false);
  assert.equal(await current(GBA), before, 'nothing stored');
  await page.close();
});

test('admin: dry run shows the diff; a concurrent change makes confirm fail with 412; dry run again and confirm', async (problems) => {
  const page = await newPage(problems);
  await login(page);
  const v0 = await current(GBA);

  const mine = sample(GBA);
  mine.entries[0].name.en = 'Diagnostic or laboratory reagents (revised)';
  mine.entries[1].valid_to = '2030-12-31';
  mine.entries = mine.entries.filter((e) => e.id !== 'PL-0032');
  mine.entries.push(Object.assign({}, mine.entries[2], { id: 'PL-0099', code: '2937', name: { zh: '激素（科研用）', en: 'Hormones (research)' } }));
  await upload(page, 'gba-research-positive.json', mine);
  await page.waitForFunction((id) => document.querySelector('#target').value === id, GBA);
  await page.click('#dry-run');
  await page.locator('#apply').waitFor({ state: 'visible' });
  assert.match(await page.innerText('#dry-summary'), new RegExp(`从第 ${v0} 版更新为第 ${v0 + 1} 版`));
  const counts = page.locator('#dry-counts');
  assert.equal(await counts.getAttribute('data-added'), '1');
  assert.equal(await counts.getAttribute('data-removed'), '1');
  assert.equal(await counts.getAttribute('data-changed'), '2');
  assert.equal(await page.getAttribute('#diff-body tr[data-id="PL-0099"]', 'data-kind'), 'added');
  assert.equal(await page.getAttribute('#diff-body tr[data-id="PL-0032"]', 'data-kind'), 'removed');
  assert.equal(await page.getAttribute('#diff-body tr[data-id="PL-0001"]', 'data-kind'), 'changed');
  assert.match(await page.innerText('#diff-body tr[data-id="PL-0001"]'), /name/);
  assert.match(await page.innerText('#diff-body tr[data-id="PL-0002"]'), /valid_to/);
  assert.equal(await page.innerText('#apply'), `确认更新为第 ${v0 + 1} 版`);
  assert.equal(await current(GBA), v0, 'a dry run stores nothing');
  await shot(page, 'admin-dry-run.png');

  // Someone else changes the list between the dry run and the confirm.
  const theirs = sample(GBA);
  theirs.entries[3].name.en = 'Antisera (changed concurrently)';
  const put = await api('PUT', '/v1/lists/' + GBA, { token: TOKEN, type: 'application/json', body: JSON.stringify(theirs), ifMatch: v0 });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.version, v0 + 1);

  await page.click('#apply');
  await page.waitForFunction(() => document.querySelector('#admin-status').getAttribute('data-kind') === 'conflict');
  assert.match(await page.innerText('#admin-status'), new RegExp(`已被他人更改（现为第 ${v0 + 1} 版），未保存任何内容`));
  assert.equal(await page.isVisible('#apply'), false, 'confirm needs a new dry run');
  await page.waitForFunction(([id, v]) => {
    const tr = document.querySelector(`#lists-body tr[data-list="${id}"]`);
    return tr && tr.getAttribute('data-version') === String(v);
  }, [GBA, v0 + 1]);
  assert.equal(await current(GBA), v0 + 1, 'the concurrent change was not overwritten');
  await shot(page, 'admin-412.png');

  // Dry run again: now against the other change; confirm stores it.
  await page.click('#dry-run');
  await page.locator('#apply').waitFor({ state: 'visible' });
  assert.match(await page.innerText('#dry-summary'), new RegExp(`从第 ${v0 + 1} 版更新为第 ${v0 + 2} 版`));
  assert.equal(await page.getAttribute('#diff-body tr[data-id="PL-0004"]', 'data-kind'), 'changed', 'the other change shows in the diff');
  await page.click('#apply');
  await page.waitForFunction(() => document.querySelector('#admin-status').getAttribute('data-kind') === 'ok');
  assert.match(await page.innerText('#admin-status'), new RegExp(`已保存：${GBA} 现为第 ${v0 + 2} 版`));
  assert.equal(await current(GBA), v0 + 2);
  const stored = await api('GET', `/v1/lists/${GBA}/versions/${v0 + 2}`);
  assert.equal(stored.json.entries.find((e) => e.id === 'PL-0001').name.en, 'Diagnostic or laboratory reagents (revised)');
  await page.locator(`#versions-body tr[data-version="${v0 + 2}"]`).waitFor();
  await shot(page, 'admin-applied.png');
  await page.close();
});

test('admin: version history and rollback, guarded by If-Match', async (problems) => {
  const page = await newPage(problems);
  await login(page);
  const cur = await current(GBA);
  assert.ok(cur >= 3, 'runs after the upload test');
  await page.click(`#lists-body button.show-history[data-list="${GBA}"]`);
  await page.locator(`#versions-body tr[data-version="${cur}"]`).waitFor();
  assert.equal(await page.locator('#versions-body tr').count(), cur);
  assert.match(await page.innerText(`#versions-body tr[data-version="${cur}"]`), /当前版本/);
  assert.equal(await page.locator(`#versions-body tr[data-version="${cur}"] button.rollback`).count(), 0);
  assert.match(await page.innerText('#versions-body tr[data-version="1"]'), /gba-research-positive\.json/);

  await page.click('#versions-body tr[data-version="1"] button.rollback');
  assert.match(await page.innerText('#rollback-text'), new RegExp(`第 1 版的内容生成新版本第 ${cur + 1} 版`));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'rollback-yes');
  await shot(page, 'admin-rollback-confirm.png');
  await page.click('#rollback-yes');
  await page.waitForFunction(() => document.querySelector('#admin-status').getAttribute('data-kind') === 'ok');
  assert.match(await page.innerText('#admin-status'), new RegExp(`已回滚：${GBA} 现为第 ${cur + 1} 版（内容同第 1 版）`));
  await page.locator(`#versions-body tr[data-version="${cur + 1}"]`).waitFor();
  assert.match(await page.innerText(`#versions-body tr[data-version="${cur + 1}"]`), /回滚/);
  const vs = (await api('GET', `/v1/lists/${GBA}/versions`)).json;
  assert.equal(vs.current, cur + 1);
  const sha = (v) => vs.versions.find((x) => x.version === v).sha256;
  assert.equal(sha(cur + 1), sha(1), 'the new version has version 1\'s content');
  assert.equal(await listVersion(page, GBA), cur + 1);
  await shot(page, 'admin-history.png');

  // A rollback confirmed after someone else changed the list is refused.
  await page.click('#versions-body tr[data-version="2"] button.rollback');
  const theirs = sample(GBA);
  theirs.entries[5].name.en = 'Immunological products (changed concurrently)';
  const put = await api('PUT', '/v1/lists/' + GBA, { token: TOKEN, type: 'application/json', body: JSON.stringify(theirs) });
  assert.equal(put.status, 200, put.text);
  await page.click('#rollback-yes');
  await page.waitForFunction(() => document.querySelector('#admin-status').getAttribute('data-kind') === 'conflict');
  assert.match(await page.innerText('#admin-status'), new RegExp(`回滚失败：清单已被他人更改（现为第 ${cur + 2} 版）`));
  assert.equal(await current(GBA), cur + 2, 'nothing rolled back over the concurrent change');
  await page.locator(`#versions-body tr[data-version="${cur + 2}"]`).waitFor();
  assert.equal(await page.isHidden('#rollback-confirm'), true);
  await page.close();
});

test('admin: a CSV import with Chinese headings goes through dry run and confirm', async (problems) => {
  const page = await newPage(problems);
  await login(page);
  await page.click('#lang-toggle'); // in English this time
  const v0 = await current(GBA);
  const csv = '编号,商品编码,商品名称,英文名称,依据条款\n' +
    'PL-0001,3822,诊断或实验用试剂,Diagnostic or laboratory reagents,GACC-2022-143-1-1\n' +
    'PL-0100,9027.80,其他理化分析仪器,Other instruments,GACC-2022-143-1-1\n';
  await page.selectOption('#target', GBA);
  await upload(page, 'entries.csv', csv);
  await page.click('#dry-run');
  await page.locator('#apply').waitFor({ state: 'visible' });
  assert.match(await page.innerText('#dry-summary'), new RegExp(`from version ${v0} to version ${v0 + 1} \\(2 entries\\)`));
  assert.equal(await page.getAttribute('#dry-counts', 'data-added'), '1');
  assert.equal(await page.innerText('#apply'), `Apply as version ${v0 + 1}`);
  await page.click('#apply');
  await page.waitForFunction(() => document.querySelector('#admin-status').getAttribute('data-kind') === 'ok');
  assert.match(await page.innerText('#admin-status'), new RegExp(`Stored: ${GBA} is now at version ${v0 + 1}`));
  const l = await api('GET', '/v1/lists/' + GBA);
  assert.equal(l.json.entries, 2);
  await page.click('#lang-toggle');
  await page.close();
});

test('admin: an Excel workbook (a version downloaded as .xlsx, edited) goes through dry run and confirm', async (problems) => {
  const page = await newPage(problems);
  await login(page);
  const v0 = await current(GBA);
  const dlr = await fetch(`${BASE}/v1/lists/${GBA}/versions/${v0}?format=xlsx`);
  assert.equal(dlr.status, 200);
  const xlsx = Buffer.from(await dlr.arrayBuffer());
  // Unchanged: the dry run finds nothing to change.
  await page.selectOption('#target', GBA);
  await upload(page, 'version.xlsx', xlsx);
  await page.click('#dry-run');
  await page.locator('#apply').waitFor({ state: 'visible' });
  assert.equal(await page.getAttribute('#dry-counts', 'data-added'), '0');
  assert.equal(await page.getAttribute('#dry-counts', 'data-changed'), '0');
  assert.equal(await page.getAttribute('#dry-counts', 'data-removed'), '0');
  await page.click('#cancel');
  // One more row, written as an admin would: a new entry under the same headings.
  const rows = readWorkbookBuffer(xlsx)['清单'];
  const head = rows[0];
  const added = head.map((h) => ({ 编号: 'PL-0200', 商品编码: '9027.80', 商品名称: '其他理化分析仪器', 依据条款: 'GACC-2022-143-1-1', 类型: '纳入', 状态: '有效' }[h] || null));
  const edited = workbook({ sheets: [{ name: '清单', rows: rows.map((r) => r.map((c) => (c && typeof c === 'object' ? { date: c.date } : c))).concat([added]) }] });
  await upload(page, 'edited.xlsx', edited);
  await page.click('#dry-run');
  await page.locator('#apply').waitFor({ state: 'visible' });
  assert.equal(await page.getAttribute('#dry-counts', 'data-added'), '1');
  assert.equal(await page.getAttribute('#dry-counts', 'data-changed'), '0');
  await page.click('#apply');
  await page.waitForFunction(() => document.querySelector('#admin-status').getAttribute('data-kind') === 'ok');
  assert.equal(await current(GBA), v0 + 1);
  const v = await api('GET', `/v1/lists/${GBA}/versions`);
  assert.equal(v.json.versions[0].source, 'http (xlsx)');
  await page.close();
});

/* ---- governed publication ---- */

function dayFromToday(n) {
  return new Date(Date.now() + 8 * 3600 * 1000 + n * 86400 * 1000).toISOString().slice(0, 10);
}

test('admin: the expiring-soon panel lists what ends within the chosen days, by date', async (problems) => {
  const W = 'expiry-watch';
  const clause = { id: 'C-1', document: '署综函〔2022〕143号', article: '一', text: '免于提交。' };
  const doc = {
    list: W, kind: 'positive', title: { zh: '到期提醒', en: 'Expiry watch' }, clauses: [clause],
    entities: [{ id: '91110000600037341L', name: { zh: '示例研究院' }, valid_to: dayFromToday(10) }],
    entries: [
      { id: 'E-40', code: '3822', name: { zh: '试剂', en: 'Reagent' }, clauses: ['C-1'], valid_to: dayFromToday(40) },
      { id: 'E-2', code: '3002', name: { zh: '血清', en: 'Serum' }, clauses: ['C-1'], valid_to: dayFromToday(2) },
      { id: 'E-R', code: '3003', name: { zh: '撤销' }, clauses: ['C-1'], status: 'revoked', valid_to: dayFromToday(3) }
    ]
  };
  const put = await api('PUT', '/v1/lists/' + W, { token: TOKEN, type: 'application/json', body: JSON.stringify(doc) });
  assert.ok(put.status === 201 || put.status === 200, 'PUT ' + put.status + ' ' + put.text);
  const page = await newPage(problems);
  await login(page);
  await page.locator(`#exp-list option[value="${W}"]`).waitFor({ state: 'attached' });
  await page.selectOption('#exp-list', W);
  await page.fill('#exp-within', '30');
  await page.click('#exp-show');
  await page.locator('#exp-body tr[data-id="E-2"]').waitFor();
  const rows = await page.$$eval('#exp-body tr', (trs) => trs.map((tr) => tr.getAttribute('data-id')));
  assert.deepEqual(rows, ['E-2', '91110000600037341L'], 'by date; not the revoked one, not day 40');
  assert.match(await page.innerText('#exp-summary'), /到期 1 个条目、1 个名单单位/);
  assert.match(await page.innerText('#exp-body tr[data-id="E-2"]'), /血清/);
  await shot(page, 'admin-expiring.png');
  // A longer window reaches day 40; English names the kinds in English.
  await page.click('#lang-toggle');
  await page.fill('#exp-within', '60');
  await page.click('#exp-show');
  await page.locator('#exp-body tr[data-id="E-40"]').waitFor();
  assert.match(await page.innerText('#exp-body tr[data-id="E-40"]'), /entry[\s\S]*Reagent/);
  assert.match(await page.innerText('#exp-summary'), /2 entries and 1 roster members end/);
  // Out of range: said next to the form, nothing asked of the server.
  await page.fill('#exp-within', '0');
  await page.click('#exp-show');
  await page.waitForFunction(() => /1 to 3660/.test(document.querySelector('#exp-summary').textContent));
  assert.equal(await page.isHidden('#exp-table'), true);
  await page.click('#lang-toggle');
  await page.close();
});

/* A positive list W of n entries E-1… (codes 3801…), for the proposal tests. */
function smallList(W, title, n) {
  const clause = { id: 'C-1', document: '署综函〔2022〕143号', article: '一', text: '免于提交。' };
  return {
    list: W, kind: 'positive', title, clauses: [clause], entities: [],
    entries: Array.from({ length: n }, (_, i) => ({ id: `E-${i + 1}`, code: `38${String(i + 1).padStart(2, '0')}`,
      name: { zh: '物品' }, clauses: ['C-1'] }))
  };
}

test('admin: four eyes in two browsers - one admin proposes a change to take effect later, the other reads the diff and approves; the schedule can be cancelled', async (problems) => {
  const W = 'four-eyes-ui';
  const doc = (n) => smallList(W, { zh: '双人复核', en: 'Four eyes' }, n);
  let r = await api('PUT', '/v1/lists/' + W, { token: TOKEN, type: 'application/json', body: JSON.stringify(doc(1)) });
  assert.equal(r.status, 201, r.text);

  // The proposer, in this browser.
  const page = await newPage(problems);
  await login(page);
  await page.locator(`#prop-list option[value="${W}"]`).waitFor({ state: 'attached' });
  await page.selectOption('#prop-list', W);
  await page.setInputFiles('#prop-file', { name: 'batch.json', mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(doc(3)), 'utf8') });
  const later = new Date(Date.now() + 8 * 3600e3 + 2 * 86400e3).toISOString().slice(0, 16); // China time, in 2 days
  await page.fill('#prop-effective', later);
  await page.click('#prop-submit');
  await page.waitForFunction(() => document.querySelector('#prop-status').getAttribute('data-kind') === 'ok');
  assert.match(await page.innerText('#prop-status'), /等待另一名管理员复核/);
  const n = Number(await page.getAttribute('#prop-body tr[data-state="pending"]', 'data-proposal'));
  assert.ok(n > 0);
  // Its proposer cannot approve it.
  await page.click(`#prop-body button[data-proposal="${n}"]`);
  await page.locator('#prop-approve').waitFor({ state: 'visible' });
  await page.click('#prop-approve');
  await page.waitForFunction(() => document.querySelector('#prop-status').getAttribute('data-kind') === 'error');
  assert.match(await page.innerText('#prop-status'), /403/);
  assert.equal(await current(W), 1);

  // The approver, in a second browser with its own session.
  const other = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const octx = await other.newContext({ locale: 'zh-CN' });
  const page2 = await octx.newPage();
  page2.on('pageerror', (e) => problems.push('page error: ' + e.message));
  await page2.goto(BASE + '/ui/admin');
  assert.equal(await page2.evaluate(() => sessionStorage.getItem('qd.admin.token')), null, 'not the first admin\'s session');
  await page2.fill('#token', APPROVER);
  await page2.click('#token-use');
  await page2.locator(`#prop-body tr[data-proposal="${n}"]`).waitFor();
  await page2.click(`#prop-body button[data-proposal="${n}"]`);
  await page2.locator('#prop-changes-body tr[data-id="E-2"]').waitFor();
  const kinds = await page2.$$eval('#prop-changes-body tr', (trs) => trs.map((tr) => tr.getAttribute('data-kind')));
  assert.deepEqual(kinds, ['added', 'added']);
  await page2.fill('#prop-comment', '已核对');
  await page2.click('#prop-approve');
  await page2.waitForFunction(() => document.querySelector('#prop-status').getAttribute('data-kind') === 'ok');
  assert.match(await page2.innerText('#prop-status'), new RegExp(`已批准第 ${n} 号提案`));
  await shot(page2, 'admin-approved.png');
  // Stored, not yet current: the schedule shows it, and it can be cancelled.
  assert.equal(await current(W), 1);
  await page2.selectOption('#sched-list', W);
  await page2.locator('#sched-body tr[data-version="2"]').waitFor();
  await shot(page2, 'admin-schedule.png');
  await page2.click('#sched-body button[data-version="2"]');
  await page2.waitForFunction(() => /已取消第 2 版/.test(document.querySelector('#sched-summary').textContent));
  assert.equal(await page2.isHidden('#sched-table'), true);
  r = await api('GET', '/v1/lists/' + W);
  assert.equal(r.json.scheduled, null);
  await other.close();
  await page.close();
});

test('admin: a second admin rejects a proposal; it shows as rejected and nothing is stored', async (problems) => {
  const W = 'reject-ui';
  const doc = (n) => smallList(W, { zh: '驳回', en: 'Reject' }, n);
  let r = await api('PUT', '/v1/lists/' + W, { token: TOKEN, type: 'application/json', body: JSON.stringify(doc(1)) });
  assert.equal(r.status, 201, r.text);
  r = await api('PUT', `/v1/lists/${W}?propose=true`, { token: TOKEN, type: 'application/json', body: JSON.stringify(doc(2)) });
  assert.equal(r.status, 202, r.text);
  const n = r.json.proposal;

  const page = await newPage(problems);
  await login(page, APPROVER);
  await page.locator(`#prop-body tr[data-proposal="${n}"][data-state="pending"]`).waitFor();
  await page.click(`#prop-body button[data-proposal="${n}"]`);
  await page.locator('#prop-reject').waitFor({ state: 'visible' });
  await page.fill('#prop-comment', '依据不足');
  await page.click('#prop-reject');
  await page.waitForFunction(() => document.querySelector('#prop-status').getAttribute('data-kind') === 'ok');
  assert.equal(await page.innerText('#prop-status'), `已驳回第 ${n} 号提案。`);
  const tr = page.locator(`#prop-body tr[data-proposal="${n}"]`);
  await page.locator(`#prop-body tr[data-proposal="${n}"][data-state="rejected"]`).waitFor();
  assert.match(await tr.innerText(), /已驳回/, 'the state cell says rejected');
  assert.equal(await page.isHidden('#prop-reject'), true, 'a decided proposal offers no reject');
  assert.equal(await page.isHidden('#prop-approve'), true, 'nor approve');
  await shot(page, 'admin-rejected.png');
  r = await api('GET', '/v1/proposals/' + n, { token: TOKEN });
  assert.equal(r.json.state, 'rejected');
  assert.equal(r.json.decided_by, 'ui-approver');
  assert.equal(await current(W), 1, 'nothing stored');
  await page.close();
});

/* ------------------------------------------------------------------ */

(async () => {
  let failures = 0;
  try {
    fs.mkdirSync(USER_DATA, { recursive: true });
    ctx = await chromium.launchPersistentContext(USER_DATA, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
      locale: 'zh-CN',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    });
  } catch (e) {
    console.log('FAIL: cannot start Chromium: ' + e.message);
    console.log(`0%: Checks: ${tests.length}, Failures: ${tests.length}, Errors: 0`);
    process.exit(1);
  }
  for (const t of tests) {
    const problems = [];
    // Every test starts in Chinese, whatever the one before left behind.
    try {
      const p = await ctx.newPage();
      await p.goto(BASE + '/ui/app.css');
      await p.evaluate(() => localStorage.clear());
      await p.close();
    } catch (e) { /* the test will say what is wrong */ }
    const t0 = Date.now();
    try {
      await t.fn(problems);
      assert.deepEqual(problems, [], 'no page errors, CSP violations or console errors');
      console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failures++;
      console.log(`FAIL ${t.name}\n     ${String(e && e.stack || e).split('\n').slice(0, 6).join('\n     ')}`);
      for (const p of ctx.pages()) {
        try { await shot(p, 'FAILED-' + t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60) + '.png'); } catch (x) { /* ignore */ }
        await p.close().catch(() => {});
      }
    }
  }
  await ctx.close().catch(() => {});
  const n = tests.length;
  console.log(`${Math.floor(100 * (n - failures) / n)}%: Checks: ${n}, Failures: ${failures}, Errors: 0`);
  process.exit(failures ? 1 : 0);
})();
