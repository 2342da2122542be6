/* qingdan benchmark — synthetic list documents.
 *
 *   gen [--seed S] [--roster M] [--pairs K] [--check-items I] [--csv] N OUTDIR
 *
 * writes, for N entries per list:
 *   OUTDIR/positive-N.json   list "bench-positive"  (kind positive)
 *   OUTDIR/whitelist-N.json  list "bench-whitelist" (kind whitelist)
 *   OUTDIR/positive-N.csv, OUTDIR/whitelist-N.csv   (with --csv) the same
 *                            entries as a CSV import file (English headings)
 *   OUTDIR/pairs-N.tsv       K lookups "CODE<TAB>ENTITY", 10-digit codes drawn
 *                            from the entries (3 in 4 from whitelist entries
 *                            with the entity they were approved for, 1 in 4
 *                            from positive entries with a roster member)
 *   OUTDIR/check-N.json      a POST /v1/check body of I items for one entity
 *                            (a declaration: its own approvals recur)
 *   OUTDIR/check-distinct-N.json  the same mix with no code twice
 *
 * Everything is deterministic: the same arguments give the same bytes.
 *
 * Shape of the data (synthetic, not real lists):
 *  - a "tariff" of ~30 000 ten-digit codes over chapters 01–97 (no 77), with
 *    4–23 headings per chapter and a few subheadings, tariff lines and
 *    supervision suffixes under each;
 *  - entries pick a chapter with a skew toward 28–30 (chemicals, pharma),
 *    38 (reagents) and 84–90 (machines, instruments): those 11 chapters get
 *    8× the weight of the others, about half the entries;
 *  - entry codes are that code cut to 4, 6, 8 or 10 digits (positive list
 *    30/30/25/15 %, whitelist 10/20/30/40 %); 5 % of the 10-digit entries
 *    carry a CIQ code;
 *  - a roster of M institutions (default 200) shared by both lists: 90 %
 *    mainland USCCs with a correct GB 32100-2015 check character, 10 %
 *    HK:/MO: ids; 2 % suspended, 2 % with a lapsed window;
 *  - positive entries are open to the roster (entities []), in four batches
 *    since 2022-09-20, a few with a window that ended or not yet started,
 *    1 % suspended, 1 % revoked, 1.5 % exclude carve-outs;
 *  - whitelist entries name 1 institution (10 %: 2–3), with a 6- or
 *    12-month window starting between 2025-07 and 2026-06, a quantity cap,
 *    waived documents and a remark condition;
 *  - one clause per document (the real text of 署综函〔2022〕143号 一（一）). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qingdan/date.h"
#include "qingdan/entity.h"

/* ---- PRNG: splitmix64 ---------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static unsigned rnd(unsigned n)
{
	return (unsigned)(rnd64() % n);
}

/* True with probability pct/1000. */
static int chance(unsigned permille)
{
	return rnd(1000) < permille;
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fprintf(stderr, "gen: out of memory\n");
		exit(2);
	}
	return p;
}

/* ---- the synthetic tariff ------------------------------------------------ */

typedef struct code10 {
	char d[11];
} code10;

static code10 *tariff;
static size_t n_tariff;
/* first tariff index and count per chapter (1..97) */
static size_t ch_first[100], ch_count[100];

static int heavy_chapter(int c)
{
	return (c >= 28 && c <= 30) || c == 38 || (c >= 84 && c <= 90);
}

