#!/usr/bin/env python3
"""Signed-API scraper: standard library only.

Asks the bridge for a signature computed by the site's own page code, then fetches the API with
it. Usage:
    python3 scraper.py --site http://127.0.0.1:PORT [--bridge http://127.0.0.1:12180] [--pages 20]
Set PAGECALL_TOKEN when the bridge has a token.
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request


def bridge_call(bridge, group, action, args, token=None, timeout=30):
    """POST /v1/call; returns the result or raises RuntimeError with the coded error."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = "Bearer " + token
    body = json.dumps({"group": group, "action": action, "args": args}).encode()
    request = urllib.request.Request(bridge + "/v1/call", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)["result"]
    except urllib.error.HTTPError as error:
        detail = json.load(error)["error"]
        raise RuntimeError("%s: %s" % (detail["code"], detail["message"])) from None


def fetch_page(site, path, signature):
    headers = {"x-ts": str(signature["ts"]), "x-nonce": signature["nonce"], "x-sign": signature["sign"]}
    with urllib.request.urlopen(urllib.request.Request(site + path, headers=headers), timeout=30) as response:
        return json.load(response)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", required=True)
    parser.add_argument("--bridge", default="http://127.0.0.1:12180")
    parser.add_argument("--group", default="signed-api")
    parser.add_argument("--pages", type=int, default=20)
    options = parser.parse_args()
    token = os.environ.get("PAGECALL_TOKEN")

    started = time.monotonic()
    items = 0
    for page in range(1, options.pages + 1):
        path = "/api/items?page=%d" % page
        signature = bridge_call(options.bridge, options.group, "sign", [path], token)
        data = fetch_page(options.site, path, signature)
        items += len(data["items"])
        first = data["items"][0]
        print("page %d: %d items, first %s at %s (sign %s)" % (data["page"], len(data["items"]), first["name"], first["price"], signature["sign"]))
    elapsed = time.monotonic() - started
    print("fetched %d pages, %d items in %.2f s: %.1f signed requests/s" % (options.pages, items, elapsed, options.pages / elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
