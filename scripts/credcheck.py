#!/usr/bin/env python3
"""credcheck.py: offline check of authz credentials (doc/CREDENTIALS.md).

Reads credentials (one per line, or as arguments) and prints, for each,
"<type> valid" or "invalid". Exit status 0 when every one is valid. A
secret scanner can use the same few lines: prefix, 40 base62 characters,
then the CRC-32 of everything before it as 6 base62 digits.
"""
import re
import sys
import zlib

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TYPES = {"azcs_": "client_secret", "azrt_": "refresh_token",
         "azroot_": "root_token", "aziat_": "initial_access_token"}
PATTERN = re.compile(r"\b(azcs_|azrt_|azroot_|aziat_)([0-9A-Za-z]{40})([0-9A-Za-z]{6})\b")


def checksum(text):
    v = zlib.crc32(text.encode("ascii")) & 0xFFFFFFFF
    out = ""
    for _ in range(6):
        out = B62[v % 62] + out
        v //= 62
    return out


def check(cred):
    m = PATTERN.fullmatch(cred)
    if not m or checksum(m.group(1) + m.group(2)) != m.group(3):
        return None
    return TYPES[m.group(1)]


def main(argv):
    items = argv[1:] or [line.strip() for line in sys.stdin if line.strip()]
    ok = True
    for c in items:
        t = check(c)
        print(f"{t} valid" if t else "invalid")
        ok = ok and t is not None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