static void build_tariff(void)
{
	static const char *const sub[] = {"10", "11", "12", "19", "20", "21", "29", "30", "31", "39",
					  "40", "50", "90", "91", "99", "00"};
	static const char *const line[] = {"00", "10", "90", "11", "19", "20", "30", "40", "91", "99"};
	static const char *const sup[] = {"00", "10", "90", "11", "99"};
	size_t cap = 65536;
	tariff = xmalloc(cap * sizeof *tariff);
	for (int c = 1; c <= 97; c++) {
		ch_first[c] = n_tariff;
		if (c == 77)
			continue; /* reserved in the HS */
		unsigned nh = 4 + rnd(20);
		for (unsigned h = 1; h <= nh; h++) {
			unsigned ns = 1 + rnd(5);
			unsigned s0 = rnd(16);
			for (unsigned si = 0; si < ns; si++) {
				const char *sd = sub[(s0 + si * 3) % 16];
				unsigned nl = 1 + rnd(3);
				unsigned l0 = rnd(10);
				for (unsigned li = 0; li < nl; li++) {
					const char *ld = line[(l0 + li * 3) % 10];
					unsigned nx = 1 + (chance(350) ? 1 + rnd(2) : 0);
					for (unsigned xi = 0; xi < nx; xi++) {
						if (n_tariff == cap) {
							cap *= 2;
							code10 *nt = realloc(tariff, cap * sizeof *tariff);
							if (!nt) {
								fprintf(stderr, "gen: out of memory\n");
								exit(2);
							}
							tariff = nt;
						}
						snprintf(tariff[n_tariff].d, 11, "%02d%02u%s%s%s", c, h, sd, ld,
							 sup[xi]);
						n_tariff++;
					}
				}
			}
		}
		ch_count[c] = n_tariff - ch_first[c];
	}
}

/* A ten-digit code from the tariff, chapters weighted. */
static const char *pick_code(void)
{
	static unsigned total;
	if (!total)
		for (int c = 1; c <= 97; c++)
			total += ch_count[c] ? (heavy_chapter(c) ? 8 : 1) : 0;
	unsigned r = rnd(total);
	for (int c = 1; c <= 97; c++) {
		unsigned w = ch_count[c] ? (heavy_chapter(c) ? 8 : 1) : 0;
		if (r < w)
			return tariff[ch_first[c] + rnd((unsigned)ch_count[c])].d;
		r -= w;
	}
	return tariff[0].d;
}

/* ---- institutions ---------------------------------------------------------- */

typedef struct inst {
	char id[QD_ENTITY_MAX + 1];
	char zh[128], en[160];
	const char *status;
	char from[11], to[11]; /* "" for open */
} inst;

static inst *roster;
static unsigned n_roster;

static void make_uscc(char out[19])
{
	static const char alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
	static const char *const areas[] = {"440101", "440103", "440106", "440115", "440305", "440402",
					    "310115", "310112", "310104", "110108", "110105", "510107",
					    "510100", "130100", "320506", "330106", "420111"};
	/* 91 enterprise, 12 public institution (事业单位), 52 social organisation */
	static const char *const kinds[] = {"91", "91", "91", "91", "12", "12", "52"};
	memcpy(out, kinds[rnd(7)], 2);
	memcpy(out + 2, areas[rnd(sizeof areas / sizeof areas[0])], 6);
	for (int i = 8; i < 17; i++)
		out[i] = i < 10 && out[0] == '9' ? "MA"[i - 8] : alpha[rnd(i < 10 ? 10 : 31)];
	out[17] = qd_uscc_check_char(out);
	out[18] = '\0';
}

