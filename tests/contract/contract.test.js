// Contract tests: the published contract as third-party validators see it.
// Run by run.sh, which starts the daemon (QD_URL) with the sample lists.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');
const SwaggerParser = require('@apidevtools/swagger-parser');
const { lint, createConfig } = require('@redocly/openapi-core');
const YAML = require('yaml');

const SRC = process.env.QD_SRC;
const URL = process.env.QD_URL;
const TOKEN = process.env.QD_ADMIN_TOKEN;
const OPENAPI = path.join(SRC, 'schema/openapi.yaml');
const LIST_SCHEMA = path.join(SRC, 'schema/list.schema.json');

let checks = 0;
let failures = 0;
function check(name, ok, detail) {
  checks++;
  if (ok) {
    console.log(`PASS: ${name}`);
  } else {
    failures++;
    console.log(`FAIL: ${name}${detail ? `: ${detail}` : ''}`);
  }
}

// ---- the list schema, as ajv in strict mode reads it ----
function listSchemaValidator() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  try {
    return ajv.compile(JSON.parse(fs.readFileSync(LIST_SCHEMA, 'utf8')));
  } catch (e) {
    check('list.schema.json compiles in ajv strict mode', false, e.message);
    return null;
  }
}

function validateDoc(validate, name, doc) {
  const ok = validate(doc);
  check(`${name} is valid against list.schema.json`, ok, ok ? '' : JSON.stringify(validate.errors.slice(0, 3)));
}

// ---- the OpenAPI document ----
async function openapiChecks() {
  try {
    await SwaggerParser.validate(OPENAPI);
    check('openapi.yaml passes swagger-parser validation', true);
  } catch (e) {
    check('openapi.yaml passes swagger-parser validation', false, e.message);
  }
  // The recommended rules, less one that does not fit: GET /ui only
  // redirects (302), it has no 2XX answer to declare.
  const config = await createConfig({
    extends: ['recommended'],
    rules: { 'operation-2xx-response': 'off' },
  });
  const problems = await lint({ ref: OPENAPI, config });
  const shown = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0].pointer}`);
  check('openapi.yaml passes redocly lint (recommended) with no error or warning',
        problems.length === 0, shown.join('; '));
}

// The document's own claim (info, Conventions): every operation declares
// 404 and 405, the answers any request may meet.
function defaultResponseChecks(doc) {
  const lacking = [];
  for (const [tpl, item] of Object.entries(doc.paths)) {
    for (const m of ['get', 'put', 'post', 'delete', 'patch']) {
      if (!item[m]) continue;
      for (const s of ['404', '405']) if (!item[m].responses[s]) lacking.push(`${m.toUpperCase()} ${tpl} ${s}`);
    }
  }
  check('every operation declares 404 and 405, as the OpenAPI document says', lacking.length === 0,
        `missing: ${lacking.join(', ')}`);
}

// ---- the error codes: openapi's ErrorCode against the daemon's table ----
// src/daemon/qingdand.h holds one row per error, X(E_NAME, status, "code",
// message); ErrorCode's enum must hold exactly those codes and its
// description give each under its status, so a code added on either side
// alone fails here.
function errorCodeChecks(doc) {
  const h = fs.readFileSync(path.join(SRC, 'src/daemon/qingdand.h'), 'utf8');
  const table = new Map();
  for (const m of h.matchAll(/X\(E_\w+,\s*(\d{3}),\s*"([a-z_]+)"/g)) table.set(m[2], Number(m[1]));
  check('qingdand.h has an error table that the contract test can read', table.size >= 30,
        `${table.size} rows read`);
  const ec = doc.components.schemas.ErrorCode;
  const en = new Set(ec.enum);
  const missing = [...table.keys()].filter((c) => !en.has(c));
  const extra = [...en].filter((c) => !table.has(c));
  check('ErrorCode.enum holds every code of the error table in qingdand.h', missing.length === 0,
        `missing: ${missing.join(', ')}`);
  check('ErrorCode.enum holds no code the error table lacks', extra.length === 0,
        `not in qingdand.h: ${extra.join(', ')}`);
  // "`409` `already_exists`, `signing_disabled`, …;" — the statuses as the
  // description gives them, up to its note on bad_item.
  const text = ec.description.split('(`bad_item`')[0];
  const described = new Map();
  for (const m of text.matchAll(/`(\d{3})`((?:[\s,]*`[a-z_]+`)+)/g)) {
    for (const c of m[2].matchAll(/`([a-z_]+)`/g)) described.set(c[1], Number(m[1]));
  }
  const wrong = [];
  for (const [code, status] of table) {
    if (described.get(code) !== status) wrong.push(`${code}: table ${status}, description ${described.get(code) ?? 'none'}`);
  }
  for (const [code, status] of described) {
    if (!table.has(code)) wrong.push(`${code}: description ${status}, not in the table`);
  }
  check('ErrorCode.description gives every code under the status of the error table, and no other',
        wrong.length === 0, wrong.join('; '));
}

// ---- real answers against the OpenAPI response schemas ----
function responseValidator(doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // Both under ids that make openapi.yaml's "./list.schema.json#/…" resolve.
  ajv.addSchema({ ...JSON.parse(fs.readFileSync(LIST_SCHEMA, 'utf8')), $id: 'list.schema.json' });
  ajv.addSchema({ ...doc, $id: 'openapi.json' });
  const ops = [];
  for (const [tpl, item] of Object.entries(doc.paths)) {
    const rx = new RegExp('^' + tpl.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    for (const m of ['get', 'put', 'post', 'delete', 'patch']) {
      if (item[m]) ops.push({ tpl, rx, method: m.toUpperCase(), op: item[m] });
    }
  }
  const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
  return (method, urlPath, status, body) => {
    const p = urlPath.split('?')[0];
    const cands = ops.filter((o) => o.rx.test(p));
    const o = cands.find((c) => c.method === method) || (status === 405 ? cands[0] : null);
    // No route: the answers any request may get, at the document's root.
    let ptr = o ? `#/paths/${esc(o.tpl)}/${o.method.toLowerCase()}/responses/${status}`
                : `#/x-default-responses/${status}`;
    let resp = o ? o.op.responses[String(status)] : (doc['x-default-responses'] || {})[String(status)];
    if (!resp) return `${o ? `${o.method} ${o.tpl}` : `${method} ${p} (no route)`} does not declare ${status}`;
    if (resp.$ref) {
      ptr = resp.$ref;
      resp = resp.$ref.split('/').slice(1).reduce((x, k) => x[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    }
    const media = resp.content && resp.content['application/json'];
    if (!media) return body === '' ? null : `${o.tpl} ${status} declares no JSON body`;
    const v = ajv.getSchema(`openapi.json${ptr}/content/application~1json/schema`);
    if (!v) return `cannot compile the schema at ${ptr}`;
    return v(JSON.parse(body)) ? null : JSON.stringify(v.errors.slice(0, 3));
  };
}

