#!/usr/bin/env python3
"""Signed-API scraper: fetches an API whose requests need signatures from the site's page code.

It asks the bridge for each signature (computed in the page by the site's own code), then fetches
the API with it.

Usage:
    python3 scraper.py --site http://127.0.0.1:PORT [--bridge http://127.0.0.1:12180] [--pages 20]
Set PAGECALL_TOKEN when the bridge has a token. Uses the pagecall client (pip install ./clients/python);
run from the repository, it finds the client there without installing it.
"""
import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

try:
    from pagecall import Bridge, PagecallError
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python" / "src"))
    from pagecall import Bridge, PagecallError


def fetch_page(site, path, signature):
    headers = {"x-ts": str(signature["ts"]), "x-nonce": signature["nonce"], "x-sign": signature["sign"]}
    with urllib.request.urlopen(urllib.request.Request(site + path, headers=headers), timeout=30) as response:
        return json.load(response)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", required=True)
    parser.add_argument("--bridge", default=None, help="bridge URL (default $PAGECALL_URL or http://127.0.0.1:12180)")
    parser.add_argument("--group", default="signed-api")
    parser.add_argument("--pages", type=int, default=20)
    options = parser.parse_args()
    bridge = Bridge(options.bridge)  # the token comes from PAGECALL_TOKEN

    started = time.monotonic()
    items = 0
    for page in range(1, options.pages + 1):
        path = "/api/items?page=%d" % page
        try:
            signature = bridge.call(options.group, "sign", path)
        except PagecallError as error:
            print("signing %s failed: %s" % (path, error), file=sys.stderr)
            return 1
        data = fetch_page(options.site, path, signature)
        items += len(data["items"])
        first = data["items"][0]
        print("page %d: %d items, first %s at %s (sign %s)" % (data["page"], len(data["items"]), first["name"], first["price"], signature["sign"]))
    elapsed = time.monotonic() - started
    print("fetched %d pages, %d items in %.2f s: %.1f signed requests/s" % (options.pages, items, elapsed, options.pages / elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