static void build_roster(unsigned m)
{
	static const char *const city_zh[] = {"广州", "深圳", "珠海", "上海", "北京", "成都", "石家庄", "苏州", "杭州", "武汉"};
	static const char *const city_en[] = {"Guangzhou", "Shenzhen", "Zhuhai", "Shanghai", "Beijing", "Chengdu",
					      "Shijiazhuang", "Suzhou", "Hangzhou", "Wuhan"};
	static const char *const field_zh[] = {"生物医药", "精准医学", "细胞治疗", "基因技术", "分子诊断", "生命科学",
					       "医疗器械", "新材料", "疫苗", "抗体药物"};
	static const char *const field_en[] = {"Biomedical", "Precision Medicine", "Cell Therapy", "Gene Technology",
					       "Molecular Diagnostics", "Life Sciences", "Medical Devices",
					       "Advanced Materials", "Vaccine", "Antibody Drug"};
	static const char *const form_zh[] = {"研究院", "有限公司", "研究所", "实验室", "科技有限公司"};
	static const char *const form_en[] = {"Research Institute", "Co., Ltd.", "Institute", "Laboratory",
					      "Technology Co., Ltd."};
	n_roster = m;
	roster = xmalloc(m * sizeof *roster);
	for (unsigned i = 0; i < m; i++) {
		inst *p = &roster[i];
		unsigned ci = rnd(10), fi = rnd(10), oi = rnd(5);
		if (i % 10 == 9) {
			int hk = rnd(3) != 0;
			snprintf(p->id, sizeof p->id, "%s:%08u", hk ? "HK" : "MO", 10000000 + rnd(89999999));
			snprintf(p->zh, sizeof p->zh, "示例%s%s%s%03u", hk ? "香港" : "澳门", field_zh[fi],
				 form_zh[oi], i);
			snprintf(p->en, sizeof p->en, "Example %s %s %s %03u", hk ? "Hong Kong" : "Macao",
				 field_en[fi], form_en[oi], i);
		} else {
			make_uscc(p->id);
			snprintf(p->zh, sizeof p->zh, "示例%s%s%s%03u", city_zh[ci], field_zh[fi], form_zh[oi], i);
			snprintf(p->en, sizeof p->en, "Example %s %s %s %03u", city_en[ci], field_en[fi],
				 form_en[oi], i);
		}
		p->status = "active";
		unsigned r = rnd(100);
		if (r < 2)
			p->status = "suspended";
		snprintf(p->from, sizeof p->from, "20%02u-%02u-01", 22 + rnd(3), 1 + rnd(12));
		if (r >= 2 && r < 4)
			snprintf(p->to, sizeof p->to, "2024-12-31");
	}
}

/* ---- dates ------------------------------------------------------------------ */

static void ymd_fmt(int y, int m, int d, char out[11])
{
	while (m > 12) {
		m -= 12;
		y++;
	}
	qd_date x;
	if (qd_date_from_ymd(y, m, d, &x)) {
		fprintf(stderr, "gen: bad date %d-%d-%d\n", y, m, d);
		exit(2);
	}
	qd_date_format(x, out);
}

/* The day before (y, m + months, d). */
static void add_months_minus_day(int y, int m, int d, int months, char out[11])
{
	m += months;
	while (m > 12) {
		m -= 12;
		y++;
	}
	qd_date x;
	if (qd_date_from_ymd(y, m, d, &x)) {
		fprintf(stderr, "gen: bad date\n");
		exit(2);
	}
	qd_date_format(x - 1, out);
}

/* ---- entries ---------------------------------------------------------------- */

typedef struct entry {
	char id[16];
	char code[11];
	const char *full; /* the ten-digit code it was cut from */
	char ciq[4];      /* "" for none */
	char zh[96], en[128];
	char spec[48];    /* "" for none */
	int exclude;
	unsigned ents[3], n_ents;
	char from[11], to[11]; /* "" for open */
	const char *status;
	const char *waives[2];
	unsigned n_waives;
	const char *remark, *note;
	unsigned qty;     /* 0 for none */
	const char *unit;
	char batch[24];
} entry;

