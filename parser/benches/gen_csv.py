#!/usr/bin/env python3
"""A contact CSV for whole-process measurements (`campaigns parse`), like the bench's input:
`phone,name,company,email`, US numbers in the usual spellings, ~2% bad or duplicate rows.

    python3 parser/benches/gen_csv.py 200000 > /tmp/contacts-200k.csv
"""
import random
import sys

AREA = [201, 202, 203, 205, 206, 212, 213, 214, 215, 216, 217, 301, 302, 303, 304, 305, 310,
        312, 313, 314, 315, 404, 405, 406, 407, 408, 409, 410, 412, 413, 414, 415, 503, 504,
        505, 507, 508, 509, 510, 512, 513, 602, 603, 605, 606, 607, 608, 609, 610, 612, 614,
        615, 617, 702, 703, 704, 706, 707, 708, 712, 713, 714, 715, 716, 717, 718, 719, 720,
        801, 802, 803, 804, 805, 806, 808, 810, 812, 813, 814, 815, 816, 817, 818, 901, 903,
        904, 907, 908, 909, 910, 912, 913, 914, 915, 916, 917, 918, 919, 920, 925, 928, 931]


def phone(rng):
    area, exch, line = rng.choice(AREA), 200 + rng.randrange(800), rng.randrange(10000)
    k = rng.randrange(100)
    if k == 0:
        return "n/a"
    if k == 1:
        return f"{area}-{exch}"
    if k <= 24:
        return f"({area}) {exch}-{line:04}"
    if k <= 49:
        return f"{area}-{exch}-{line:04}"
    if k <= 69:
        return f"+1 {area} {exch} {line:04}"
    if k <= 84:
        return f"{area}{exch}{line:04}"
    if k <= 94:
        return f"+1{area}{exch}{line:04}"
    return f"{area}.{exch}.{line:04}"


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rng = random.Random(0x2545F4914F6CDD1D)
    out = sys.stdout
    out.write("phone,name,company,email\n")
    for i in range(n):
        out.write(f"{phone(rng)},Contact {i},Company {i % 997},user{i}@example.com\n")


main()
