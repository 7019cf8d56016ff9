#!/usr/bin/env python3
"""The reference verdicts for the differential test (tests/tests/parser_differential.rs).

Reads one JSON array [region, raw] per line on stdin and writes one line per input:
    valid <E.164> <extension or ->     a number Python phonenumbers considers valid
    empty | not_a_number | invalid_country_code | too_short | too_long | invalid
mirroring shared::import::phone::normalize: strip, parse with the default region, then
is_valid_number; the reason of a parsed-but-invalid number comes from
is_possible_number_with_reason. First line of output: "phonenumbers <version>".
"""
import json
import sys

import phonenumbers
from phonenumbers import NumberParseException, ValidationResult

PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}


def verdict(region, raw):
    text = raw.strip()
    if not text:
        return "empty"
    try:
        num = phonenumbers.parse(text, region)
    except NumberParseException as e:
        return PARSE_ERRORS.get(e.error_type, "not_a_number")
    if not phonenumbers.is_valid_number(num):
        reason = phonenumbers.is_possible_number_with_reason(num)
        if reason == ValidationResult.TOO_SHORT:
            return "too_short"
        if reason == ValidationResult.TOO_LONG:
            return "too_long"
        return "invalid"
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    return "valid %s %s" % (e164, num.extension or "-")


def main():
    out = sys.stdout
    out.write("phonenumbers %s\n" % phonenumbers.__version__)
    for line in sys.stdin:
        region, raw = json.loads(line)
        out.write(verdict(region, raw) + "\n")


if __name__ == "__main__":
    main()