static const char *const item_zh[] = {
	"诊断或实验用试剂", "细胞培养基", "重组蛋白", "单克隆抗体", "质粒DNA", "合成引物", "限制性内切酶",
	"标准品", "色谱柱", "离心管", "移液器吸头", "培养皿", "荧光探针", "血清", "缓冲液", "酶联免疫试剂盒",
	"测序试剂", "细胞株", "显微镜", "离心机", "基因测序仪", "流式细胞仪", "质谱仪", "分光光度计",
	"生物安全柜", "超低温冰箱", "PCR仪", "层析介质", "实验动物饲料", "化学试剂", "有机溶剂", "催化剂",
};
static const char *const item_en[] = {
	"Diagnostic or laboratory reagents", "Cell culture media", "Recombinant proteins",
	"Monoclonal antibodies", "Plasmid DNA", "Synthetic primers", "Restriction enzymes",
	"Reference standards", "Chromatography columns", "Centrifuge tubes", "Pipette tips", "Petri dishes",
	"Fluorescent probes", "Serum", "Buffer solutions", "ELISA kits", "Sequencing reagents", "Cell lines",
	"Microscopes", "Centrifuges", "Gene sequencers", "Flow cytometers", "Mass spectrometers",
	"Spectrophotometers", "Biosafety cabinets", "Ultra-low temperature freezers", "PCR instruments",
	"Chromatography media", "Laboratory animal feed", "Chemical reagents", "Organic solvents", "Catalysts",
};
#define N_ITEMS (sizeof item_zh / sizeof item_zh[0])

static const char *const units[] = {"mL", "g", "盒", "支", "瓶", "套", "kg", "台"};
static const char *const waive_opts[] = {"Q", "医疗器械注册证", "S", "X"};
static const char *const batches_zh[] = {"第一批", "第二批", "第三批", "第四批", "第五批", "第六批",
					 "第七批", "第八批", "第九批", "第十批", "第十一批", "第十二批"};

static void cut_code(entry *e, const char *full, const unsigned pct[4])
{
	unsigned r = rnd(100), len;
	if (r < pct[0])
		len = 4;
	else if (r < pct[0] + pct[1])
		len = 6;
	else if (r < pct[0] + pct[1] + pct[2])
		len = 8;
	else
		len = 10;
	memcpy(e->code, full, len);
	e->code[len] = '\0';
	e->full = full;
	e->ciq[0] = '\0';
	if (len == 10 && chance(50))
		snprintf(e->ciq, sizeof e->ciq, "%03u", rnd(1000));
}

static void name_entry(entry *e, unsigned n)
{
	unsigned k = rnd(N_ITEMS);
	snprintf(e->zh, sizeof e->zh, "%s（%s类，第%u项）", item_zh[k], e->code, n);
	snprintf(e->en, sizeof e->en, "%s (%s, item %u)", item_en[k], e->code, n);
	if (chance(300))
		snprintf(e->spec, sizeof e->spec, "%u%s/%s", 1 + rnd(500), units[rnd(3)], chance(500) ? "瓶" : "盒");
	else
		e->spec[0] = '\0';
}

static entry *make_positive(unsigned n)
{
	static const unsigned pct[4] = {30, 30, 25, 15};
	static const char *const batch_from[] = {"2022-09-20", "2023-06-01", "2024-03-15", "2025-01-10"};
	entry *v = xmalloc(n * sizeof *v);
	for (unsigned i = 0; i < n; i++) {
		entry *e = &v[i];
		snprintf(e->id, sizeof e->id, "PL-%06u", i + 1);
		cut_code(e, pick_code(), pct);
		name_entry(e, i + 1);
		unsigned b = rnd(4);
		snprintf(e->batch, sizeof e->batch, "%s", batches_zh[b]);
		snprintf(e->from, sizeof e->from, "%s", batch_from[b]);
		e->to[0] = '\0';
		unsigned r = rnd(1000);
		if (r < 20)
			snprintf(e->to, sizeof e->to, "2025-%02u-%02u", 2 + rnd(11), 1 + rnd(28));
		else if (r < 30)
			snprintf(e->from, sizeof e->from, "2027-01-01");
		r = rnd(1000);
		e->status = r < 10 ? "suspended" : r < 20 ? "revoked" : "active";
		e->exclude = chance(15);
		/* Carve-outs are narrow: make them at least 8 digits. */
		if (e->exclude && strlen(e->code) < 8) {
			memcpy(e->code, e->full, 8);
			e->code[8] = '\0';
		}
		e->n_ents = 0;
		e->n_waives = 0;
		if (chance(400))
			e->waives[e->n_waives++] = "Q";
		e->remark = chance(500) ? "跨境科研用物资正面清单" : NULL;
		e->note = "仅限所列机构自用于科学研究，不得转让、销售或用于临床。";
		e->qty = chance(300) ? 10 * (1 + rnd(500)) : 0;
		e->unit = units[rnd(8)];
	}
	return v;
}

