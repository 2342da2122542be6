#!/usr/bin/env python3
"""Write a small .xlsx workbook for the tests, from a JSON description.

    make_xlsx.py OUT.xlsx < spec.json

spec: {"sheets": [{"name": "清单", "rows": [[cell, …], …], "merge": ["B1:C1"],
                   "pad": 0}, …],
       "date1904": false}
pad: that many spaces at the end of the sheet's XML (a part that inflates far
beyond its compressed size, as a zip bomb does).
A cell is a string (a shared string), a number (a number cell), null (no
cell), {"inline": "text"} (an inline string) or {"date": "YYYY-MM-DD"} (a
date serial in the workbook's date system, formatted as a date).
Written with python3's zipfile: the tests keep the description, not a binary.
"""
import datetime
import json
import sys
import zipfile
from xml.sax.saxutils import escape

NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')


def col_name(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def serial(day, date1904):
    d = datetime.date.fromisoformat(day)
    base = datetime.date(1904, 1, 1) if date1904 else datetime.date(1899, 12, 30)
    return (d - base).days


def main():
    out = sys.argv[1]
    spec = json.load(sys.stdin)
    date1904 = bool(spec.get("date1904"))
    strings, index = [], {}

    def shared(s):
        if s not in index:
            index[s] = len(strings)
            strings.append(s)
        return index[s]

    sheets = []
    for sh in spec["sheets"]:
        rows = []
        for r, row in enumerate(sh["rows"], start=1):
            cells = []
            for c, v in enumerate(row):
                ref = f"{col_name(c)}{r}"
                if v is None:
                    continue
                if isinstance(v, bool):
                    cells.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
                elif isinstance(v, (int, float)):
                    cells.append(f'<c r="{ref}"><v>{v!r}</v></c>')
                elif isinstance(v, str):
                    cells.append(f'<c r="{ref}" t="s"><v>{shared(v)}</v></c>')
                elif "inline" in v:
                    cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v["inline"])}</t></is></c>')
                else:
                    cells.append(f'<c r="{ref}" s="1"><v>{serial(v["date"], date1904)}</v></c>')
            rows.append(f'<row r="{r}">{"".join(cells)}</row>')
        merge = "".join(f'<mergeCell ref="{m}"/>' for m in sh.get("merge", []))
        merge = f'<mergeCells count="{len(sh.get("merge", []))}">{merge}</mergeCells>' if merge else ""
        pad = " " * sh.get("pad", 0)
        sheets.append(f'<worksheet {NS}><sheetData>{"".join(rows)}</sheetData>{merge}{pad}</worksheet>')

    names = "".join(f'<sheet name="{escape(s["name"])}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                    for i, s in enumerate(spec["sheets"]))
    rels = "".join(f'<Relationship Id="rId{i + 1}" Target="worksheets/sheet{i + 1}.xml" '
                   'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
                   for i in range(len(sheets)))
    sst = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        pr = ' date1904="1"' if date1904 else ""
        z.writestr("xl/workbook.xml", f"<workbook {NS}><workbookPr{pr}/><sheets>{names}</sheets></workbook>")
        z.writestr("xl/_rels/workbook.xml.rels",
                   f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f"{rels}</Relationships>")
        z.writestr("xl/styles.xml", f'<styleSheet {NS}><cellXfs count="2"><xf numFmtId="0"/>'
                   '<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>')
        z.writestr("xl/sharedStrings.xml", f'<sst {NS} count="{len(strings)}">{sst}</sst>')
        for i, s in enumerate(sheets):
            z.writestr(f"xl/worksheets/sheet{i + 1}.xml", s)


if __name__ == "__main__":
    main()
