#!/usr/bin/env python3
"""gen_csv.py's rows (same numbers, same seed) as an XLSX with inline strings, written with the
standard library only (docs/performance.md, "Big files end to end": the peak memory of a
spreadsheet at the API's inline cap and at a million rows).

    python3 parser/benches/gen_xlsx.py 125000 /tmp/cap.xlsx     # 4.1 MB, under the 4 MiB cap
"""
import os
import random
import sys
import zipfile

n = int(sys.argv[1])
out = sys.argv[2]
# gen_csv.py's phone(), without running its main().
here = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(here, "gen_csv.py")).read().replace("\nmain()\n", "\n")
g = {}
exec(src, g)
rng = random.Random(0x2545F4914F6CDD1D)
def cell(c, r, v):
    v = v.replace("&", "&amp;").replace("<", "&lt;")
    return f'<c r="{c}{r}" t="inlineStr"><is><t>{v}</t></is></c>'
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
    z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
        f.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        f.write(('<row r="1">' + cell("A",1,"phone") + cell("B",1,"name") + cell("C",1,"company") + cell("D",1,"email") + '</row>').encode())
        for i in range(n):
            r = i + 2
            f.write(('<row r="%d">' % r + cell("A",r,g["phone"](rng)) + cell("B",r,f"Contact {i}") + cell("C",r,f"Company {i % 997}") + cell("D",r,f"user{i}@example.com") + '</row>').encode())
        f.write(b'</sheetData></worksheet>')