static entry *make_whitelist(unsigned n)
{
	static const unsigned pct[4] = {10, 20, 30, 40};
	entry *v = xmalloc(n * sizeof *v);
	for (unsigned i = 0; i < n; i++) {
		entry *e = &v[i];
		snprintf(e->id, sizeof e->id, "WL-%06u", i + 1);
		cut_code(e, pick_code(), pct);
		name_entry(e, i + 1);
		/* Some institutions hold many approvals: half the picks come
		 * from the first fifth of the roster. */
		unsigned k = chance(900) ? 1 : 2 + rnd(2);
		e->n_ents = 0;
		while (e->n_ents < k) {
			unsigned who = chance(500) ? rnd(n_roster / 5 ? n_roster / 5 : 1) : rnd(n_roster);
			int dup = 0;
			for (unsigned j = 0; j < e->n_ents; j++)
				dup |= e->ents[j] == who;
			if (!dup)
				e->ents[e->n_ents++] = who;
		}
		/* Windows of 6 or 12 months starting 2025-07 … 2026-06. */
		unsigned mo = rnd(12); /* months after 2025-07 */
		int y = 2025, m = 7 + (int)mo, d = 1 + (int)rnd(28);
		ymd_fmt(y, m, d, e->from);
		add_months_minus_day(y, m, d, chance(500) ? 6 : 12, e->to);
		snprintf(e->batch, sizeof e->batch, "%s", batches_zh[mo]);
		unsigned r = rnd(1000);
		e->status = r < 10 ? "suspended" : r < 20 ? "revoked" : "active";
		e->exclude = chance(5);
		e->n_waives = 0;
		e->waives[e->n_waives++] = waive_opts[rnd(4)];
		if (chance(300) && strcmp(e->waives[0], "Q") != 0)
			e->waives[e->n_waives++] = "Q";
		e->remark = "已纳入生物医药研发用物品进口“白名单”";
		e->note = NULL;
		e->qty = 1 + rnd(200);
		e->unit = units[rnd(8)];
	}
	return v;
}

/* ---- output ------------------------------------------------------------------ */

static const char clause_id[] = "GACC-2022-143-1-1";

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void jstr_or_null(FILE *f, const char *s)
{
	if (s && *s)
		jstr(f, s);
	else
		fputs("null", f);
}

static void write_header(FILE *f, const char *list, const char *kind, const char *title_zh,
			 const char *title_en)
{
	fprintf(f, "{\n  \"list\": \"%s\",\n  \"kind\": \"%s\",\n  \"title\": {\"zh\": ", list, kind);
	jstr(f, title_zh);
	fputs(", \"en\": ", f);
	jstr(f, title_en);
	fputs("},\n  \"issuer\": \"qingdan benchmark generator (synthetic data, not an official list)\",\n"
	      "  \"published\": \"2025-06-30\",\n  \"source\": \"tests/bench/gen.c\",\n", f);
	fputs("  \"clauses\": [\n    {\"id\": \"GACC-2022-143-1-1\", \"document\": \"署综函〔2022〕143号\", "
	      "\"article\": \"一（一）\", \"title\": \"支持跨境科研物资自由流动\", \"text\": "
	      "\"支持跨境科研物資自由流動。支持開展“跨境科研用物資正面清單”、生物醫藥研發用物品進口“白名單”制度試點。"
	      "推廣進境動物源性生物材料檢疫監管便利措施。對港澳科研机构因科研、測試、認證檢查所需的產品和樣品，"
	      "憑市場監管部門出具的《免予辦理強制性產品認證證明》加快驗放。\", \"url\": "
	      "\"http://www.customs.gov.cn/customs/302249/zfxxgk/zfxxgkml34/4589480/index.html\"}\n  ],\n", f);
	fputs("  \"entities\": [\n", f);
	for (unsigned i = 0; i < n_roster; i++) {
		const inst *p = &roster[i];
		fprintf(f, "    {\"id\": \"%s\", \"name\": {\"zh\": ", p->id);
		jstr(f, p->zh);
		fputs(", \"en\": ", f);
		jstr(f, p->en);
		fprintf(f, "}, \"status\": \"%s\", \"valid_from\": ", p->status);
		jstr_or_null(f, p->from);
		fputs(", \"valid_to\": ", f);
		jstr_or_null(f, p->to);
		fprintf(f, "}%s\n", i + 1 < n_roster ? "," : "");
	}
	fputs("  ],\n", f);
}

