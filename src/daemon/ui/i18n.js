/* qingdan pages: the two languages (中文 first, English on request).
 *
 * Static text carries data-i18n="key" (textContent), data-i18n-ph (placeholder),
 * data-i18n-title and data-i18n-aria (aria-label); script text goes through
 * QD.t(key, vars).  The choice is kept in localStorage ("qd.lang"); ?lang=en
 * in the address also selects English.
 *
 * Wording rule: a deny means "not covered by the lists, the normal procedure
 * applies".  No text here ever calls it a prohibition. */
(function () {
  'use strict';

  var S = {
    zh: {
      'skip': '跳到主要内容',
      'colon': '：',
      'app.name': 'qingdan 清单',
      'nav.label': '页面',
      'nav.precheck': '进口预检',
      'nav.admin': '清单维护',
      'lang.switch': 'English',
      'lang.switch.label': 'Switch to English',

      // pre-check page
      'pc.title': '进口预检 — qingdan 清单',
      'pc.h1': '科研物资进口预检',
      'pc.lead': '查询货物是否纳入“跨境科研用物资正面清单”或“生物医药研发用物品进口白名单”，并给出依据条款、免于提交的单证和报关备注。',
      'pc.lead2': '“未纳入”只表示不适用便利措施，货物按常规程序办理进口手续。',
      'pc.form': '预检信息',
      'pc.entity': '单位代码',
      'pc.entity.hint': '18 位统一社会信用代码；港澳机构填写 HK:编号 或 MO:编号。',
      'pc.date': '进口日期',
      'pc.date.hint': '默认为今天（北京时间）。',
      'pc.list': '查询范围',
      'pc.list.all': '全部清单',
      'pc.codes': '商品编号',
      'pc.codes.hint': '每行一个商品编号，可写作“编号,品名”。可含点或空格（3822.1900.90）；13 位编号含 3 位检验检疫编码。',
      'pc.file': '或导入货物清单文件（CSV 或 Excel）',
      'pc.file.hint': '第一列为商品编号（或表头含“商品编号”“HS编码”“code”），可选“商品名称”“检验检疫编码”列；CSV 支持 UTF-8 和 GB18030；Excel（.xlsx）读取第一个工作表，商品编号列请设为文本格式。',
      'pc.submit': '开始预检',
      'pc.clear': '清空',
      'pc.checking': '正在预检…',
      'pc.results': '预检结果',
      'pc.download': '下载结果（CSV）',
      'pc.download.xlsx': '下载结果（Excel）',
      'pc.download.xlsx.busy': '正在生成 Excel…',
      'pc.download.xlsx.note': 'Excel 结果由服务重新预检生成，带有新的决定编号。',
      'pc.share': '复制分享链接',
      'pc.share.link': '本次预检的链接',
      'pc.share.copied': '链接已复制。',
      'pc.share.manual': '请从地址栏复制链接。',
      'pc.context': '单位：{entity} · 日期：{date} · 决定编号：{id}',
      'pc.context.noentity': '（未填写）',
      'pc.summary': '共 {total} 项：{allow} 项适用便利措施，{deny} 项未纳入（按常规程序办理），{invalid} 项编码无效。',
      'pc.overall.allow': '全部货物均适用便利措施。',
      'pc.overall.deny': '部分货物不适用便利措施，请按常规程序办理这些货物。',
      'pc.token.title': '查询令牌',
      'pc.token': '读取令牌',
      'pc.token.use': '使用令牌',
      'pc.token.forget': '清除令牌',
      'pc.token.hint': '令牌只保存在本标签页的会话中，关闭标签页即清除；不会写入链接。',
      'pc.token.need': '此服务的查询需要令牌：请输入服务管理员发给您的读取令牌（或管理令牌）。',
      'pc.token.need.check': '未能预检：此服务的查询需要令牌。请在上方输入令牌，再重新预检。',
      'pc.token.bad': '令牌未被接受：令牌无效或已停用。请检查后重新输入。',
      'pc.token.ok': '令牌已接受：本标签页的每次查询都会附带它。',
      'pc.token.ok.rerun': '令牌已接受。请重新点击“开始预检”。',
      'pc.token.none': '请先输入令牌。',
      'pc.token.forgotten': '令牌已清除。',
      'pc.token.unchecked': '令牌已保存，但暂时无法验证（{message}）。',
      'col.line': '行',
      'col.code': '商品编号',
      'col.decision': '结论',
      'col.reason': '原因',
      'col.basis': '依据',
      'col.notes': '办理提示',
      'code.normalised': '规范编号',
      'code.ciq': '检验检疫编码',
      'dec.allow': '适用便利措施',
      'dec.deny': '未纳入',
      'dec.deny.sub': '按常规程序办理',
      'dec.invalid': '编码无效',
      'reason.listed': '已列入清单，可适用便利措施。',
      'reason.excluded': '该商品被清单的排除条目明确排除，不适用便利措施；按常规程序办理。',
      'reason.not_listed': '未列入任何清单；按常规程序办理。',
      'reason.entity_required': '需要填写单位代码才能判断（该清单只适用于名册内的单位）。',
      'reason.entity_not_eligible': '本单位不在适用范围内（条目批准给其他单位，或本单位不在该清单的单位名册中）；按常规程序办理。',
      'reason.not_yet_effective': '相关条目尚未生效；在生效前按常规程序办理。',
      'reason.expired': '相关条目已过有效期；按常规程序办理。',
      'reason.suspended': '相关条目已暂停；按常规程序办理。',
      'reason.revoked': '相关条目已撤销；按常规程序办理。',
      'reason.invalid': '商品编号格式不正确：应为 2–10 位数字，或 13 位（含检验检疫编码）。',
      'basis.list': '清单',
      'basis.version': '第 {v} 版',
      'basis.entry': '条目',
      'basis.clause': '条款',
      'basis.clause.text': '条款原文',
      'basis.clause.source': '出处',
      'basis.none': '无适用条目',
      'basis.batch': '批次',
      'basis.spec': '规格',
      'notes.waives': '免于提交',
      'notes.remark': '报关单“备注”栏填写',
      'notes.note': '说明',
      'notes.quantity': '数量上限',
      'notes.near': '接近匹配的条目',
      'notes.none': '—',
      'waive.Q': 'Q（进口药品通关单）',
      'near.not_yet_effective': '{from} 起生效',
      'near.not_yet_effective.nodate': '尚未生效',
      'near.expired': '已于 {to} 到期',
      'near.expired.nodate': '已过有效期',
      'near.other_entity': '批准给其他单位',
      'near.roster': '本单位不在该清单名册中，或名册资格在该日期无效',
      'near.entity_required': '需要填写单位代码',
      'near.suspended': '条目已暂停',
      'near.revoked': '条目已撤销',
      'entity.ok.uscc': '统一社会信用代码校验通过。',
      'entity.ok.scheme': '{scheme} 机构编号格式正确。',
      'entity.partial.uscc': '已输入 {n}/18 位。',
      'entity.partial.scheme': '港澳机构请输入 HK: 或 MO: 加编号。',
      'entity.bad.char': '“{c}”不能出现在统一社会信用代码中（不使用 I、O、S、V、Z）。',
      'entity.bad.long': '统一社会信用代码为 18 位，现有 {n} 位。',
      'entity.bad.check': '校验位不符：按前 17 位计算应为“{want}”，输入的是“{got}”。',
      'entity.bad.scheme': '编号只能含字母、数字和 . _ -，最长 64 位。',
      'err.entity': '请先更正单位代码。',
      'err.date': '请填写有效日期（年-月-日）。',
      'err.nocodes': '请至少填写一个商品编号。',
      'err.http': '请求失败（{status}）：{message}',
      'err.network': '无法连接服务：{message}',
      'err.file': '无法读取文件：{message}',
      'err.file.empty': '文件中没有找到商品编号。',
      'file.loaded': '已从 {name} 导入 {n} 行。',
      'file.loaded.sheet': '已从 {name} 的工作表“{sheet}”导入 {n} 行。',

      // admin page
      'ad.title': '清单维护 — qingdan 清单',
      'ad.h1': '清单维护',
      'ad.lead': '上传新版清单（JSON 文档，或 CSV、Excel 条目表）：先预检并查看差异，确认后才会保存。每次更改都生成新版本，可随时回滚。',
      'ad.token': '管理令牌',
      'ad.token.hint': '令牌只保存在本标签页的会话中，关闭标签页即清除。',
      'ad.token.use': '使用令牌',
      'ad.token.forget': '清除令牌',
      'ad.token.ok': '令牌有效（管理员：{name}）。',
      'ad.token.ok.anon': '令牌有效（管理员）。',
      'ad.token.none': '尚未填写令牌。',
      'ad.token.bad': '令牌无效或已停用。',
      'ad.token.role': '该令牌没有管理员权限。',
      'ad.token.disabled': '服务未配置令牌文件，管理功能已关闭。',
      'ad.lists': '清单',
      'ad.lists.empty': '尚无清单。',
      'ad.lists.id': '编号',
      'ad.lists.name': '名称',
      'ad.lists.kind': '类型',
      'ad.lists.version': '当前版本',
      'ad.lists.entries': '条目数',
      'ad.lists.loaded': '更新时间（北京时间）',
      'ad.lists.history': '版本历史',
      'ad.lists.show': '查看历史',
      'kind.positive': '正面清单',
      'list.positive': '正面清单',
      'list.whitelist': '白名单',
      'kind.whitelist': '白名单',
      'ad.upload': '上传新版本',
      'ad.target': '目标清单',
      'ad.target.fromfile': '按文件中的 list 字段（可为新清单）',
      'ad.file': '清单文件（JSON、CSV 或 Excel）',
      'ad.file.hint': 'JSON 为完整清单文档；CSV 或 Excel（.xlsx，第一个工作表）替换现有清单的条目（保留标题、条款和名册），表头可用中文。',
      'ad.dry': '预检（不保存）',
      'ad.dry.running': '正在预检…',
      'ad.dry.ok': '预检通过：将把 {list} 从第 {prev} 版更新为第 {v} 版（共 {n} 条）。',
      'ad.dry.ok.new': '预检通过：将新建清单 {list} 第 {v} 版（共 {n} 条）。',
      'ad.dry.counts': '新增 {a} 条，删除 {r} 条，修改 {c} 条。',
      'ad.dry.nochange': '与当前版本相比没有变化。',
      'ad.dry.more': '另有 {n} 项更改未列出。',
      'ad.dry.errors': '文件有 {n} 处问题，未保存任何内容：',
      'ad.diff.id': '条目编号',
      'ad.diff.kind': '更改',
      'ad.diff.fields': '变化的字段',
      'diff.added': '新增',
      'diff.removed': '删除',
      'diff.changed': '修改',
      'ad.apply': '确认更新',
      'ad.apply.v': '确认更新为第 {v} 版',
      'ad.cancel': '取消',
      'ad.applying': '正在保存…',
      'ad.applied': '已保存：{list} 现为第 {v} 版（新增 {a}，删除 {r}，修改 {c}）。',
      'ad.conflict': '保存失败：预检之后清单已被他人更改（现为第 {v} 版），未保存任何内容。请重新预检并核对差异。',
      'ad.conflict.rb': '回滚失败：清单已被他人更改（现为第 {v} 版），未做任何更改。请核对版本历史后重试。',
      'ad.redo': '重新预检',
      'ad.nofile': '请选择一个文件。',
      'ad.notarget': '请选择目标清单，或在 JSON 文件中写明 list 字段。',
      'ad.badjsonfile': '文件不是有效的 JSON：{message}',
      'ad.needtoken': '请先填写管理令牌。',
      'ad.history': '版本历史：{list}',
      'ad.history.pick': '版本历史',
      'ad.history.hint': '在上表中选择一个清单查看其版本历史。',
      'ad.h.version': '版本',
      'ad.h.time': '时间（北京时间）',
      'ad.h.actor': '操作人',
      'ad.h.action': '操作',
      'ad.h.entries': '条目数',
      'ad.h.source': '来源',
      'ad.h.current': '当前版本',
      'ad.rollback': '回滚到此版本',
      'ad.rollback.label': '回滚 {list} 到第 {v} 版',
      'ad.rollback.confirm': '确认回滚：将以第 {v} 版的内容生成新版本第 {next} 版。',
      'ad.rollback.yes': '确认回滚',
      'ad.rollback.done': '已回滚：{list} 现为第 {v} 版（内容同第 {from} 版）。',
      'action.load': '上传 JSON',
      'action.import': '导入 CSV',
      'action.rollback': '回滚',
      'loc.line': '第 {line} 行第 {column} 列',
      'loc.path': '位置 {path}'
    },
    en: {
      'skip': 'Skip to main content',
      'colon': ': ',
      'app.name': 'qingdan lists',
      'nav.label': 'Pages',
      'nav.precheck': 'Import pre-check',
      'nav.admin': 'List updates',
      'lang.switch': '中文',
      'lang.switch.label': '切换到中文',

      'pc.title': 'Import pre-check — qingdan',
      'pc.h1': 'Research materials import pre-check',
      'pc.lead': 'Check whether items are covered by the positive list of cross-border research materials or the whitelist for importing biomedical R&D items, with the supporting clauses, the documents waived and the remark to put on the declaration.',
      'pc.lead2': '"Not covered" only means the facilitation does not apply: the item is imported through the normal procedure.',
      'pc.form': 'Pre-check details',
      'pc.entity': 'Institution id',
      'pc.entity.hint': 'The 18-character unified social credit code (USCC); Hong Kong and Macao institutions enter HK:number or MO:number.',
      'pc.date': 'Import date',
      'pc.date.hint': 'Defaults to today in China time (UTC+08:00).',
      'pc.list': 'Lists to consult',
      'pc.list.all': 'All lists',
      'pc.codes': 'Commodity codes',
      'pc.codes.hint': 'One commodity code per line, optionally "code,description". Dots and spaces are fine (3822.1900.90); 13 digits include the 3-digit CIQ code.',
      'pc.file': 'Or import the shipment from a CSV or Excel file',
      'pc.file.hint': 'First column the commodity code (or a header naming "code", "HS编码" or "商品编号"); optional description and CIQ columns. CSV in UTF-8 or GB18030; Excel (.xlsx): the first sheet, with the code column formatted as text.',
      'pc.submit': 'Check',
      'pc.clear': 'Clear',
      'pc.checking': 'Checking…',
      'pc.results': 'Results',
      'pc.download': 'Download results (CSV)',
      'pc.download.xlsx': 'Download results (Excel)',
      'pc.download.xlsx.busy': 'Making the Excel file…',
      'pc.download.xlsx.note': 'The Excel results are a fresh check of the same items by the service, with a new decision id.',
      'pc.share': 'Copy link to these results',
      'pc.share.link': 'Link to this pre-check',
      'pc.share.copied': 'Link copied.',
      'pc.share.manual': 'Copy the link from the address bar.',
      'pc.context': 'Institution: {entity} · date: {date} · decision id: {id}',
      'pc.context.noentity': '(none given)',
      'pc.summary': '{total} items: {allow} covered, {deny} not covered (normal procedure applies), {invalid} invalid.',
      'pc.overall.allow': 'Every item is covered by the facilitation.',
      'pc.overall.deny': 'Some items are not covered: declare those through the normal procedure.',
      'pc.token.title': 'Access token',
      'pc.token': 'Reader token',
      'pc.token.use': 'Use token',
      'pc.token.forget': 'Forget token',
      'pc.token.hint': 'The token is kept in this tab\'s session only and forgotten when the tab closes; it never goes into a link.',
      'pc.token.need': 'This server needs a token for reads: enter the reader token (or an admin token) your administrator gave you.',
      'pc.token.need.check': 'Not checked: this server needs a token for reads. Enter it above, then run the check again.',
      'pc.token.bad': 'The token was not accepted: it is unknown or no longer valid. Check it and enter it again.',
      'pc.token.ok': 'Token accepted: this tab sends it with every request.',
      'pc.token.ok.rerun': 'Token accepted. Run the check again.',
      'pc.token.none': 'Enter a token first.',
      'pc.token.forgotten': 'Token forgotten.',
      'pc.token.unchecked': 'The token is kept but could not be checked now ({message}).',
      'col.line': 'Line',
      'col.code': 'Commodity code',
      'col.decision': 'Decision',
      'col.reason': 'Reason',
      'col.basis': 'Basis',
      'col.notes': 'What to do',
      'code.normalised': 'normalised',
      'code.ciq': 'CIQ',
      'dec.allow': 'Covered',
      'dec.deny': 'Not covered',
      'dec.deny.sub': 'normal procedure applies',
      'dec.invalid': 'Invalid code',
      'reason.listed': 'Listed: the facilitation applies.',
      'reason.excluded': 'Carved out of the list by an exclusion entry: not covered, the normal procedure applies.',
      'reason.not_listed': 'Not on any list: not covered, the normal procedure applies.',
      'reason.entity_required': 'An institution id is needed to decide (this list applies only to institutions on its roster).',
      'reason.entity_not_eligible': 'The institution is not eligible (the entry was approved for another institution, or the institution is not on the list\'s roster): the normal procedure applies.',
      'reason.not_yet_effective': 'The matching entry is not in force yet: until then the normal procedure applies.',
      'reason.expired': 'The matching entry has expired: the normal procedure applies.',
      'reason.suspended': 'The matching entry is suspended: the normal procedure applies.',
      'reason.revoked': 'The matching entry has been revoked: the normal procedure applies.',
      'reason.invalid': 'The commodity code is malformed: expected 2–10 digits, or 13 digits including the CIQ code.',
      'basis.list': 'List',
      'basis.version': 'version {v}',
      'basis.entry': 'Entry',
      'basis.clause': 'Clause',
      'basis.clause.text': 'Clause text',
      'basis.clause.source': 'Source',
      'basis.none': 'No applicable entry',
      'basis.batch': 'Batch',
      'basis.spec': 'Specification',
      'notes.waives': 'Waived documents',
      'notes.remark': 'Put in the declaration\'s 备注 (remarks)',
      'notes.note': 'Note',
      'notes.quantity': 'Quantity limit',
      'notes.near': 'Near misses',
      'notes.none': '—',
      'waive.Q': 'Q (进口药品通关单, drug import clearance)',
      'near.not_yet_effective': 'valid from {from}',
      'near.not_yet_effective.nodate': 'not in force yet',
      'near.expired': 'expired on {to}',
      'near.expired.nodate': 'expired',
      'near.other_entity': 'approved for another institution',
      'near.roster': 'institution not on the list\'s roster, or not valid on this date',
      'near.entity_required': 'needs an institution id',
      'near.suspended': 'entry suspended',
      'near.revoked': 'entry revoked',
      'entity.ok.uscc': 'USCC check character verified.',
      'entity.ok.scheme': '{scheme} institution id is well-formed.',
      'entity.partial.uscc': '{n} of 18 characters.',
      'entity.partial.scheme': 'For Hong Kong or Macao institutions type HK: or MO: and the number.',
      'entity.bad.char': '"{c}" cannot appear in a USCC (I, O, S, V and Z are not used).',
      'entity.bad.long': 'A USCC has 18 characters, this has {n}.',
      'entity.bad.check': 'Check character mismatch: the first 17 characters give "{want}", not "{got}".',
      'entity.bad.scheme': 'The id may hold letters, digits and . _ - only, up to 64 characters.',
      'err.entity': 'Please correct the institution id first.',
      'err.date': 'Please enter a valid date (YYYY-MM-DD).',
      'err.nocodes': 'Please enter at least one commodity code.',
      'err.http': 'The request failed ({status}): {message}',
      'err.network': 'Cannot reach the service: {message}',
      'err.file': 'Cannot read the file: {message}',
      'err.file.empty': 'No commodity codes found in the file.',
      'file.loaded': 'Imported {n} lines from {name}.',
      'file.loaded.sheet': 'Imported {n} lines from sheet "{sheet}" of {name}.',

      'ad.title': 'List updates — qingdan',
      'ad.h1': 'List updates',
      'ad.lead': 'Upload a new version of a list (a JSON document, or a CSV or Excel table of entries): a dry run shows the differences first, and nothing is stored until you confirm. Every change makes a new version, and any version can be rolled back to.',
      'ad.token': 'Admin token',
      'ad.token.hint': 'The token is kept in this tab\'s session only and forgotten when the tab closes.',
      'ad.token.use': 'Use token',
      'ad.token.forget': 'Forget token',
      'ad.token.ok': 'Token accepted (admin: {name}).',
      'ad.token.ok.anon': 'Token accepted (admin).',
      'ad.token.none': 'No token entered yet.',
      'ad.token.bad': 'The token is unknown or no longer valid.',
      'ad.token.role': 'This token does not have the admin role.',
      'ad.token.disabled': 'The daemon runs without a tokens file: list updates are disabled.',
      'ad.lists': 'Lists',
      'ad.lists.empty': 'No lists yet.',
      'ad.lists.id': 'Id',
      'ad.lists.name': 'Title',
      'ad.lists.kind': 'Kind',
      'ad.lists.version': 'Current version',
      'ad.lists.entries': 'Entries',
      'ad.lists.loaded': 'Updated (China time)',
      'ad.lists.history': 'History',
      'ad.lists.show': 'Show history',
      'kind.positive': 'positive list',
      'list.positive': 'Positive list',
      'list.whitelist': 'Whitelist',
      'kind.whitelist': 'whitelist',
      'ad.upload': 'Upload a new version',
      'ad.target': 'Target list',
      'ad.target.fromfile': 'From the file\'s "list" field (may be a new list)',
      'ad.file': 'List file (JSON, CSV or Excel)',
      'ad.file.hint': 'JSON: a complete list document. CSV or Excel (.xlsx, its first sheet): replaces the entries of an existing list (title, clauses and roster are kept); Chinese headings are accepted.',
      'ad.dry': 'Dry run (stores nothing)',
      'ad.dry.running': 'Running the dry run…',
      'ad.dry.ok': 'Dry run passed: {list} would go from version {prev} to version {v} ({n} entries).',
      'ad.dry.ok.new': 'Dry run passed: new list {list} would be created as version {v} ({n} entries).',
      'ad.dry.counts': '{a} added, {r} removed, {c} changed.',
      'ad.dry.nochange': 'No change from the current version.',
      'ad.dry.more': '{n} more changes not listed.',
      'ad.dry.errors': 'The file has {n} problems; nothing was stored:',
      'ad.diff.id': 'Entry id',
      'ad.diff.kind': 'Change',
      'ad.diff.fields': 'Fields that differ',
      'diff.added': 'added',
      'diff.removed': 'removed',
      'diff.changed': 'changed',
      'ad.apply': 'Apply',
      'ad.apply.v': 'Apply as version {v}',
      'ad.cancel': 'Cancel',
      'ad.applying': 'Storing…',
      'ad.applied': 'Stored: {list} is now at version {v} ({a} added, {r} removed, {c} changed).',
      'ad.conflict': 'Not stored: the list was changed by someone else after your dry run (it is now at version {v}). Nothing was stored; run the dry run again and review the differences.',
      'ad.conflict.rb': 'Rollback not done: the list was changed by someone else (it is now at version {v}). Nothing was changed; review the history and try again.',
      'ad.redo': 'Dry run again',
      'ad.nofile': 'Please choose a file.',
      'ad.notarget': 'Please choose the target list, or name it in the JSON file\'s "list" field.',
      'ad.badjsonfile': 'The file is not valid JSON: {message}',
      'ad.needtoken': 'Please enter the admin token first.',
      'ad.history': 'Version history: {list}',
      'ad.history.pick': 'Version history',
      'ad.history.hint': 'Choose a list in the table above to see its version history.',
      'ad.h.version': 'Version',
      'ad.h.time': 'Time (China time)',
      'ad.h.actor': 'By',
      'ad.h.action': 'Action',
      'ad.h.entries': 'Entries',
      'ad.h.source': 'Source',
      'ad.h.current': 'current',
      'ad.rollback': 'Roll back to this version',
      'ad.rollback.label': 'Roll {list} back to version {v}',
      'ad.rollback.confirm': 'Confirm: a new version {next} will be stored with the content of version {v}.',
      'ad.rollback.yes': 'Confirm rollback',
      'ad.rollback.done': 'Rolled back: {list} is now at version {v} (content of version {from}).',
      'action.load': 'JSON upload',
      'action.import': 'CSV import',
      'action.rollback': 'rollback',
      'loc.line': 'line {line}, column {column}',
      'loc.path': 'at {path}'
    }
  };

  var QD = window.QD = window.QD || {};
  var listeners = [];

  function pick() {
    try {
      var q = new URLSearchParams(window.location.search).get('lang');
      if (q === 'en' || q === 'zh') return q;
      var s = window.localStorage.getItem('qd.lang');
      if (s === 'en' || s === 'zh') return s;
    } catch (e) { /* storage may be disabled */ }
    return 'zh';
  }

  QD.lang = pick();

  function fmt(s, vars) {
    return s.replace(/\{(\w+)\}/g, function (m, k) {
      return vars && vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m;
    });
  }

  /* Text for key in the current language (or in lang). */
  QD.t = function (key, vars, lang) {
    var d = S[lang || QD.lang];
    var s = d[key];
    if (s === undefined) s = S.zh[key];
    if (s === undefined) return key;
    return fmt(s, vars);
  };
  QD.other = function () { return QD.lang === 'zh' ? 'en' : 'zh'; };
  QD.has = function (key) { return S.zh[key] !== undefined; };

  /* Apply the current language to the static text of the page. */
  QD.applyLang = function (root) {
    root = root || document;
    document.documentElement.lang = QD.lang === 'zh' ? 'zh-CN' : 'en';
    root.querySelectorAll('[data-i18n]').forEach(function (el) {
      el.textContent = QD.t(el.getAttribute('data-i18n'));
    });
    root.querySelectorAll('[data-i18n-ph]').forEach(function (el) {
      el.setAttribute('placeholder', QD.t(el.getAttribute('data-i18n-ph')));
    });
    root.querySelectorAll('[data-i18n-title]').forEach(function (el) {
      el.setAttribute('title', QD.t(el.getAttribute('data-i18n-title')));
    });
    root.querySelectorAll('[data-i18n-aria]').forEach(function (el) {
      el.setAttribute('aria-label', QD.t(el.getAttribute('data-i18n-aria')));
    });
    var tk = document.querySelector('title[data-i18n]');
    if (tk) document.title = QD.t(tk.getAttribute('data-i18n'));
    var b = document.getElementById('lang-toggle');
    if (b) {
      b.textContent = QD.t('lang.switch');
      b.setAttribute('lang', QD.lang === 'zh' ? 'en' : 'zh');
      b.setAttribute('aria-label', QD.t('lang.switch.label'));
    }
  };

  QD.setLang = function (lang) {
    QD.lang = lang === 'en' ? 'en' : 'zh';
    try { window.localStorage.setItem('qd.lang', QD.lang); } catch (e) { /* ignore */ }
    QD.applyLang();
    listeners.forEach(function (f) { f(QD.lang); });
  };
  QD.onLang = function (f) { listeners.push(f); };

  document.addEventListener('DOMContentLoaded', function () {
    QD.applyLang();
    var b = document.getElementById('lang-toggle');
    if (b) b.addEventListener('click', function () { QD.setLang(QD.other()); });
  });
}());