async function request(method, p, body, headers = {}) {
  const init = { method, headers: { ...headers }, redirect: 'manual' };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (!init.headers['Content-Type']) init.headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(URL + p, init);
  return { status: r.status, text: await r.text() };
}

async function responseChecks(validateList) {
  const doc = YAML.parse(fs.readFileSync(OPENAPI, 'utf8'));
  const validate = responseValidator(doc);
  const admin = { Authorization: `Bearer ${TOKEN}` };
  const gba = 'gba-research-positive';
  const sample = JSON.parse(fs.readFileSync(path.join(SRC, `schema/examples/${gba}.json`), 'utf8'));
  const cases = [
    ['GET', '/v1/lookup?code=3822190090&entity=91440101MA5D7R2TX1&date=2026-11-26', undefined, {}, 200],
    ['GET', '/v1/lookup?code=0106190090&date=2026-11-26', undefined, {}, 200],
    ['GET', '/v1/lookup?code=38AB', undefined, {}, 400],
    ['GET', '/v1/lookup', undefined, {}, 400],
    ['GET', '/v1/lookup?code=3822&list=nope', undefined, {}, 404],
    ['POST', '/v1/check', { date: '2026-11-26', items: [{ code: '3822190090' }, { code: 'x' }] }, {}, 200],
    ['POST', '/v1/check', { items: [] }, {}, 400],
    // the brief view: the same decisions by ids (BriefDecision, CheckBrief)
    ['GET', '/v1/lookup?code=3822190090&entity=91440101MA5D7R2TX1&date=2026-11-26&view=brief', undefined, {}, 200],
    ['GET', '/v1/lookup?code=3822190090&date=2026-11-26&view=brief&client_ref=po-1', undefined, {}, 200],
    ['GET', '/v1/lookup?code=3002510000&entity=91440115MA9W3K7C66&date=2026-11-26&customs=2201&view=brief', undefined, {}, 200],
    ['GET', '/v1/lookup?code=3002510000&entity=91440115MA9W3K7C66&date=2026-11-26&name=%E7%BB%86%E8%83%9E&view=brief', undefined, {}, 200],
    ['GET', '/v1/lookup?code=3822190090&view=full', undefined, {}, 200],
    ['GET', '/v1/lookup?code=3822190090&view=short', undefined, {}, 400],
    ['POST', '/v1/check', { view: 'brief', date: '2026-11-26', entity: '91440115MA9W3K7C66', items: [{ code: '3822190090' }, { code: '3002510000', customs: '2201' }, { code: '3002901000' }, { code: 'x' }] }, {}, 200],
    ['POST', '/v1/check', { view: 'short', items: [{ code: '3822190090' }] }, {}, 400],
    ['GET', '/v1/lists', undefined, {}, 200],
    ['GET', `/v1/lists/${gba}`, undefined, {}, 200],
    ['GET', `/v1/lists/${gba}/entries?limit=2`, undefined, {}, 200],
    ['GET', `/v1/lists/${gba}/entries?limit=0`, undefined, {}, 400],
    ['GET', `/v1/lists/${gba}/expiring?within=3660`, undefined, {}, 200],
    ['GET', `/v1/lists/${gba}/expiring?within=0`, undefined, {}, 400],
    ['GET', '/v1/lists/nope/expiring', undefined, {}, 404],
    ['GET', `/v1/lists/${gba}/versions`, undefined, {}, 200],
    ['GET', `/v1/lists/${gba}/versions/1`, undefined, {}, 200],
    ['GET', '/v1/lists/biomed-rd-whitelist/versions/1', undefined, {}, 200],
    ['GET', `/v1/lists/${gba}/versions/99`, undefined, {}, 404],
    ['GET', `/v1/lists/${gba}/versions/1?format=pdf`, undefined, {}, 400],
    ['GET', `/v1/lists/${gba}/diff?from=1&format=pdf`, undefined, {}, 400],
    ['POST', '/v1/check?format=pdf', { items: [{ code: '3822190090' }] }, {}, 400],
    ['POST', '/v1/sheet', 'not a zip', { 'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }, 422],
    ['POST', '/v1/sheet', 'code\n3822\n', { 'Content-Type': 'text/csv' }, 415],
    ['PUT', `/v1/lists/${gba}?dry_run=true`, sample, admin, 200],
    ['PUT', `/v1/lists/${gba}`, sample, {}, 401],
    ['PUT', `/v1/lists/${gba}`, { ...sample, kind: 'whitelist' }, admin, 422],
    ['PUT', `/v1/lists/${gba}`, '{not json', admin, 400],
    ['GET', `/v1/lists/${gba}/diff?from=1&to=1`, undefined, {}, 200],
    ['GET', '/v1/audit?limit=3', undefined, admin, 200],
    ['PUT', `/v1/lists/${gba}?propose=true`, sample, admin, 202],
    ['GET', '/v1/proposals', undefined, admin, 200],
    ['GET', '/v1/proposals/1', undefined, admin, 200],
    ['GET', '/v1/proposals?state=open', undefined, admin, 400],
    ['POST', '/v1/proposals/1/approve', { comment: '核对' }, admin, 403],
    ['POST', '/v1/proposals/1/reject', { note: 'x' }, admin, 400],
    ['POST', '/v1/proposals/999/approve', undefined, admin, 404],
    ['GET', '/v1/audit?limit=5', undefined, admin, 200],
    ['PUT', `/v1/lists/${gba}?effective_at=${new Date(Date.now() + 86400e3).toISOString().slice(0, 19)}Z`, sample, admin, 200],
    ['PUT', `/v1/lists/${gba}?effective_at=2020-01-01T00:00:00Z`, sample, admin, 400],
    ['GET', `/v1/lists/${gba}`, undefined, {}, 200],
    ['DELETE', `/v1/lists/${gba}/scheduled`, undefined, admin, 200],
    ['DELETE', `/v1/lists/${gba}/scheduled`, undefined, admin, 404],
    ['GET', '/v1/feed?limit=20', undefined, {}, 200],
    ['GET', '/v1/status', undefined, {}, 200],
    ['GET', '/healthz', undefined, {}, 200],
    ['GET', '/readyz', undefined, {}, 200],
    ['GET', '/v1/nowhere', undefined, {}, 404],
    ['DELETE', '/v1/lookup?code=3822', undefined, {}, 405],
    ['POST', '/v1/lists', {}, {}, 405],
  ];
  for (const [method, p, body, headers, want] of cases) {
    const r = await request(method, p, body, headers);
    const name = `${method} ${p} answers ${want}, as the OpenAPI document describes`;
    if (r.status !== want) {
      check(name, false, `got ${r.status}: ${r.text.slice(0, 300)}`);
      continue;
    }
    const why = validate(method, p, r.status, r.text);
    check(name, why === null, why);
    if (validateList && p.includes('/versions/') && r.status === 200) {
      validateDoc(validateList, `the export ${p}`, JSON.parse(r.text));
    }
  }
}

// ---- null where the loader takes it ----
// The loader reads null as "absent" for many optional members. For every
// optional member of the whitelist sample's objects (its own schema's
// properties less its required ones), the member set to null is sent to the
// loader (a dry run); where the loader takes it the schema must too, and a
// document with all those nulls at once must both load and validate.
async function nullChecks(validateList) {
  const schema = JSON.parse(fs.readFileSync(LIST_SCHEMA, 'utf8'));
  const defs = schema.$defs;
  const id = 'biomed-rd-whitelist';
  const sample = JSON.parse(fs.readFileSync(path.join(SRC, `schema/examples/${id}.json`), 'utf8'));
  const admin = { Authorization: `Bearer ${TOKEN}` };
  // The objects whose members are set to null, with their schema.
  const objects = [
    ['', schema], ['/title', defs.text2], ['/scope', defs.scope], ['/clauses/0', defs.clause],
    ['/entities/0', defs.member], ['/batches/0', defs.batch], ['/entries/0', defs.entry],
    ['/entries/0/name', defs.text2], ['/entries/0/conditions/0', defs.condition],
    ['/entries/0/quantity', defs.quantity],
  ];
  const at = (doc, ptr) => ptr.split('/').slice(1).reduce((x, k) => x[k], doc);
  const loads = async (doc) => (await request('PUT', `/v1/lists/${id}?dry_run=true`, doc, admin)).status;
  const taken = [];
  for (const [ptr, def] of objects) {
    const required = new Set(def.required || []);
    for (const key of Object.keys(def.properties)) {
      if (required.has(key)) continue;
      const doc = structuredClone(sample);
      at(doc, ptr)[key] = null;
      const status = await loads(doc);
      if (status !== 200) {
        check(`the loader answers 200 or 422 to null at ${ptr}/${key}`, status === 422, `got ${status}`);
        continue;
      }
      taken.push([ptr, key]);
      const ok = validateList(doc);
      check(`null at ${ptr}/${key}, which the loader takes, is valid against list.schema.json`, ok,
            ok ? '' : JSON.stringify(validateList.errors.slice(0, 3)));
    }
  }
  for (const key of ['identity', 'aliases', 'customs']) {
    check(`the loader takes null for the entry's ${key}`, taken.some(([p, k]) => p === '/entries/0' && k === key));
  }
  check("the loader takes null for the scope's customs", taken.some(([p, k]) => p === '/scope' && k === 'customs'));
  // All at once, but for the objects whose own members were nulled above.
  const holds = (m) => objects.some(([p]) => p === m || p.startsWith(`${m}/`));
  const all = structuredClone(sample);
  for (const [ptr, key] of taken) if (!holds(`${ptr}/${key}`)) at(all, ptr)[key] = null;
  const status = await loads(all);
  check(`a document with null for every optional member the loader takes (${taken.length}) loads`, status === 200,
        `dry run answered ${status}`);
  validateDoc(validateList, 'a document with null for every optional member the loader takes', all);
}

// ---- every answer the HTTP suites got (run.sh records them) ----
// Grouped by operation and status: one check per group, failing with the
// first answers that do not match what the document declares (the status
// itself, the media type, and for JSON the response schema).
function recordedChecks(doc) {
  const file = process.env.QD_RECORDED;
  if (!file) return;
  const validate = responseValidator(doc);
  const ops = [];
  for (const [tpl, item] of Object.entries(doc.paths)) {
    const rx = new RegExp('^' + tpl.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    for (const m of ['get', 'put', 'post', 'delete', 'patch', 'head']) {
      if (item[m]) ops.push({ tpl, rx, method: m.toUpperCase(), op: item[m] });
    }
  }
  const deref = (r) => (r && r.$ref ? r.$ref.split('/').slice(1).reduce((x, k) => x[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc) : r);
  const groups = new Map();
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l);
  for (const line of lines) {
    const a = JSON.parse(line);
    const p = a.path.split('?')[0];
    const cands = ops.filter((o) => o.rx.test(p));
    // HEAD answers as GET does, without the body.
    const m = a.method === 'HEAD' ? 'GET' : a.method;
    const o = cands.find((c) => c.method === m);
    const key = `${a.method} ${o ? o.tpl : '(no route)'} ${a.status}`;
    if (!groups.has(key)) groups.set(key, { n: 0, bad: [] });
    const g = groups.get(key);
    g.n++;
    // An operation's own responses, else the document's defaults for any route.
    const own = o ? o.op.responses[String(a.status)] : (cands.length && a.status === 405 ? cands[0].op.responses['405'] : undefined);
    const resp = deref(own || (doc['x-default-responses'] || {})[String(a.status)]);
    let why = null;
    const media = (a.content_type || '').split(';')[0].trim().toLowerCase();
    const body = a.body === undefined ? null : a.body;
    if (!resp) {
      why = 'status not declared';
    } else if (a.method === 'HEAD' || body === '' || (body === null && !media)) {
      why = null;
    } else if (media === 'application/json') {
      why = body === null ? 'JSON body that is not UTF-8' : validate(m, a.path, a.status, body);
    } else if (!media) {
      // Only what the HTTP library answers by itself has no Content-Type;
      // the document says so by declaring no JSON body for it.
      why = resp.content && resp.content['application/json'] ? 'no Content-Type where JSON is declared' : null;
    } else if (!resp.content || !Object.keys(resp.content).some((k) => {
      const km = k.split(';')[0].trim().toLowerCase();
      return km === media || km === '*/*' || (km.endsWith('/*') && media.startsWith(km.slice(0, -1)));
    })) {
      why = `media type ${media || '(none)'} not declared (declared: ${Object.keys(resp.content || {}).join(', ') || 'none'})`;
    }
    if (why && g.bad.length < 3) g.bad.push(`${a.method} ${a.path.slice(0, 120)}: ${String(why).slice(0, 300)}`);
    else if (why) g.bad.push('');
  }
  check(`the HTTP suites' answers were recorded (${lines.length} answers, ${groups.size} operation and status pairs)`, lines.length > 0);
  for (const [key, g] of [...groups.entries()].sort()) {
    check(`${key}: the ${g.n} answers the HTTP suites got match the OpenAPI document`, g.bad.length === 0,
          `${g.bad.length} do not, e.g. ${g.bad.filter((b) => b).join(' | ')}`);
  }
}

(async () => {
  const v = listSchemaValidator();
  if (v) {
    check('list.schema.json compiles in ajv strict mode', true);
    const files = [
      ...fs.readdirSync(path.join(SRC, 'schema/examples')).map((f) => `schema/examples/${f}`),
      ...fs.readdirSync(path.join(SRC, 'tests/data/listdoc')).map((f) => `tests/data/listdoc/${f}`),
    ].filter((f) => f.endsWith('.json'));
    for (const f of files) validateDoc(v, f, JSON.parse(fs.readFileSync(path.join(SRC, f), 'utf8')));
  }
  await openapiChecks();
  errorCodeChecks(YAML.parse(fs.readFileSync(OPENAPI, 'utf8')));
  defaultResponseChecks(YAML.parse(fs.readFileSync(OPENAPI, 'utf8')));
  await responseChecks(v);
  if (v) await nullChecks(v);
  recordedChecks(YAML.parse(fs.readFileSync(OPENAPI, 'utf8')));
  const pct = checks ? Math.floor((100 * (checks - failures)) / checks) : 0;
  console.log(`${pct}%: Checks: ${checks}, Failures: ${failures}, Errors: 0`);
  process.exit(failures ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL: ${e.stack}`);
  console.log(`0%: Checks: ${checks + 1}, Failures: ${failures + 1}, Errors: 0`);
  process.exit(1);
});