static void write_entries_json(FILE *f, const entry *v, unsigned n)
{
	fputs("  \"entries\": [\n", f);
	for (unsigned i = 0; i < n; i++) {
		const entry *e = &v[i];
		fprintf(f, "    {\"id\": \"%s\", \"code\": \"%s\", \"ciq\": ", e->id, e->code);
		jstr_or_null(f, e->ciq);
		fputs(", \"name\": {\"zh\": ", f);
		jstr(f, e->zh);
		fputs(", \"en\": ", f);
		jstr(f, e->en);
		fputs("}, \"spec\": ", f);
		jstr_or_null(f, e->spec);
		fprintf(f, ", \"effect\": \"%s\", \"entities\": [", e->exclude ? "exclude" : "include");
		for (unsigned j = 0; j < e->n_ents; j++)
			fprintf(f, "%s\"%s\"", j ? ", " : "", roster[e->ents[j]].id);
		fputs("], \"valid_from\": ", f);
		jstr_or_null(f, e->from);
		fputs(", \"valid_to\": ", f);
		jstr_or_null(f, e->to);
		fprintf(f, ", \"status\": \"%s\", \"waives\": [", e->status);
		for (unsigned j = 0; j < e->n_waives; j++) {
			if (j)
				fputs(", ", f);
			jstr(f, e->waives[j]);
		}
		fputs("], \"conditions\": [", f);
		int first = 1;
		if (e->remark) {
			fputs("{\"type\": \"remark\", \"text\": ", f);
			jstr(f, e->remark);
			fputs("}", f);
			first = 0;
		}
		if (e->note) {
			fputs(first ? "{\"type\": \"note\", \"text\": " : ", {\"type\": \"note\", \"text\": ", f);
			jstr(f, e->note);
			fputs("}", f);
		}
		fputs("], \"quantity\": ", f);
		if (e->qty) {
			fprintf(f, "{\"limit\": %u, \"unit\": ", e->qty);
			jstr(f, e->unit);
			fputs("}", f);
		} else {
			fputs("null", f);
		}
		fprintf(f, ", \"clauses\": [\"%s\"], \"batch\": ", clause_id);
		jstr(f, e->batch);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fputs("  ]\n}\n", f);
}

/* A CSV cell: quoted when it holds a comma, quote or line break. */
static void cell(FILE *f, const char *s, int last)
{
	if (strpbrk(s, ",\"\r\n")) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputc(last ? '\n' : ',', f);
}

/* The CSV import file of the same entries.  The conditions column holds one
 * remark (the CSV import turns a cell into one remark condition), so entries with
 * a note only have it dropped: the CSV import is a slightly different
 * document, which is how admins use it. */
static void write_entries_csv(FILE *f, const entry *v, unsigned n)
{
	fputs("id,code,ciq,name_zh,name_en,spec,effect,entities,valid_from,valid_to,status,waives,"
	      "conditions,quantity_limit,quantity_unit,clauses,batch\n", f);
	char buf[512];
	for (unsigned i = 0; i < n; i++) {
		const entry *e = &v[i];
		cell(f, e->id, 0);
		cell(f, e->code, 0);
		cell(f, e->ciq, 0);
		cell(f, e->zh, 0);
		cell(f, e->en, 0);
		cell(f, e->spec, 0);
		cell(f, e->exclude ? "exclude" : "include", 0);
		buf[0] = '\0';
		for (unsigned j = 0; j < e->n_ents; j++) {
			if (j)
				strcat(buf, ";");
			strcat(buf, roster[e->ents[j]].id);
		}
		cell(f, buf, 0);
		cell(f, e->from, 0);
		cell(f, e->to, 0);
		cell(f, e->status, 0);
		buf[0] = '\0';
		for (unsigned j = 0; j < e->n_waives; j++) {
			if (j)
				strcat(buf, ";");
			strcat(buf, e->waives[j]);
		}
		cell(f, buf, 0);
		cell(f, e->remark ? e->remark : "", 0);
		if (e->qty) {
			snprintf(buf, sizeof buf, "%u", e->qty);
			cell(f, buf, 0);
			cell(f, e->unit, 0);
		} else {
			cell(f, "", 0);
			cell(f, "", 0);
		}
		cell(f, clause_id, 0);
		cell(f, e->batch, 1);
	}
}

static FILE *open_out(const char *dir, const char *name, unsigned n, const char *ext, char *path, size_t pl)
{
	snprintf(path, pl, "%s/%s-%u.%s", dir, name, n, ext);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "gen: cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return f;
}

static void close_out(FILE *f, const char *path)
{
	if (ferror(f) || fclose(f) != 0) {
		fprintf(stderr, "gen: error writing %s\n", path);
		exit(2);
	}
}

/* A roster member usable on the benchmark date (active, window open). */
static unsigned usable_member(void)
{
	for (;;) {
		unsigned k = rnd(n_roster);
		if (strcmp(roster[k].status, "active") == 0 && !roster[k].to[0])
			return k;
	}
}

static const char usage[] =
	"Usage: gen [--seed S] [--roster M] [--pairs K] [--check-items I] [--csv] N OUTDIR\n";

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"seed", required_argument, NULL, 's'},
		{"roster", required_argument, NULL, 'r'},
		{"pairs", required_argument, NULL, 'p'},
		{"check-items", required_argument, NULL, 'c'},
		{"csv", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t seed = 20260315;
	unsigned m = 200, k = 256, items = 1000;
	int csv = 0, ch;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'r': m = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': k = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': items = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'C': csv = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 64;
		}
	}
	if (argc - optind != 2 || m < 1 || k < 1 || items < 1) {
		fputs(usage, stderr);
		return 64;
	}
	unsigned n = (unsigned)strtoul(argv[optind], NULL, 10);
	const char *dir = argv[optind + 1];
	if (n < 1 || n > 9999999) {
		fputs("gen: N must be 1 … 9999999\n", stderr);
		return 64;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen: cannot create %s: %s\n", dir, strerror(errno));
		return 2;
	}

	/* The tariff and the roster depend on the seed only, not on N, so the
	 * 10 000- and 100 000-entry lists share them. */
	rng_state = seed;
	build_tariff();
	build_roster(m);
	rng_state = seed ^ (0x51A7ull * n);
	entry *pos = make_positive(n);
	entry *wl = make_whitelist(n);

	char path[4096];
	FILE *f = open_out(dir, "positive", n, "json", path, sizeof path);
	write_header(f, "bench-positive", "positive", "跨境科研用物资正面清单（基准测试合成数据）",
		     "Positive list of cross-border research materials (synthetic benchmark data)");
	write_entries_json(f, pos, n);
	close_out(f, path);
	f = open_out(dir, "whitelist", n, "json", path, sizeof path);
	write_header(f, "bench-whitelist", "whitelist", "生物医药研发用物品进口“白名单”（基准测试合成数据）",
		     "Whitelist for importing biomedical R&D items (synthetic benchmark data)");
	write_entries_json(f, wl, n);
	close_out(f, path);
	if (csv) {
		f = open_out(dir, "positive", n, "csv", path, sizeof path);
		write_entries_csv(f, pos, n);
		close_out(f, path);
		f = open_out(dir, "whitelist", n, "csv", path, sizeof path);
		write_entries_csv(f, wl, n);
		close_out(f, path);
	}

	/* Lookups: 3 in 4 an institution asking about an item of its own
	 * whitelist approval, 1 in 4 a roster member asking about an item
	 * under a positive-list entry.  Always the full ten-digit code. */
	f = open_out(dir, "pairs", n, "tsv", path, sizeof path);
	for (unsigned i = 0; i < k; i++) {
		if (i % 4 != 3) {
			const entry *e = &wl[rnd(n)];
			fprintf(f, "%s\t%s\n", e->full, roster[e->ents[0]].id);
		} else {
			const entry *e = &pos[rnd(n)];
			fprintf(f, "%s\t%s\n", e->full, roster[usable_member()].id);
		}
	}
	close_out(f, path);

	/* A declaration pre-check of `items` lines for one institution: a
	 * third items under its own approvals, a third under positive
	 * entries, a third anything from the tariff. */
	unsigned who = wl[0].ents[0];
	unsigned *own = xmalloc(n * sizeof *own), n_own = 0;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < wl[i].n_ents; j++)
			if (wl[i].ents[j] == who)
				own[n_own++] = i;
	f = open_out(dir, "check", n, "json", path, sizeof path);
	fprintf(f, "{\"entity\":\"%s\",\"date\":\"2026-03-16\",\"items\":[", roster[who].id);
	for (unsigned i = 0; i < items; i++) {
		const char *code;
		if (i % 3 == 0)
			code = wl[own[rnd(n_own)]].full;
		else if (i % 3 == 1)
			code = pos[rnd(n)].full;
		else
			code = pick_code();
		fprintf(f, "%s{\"ref\":\"L%04u\",\"code\":\"%s\"}", i ? "," : "", i + 1, code);
	}
	fputs("]}\n", f);
	close_out(f, path);

	/* The same mix with every code different, so that no decision can be
	 * reused within the request: own approvals while unused ones remain,
	 * then positive entries, then tariff codes. */
	f = open_out(dir, "check-distinct", n, "json", path, sizeof path);
	fprintf(f, "{\"entity\":\"%s\",\"date\":\"2026-03-16\",\"items\":[", roster[who].id);
	const char **used = xmalloc((items ? items : 1) * sizeof *used);
	for (unsigned i = 0, next_own = 0; i < items; i++) {
		const char *code = NULL;
		for (unsigned tries = 0; !code && tries < 1000; tries++) {
			if (i % 3 == 0 && next_own < n_own)
				code = wl[own[next_own++]].full;
			else if (i % 3 != 2)
				code = pos[rnd(n)].full;
			else
				code = pick_code();
			for (unsigned j = 0; code && j < i; j++)
				if (strcmp(used[j], code) == 0)
					code = NULL;
		}
		if (!code) {
			fprintf(stderr, "gen: cannot draw %u distinct check codes\n", items);
			exit(2);
		}
		used[i] = code;
		fprintf(f, "%s{\"ref\":\"L%04u\",\"code\":\"%s\"}", i ? "," : "", i + 1, code);
	}
	fputs("]}\n", f);
	close_out(f, path);
	free(used);

	unsigned by_len[11] = {0};
	for (unsigned i = 0; i < n; i++) {
		by_len[strlen(pos[i].code)]++;
		by_len[strlen(wl[i].code)]++;
	}
	fprintf(stderr, "gen: %u entries per list in %s (tariff %zu codes, roster %u; codes of 4/6/8/10 digits: "
		"%u/%u/%u/%u)\n", n, dir, n_tariff, n_roster, by_len[4], by_len[6], by_len[8], by_len[10]);
	free(own);
	free(pos);
	free(wl);
	free(roster);
	free(tariff);
	return 0;
}
