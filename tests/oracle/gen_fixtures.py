#!/usr/bin/env python3
"""Write the small binary spreadsheet fixtures in tests/fixtures/ (XLS via xlwt, ODS via odfpy).

Usage: python -m venv /tmp/fx && /tmp/fx/bin/pip install xlwt odfpy && /tmp/fx/bin/python tests/oracle/gen_fixtures.py
The files are committed; this script only documents how they were made.
"""
import os

import xlwt
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures")
# A title row and a blank row above the header; the phone as a number cell; a second sheet.
ROWS = [
    ["Contact export", None, None],
    [None, None, None],
    ["Name", "Mobile", "Company"],
    ["Ada Lovelace", 2025550123, "Acme"],
    ["Alan Turing", "(202) 555-0175", None],
    ["Bad Row", "hello", "Initech"],
]


def xls():
    book = xlwt.Workbook()
    notes = book.add_sheet("Notes")
    notes.write(0, 0, "nothing to see here")
    sheet = book.add_sheet("Contacts")
    for r, row in enumerate(ROWS):
        for c, v in enumerate(row):
            if v is not None:
                sheet.write(r, c, v)
    book.save(os.path.join(HERE, "contacts.xls"))


def ods():
    doc = OpenDocumentSpreadsheet()
    notes = Table(name="Notes")
    tr = TableRow()
    cell = TableCell(valuetype="string")
    cell.addElement(P(text="nothing to see here"))
    tr.addElement(cell)
    notes.addElement(tr)
    doc.spreadsheet.addElement(notes)
    table = Table(name="Contacts")
    for row in ROWS:
        tr = TableRow()
        for v in row:
            if v is None:
                tr.addElement(TableCell())
            elif isinstance(v, int):
                cell = TableCell(valuetype="float", value=str(v))
                cell.addElement(P(text=str(v)))
                tr.addElement(cell)
            else:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=v))
                tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    doc.save(os.path.join(HERE, "contacts.ods"))


if __name__ == "__main__":
    xls()
    ods()
