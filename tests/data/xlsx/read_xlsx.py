#!/usr/bin/env python3
"""Print a workbook's sheets as JSON, for the tests of the downloads.

    read_xlsx.py FILE.xlsx

Output: {"sheets": [{"name": "清单", "rows": [[cell, …], …]}, …]}, each row
as wide as its last cell.  A cell is a string (a text cell: shared, inline
or formula string), a number (a number cell), {"date": "YYYY-MM-DD"} (a
number cell formatted as a date, 1900 date system) or null (no cell).
Read with python3's zipfile and xml.etree, independently of the daemon.
"""
import datetime
import json
import re
import sys
import zipfile
import xml.etree.ElementTree as ET

M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def col_index(ref):
    n = 0
    for ch in re.match(r"[A-Z]+", ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1


def date_styles(z):
    """Indexes of the cell formats (cellXfs) that are dates."""
    if "xl/styles.xml" not in z.namelist():
        return set()
    st = ET.fromstring(z.read("xl/styles.xml"))
    codes = {int(f.get("numFmtId")): f.get("formatCode") for f in st.iter(M + "numFmt")}
    out = set()
    xfs = st.find(M + "cellXfs")
    for i, xf in enumerate(xfs if xfs is not None else []):
        fid = int(xf.get("numFmtId", "0"))
        code = codes.get(fid, "")
        if 14 <= fid <= 17 or fid == 22 or "yy" in code or "dd" in code:
            out.add(i)
    return out


def main():
    z = zipfile.ZipFile(sys.argv[1])
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).iter(M + "si"):
            shared.append("".join(t.text or "" for t in si.iter(M + "t")))
    dates = date_styles(z)
    wb = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    sheets = []
    for s in wb.find(M + "sheets"):
        path = "xl/" + target[s.get(R + "id")].lstrip("/").replace("xl/", "", 1)
        rows = []
        for row in ET.fromstring(z.read(path)).iter(M + "row"):
            r = int(row.get("r")) - 1
            while len(rows) <= r:
                rows.append([])
            cells = rows[r]
            for c in row.iter(M + "c"):
                j = col_index(c.get("r"))
                t, v = c.get("t", "n"), c.find(M + "v")
                if t == "inlineStr":
                    val = "".join(x.text or "" for x in c.iter(M + "t"))
                elif t == "s":
                    val = shared[int(v.text)]
                elif t == "str":
                    val = v.text or ""
                elif v is None:
                    val = None
                else:
                    val = float(v.text)
                    if val == int(val):
                        val = int(val)
                    if int(c.get("s", "0")) in dates:
                        day = datetime.date(1899, 12, 30) + datetime.timedelta(days=int(val))
                        val = {"date": day.isoformat()}
                while len(cells) <= j:
                    cells.append(None)
                cells[j] = val
        sheets.append({"name": s.get("name"), "rows": rows})
    json.dump({"sheets": sheets}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
