#!/usr/bin/env python3
"""Live-room chat reader: iterates over the room's decoded chat as the page publishes it.

The page's own socket to the room is tapped by hooks.js: every frame the page receives is decoded by
the site's bundle and its chat lines are published to the topic "chat". This reader never touches
the site's socket.

Usage:
    python3 chat.py [--bridge http://127.0.0.1:12180] [--group live-room] [--count 20]
Set PAGECALL_TOKEN when the bridge has a token. Uses the pagecall client (pip install ./clients/python);
run from the repository, it finds the client there without installing it.
"""
import argparse
import sys
from pathlib import Path

try:
    from pagecall import Bridge, PagecallError
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python" / "src"))
    from pagecall import Bridge, PagecallError


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bridge", default=None, help="bridge URL (default $PAGECALL_URL or http://127.0.0.1:12180)")
    parser.add_argument("--group", default="live-room")
    parser.add_argument("--count", type=int, default=20)
    options = parser.parse_args()
    seen = 0
    try:
        for entry in Bridge(options.bridge).stream(options.group, "chat"):
            if entry.type == "gap":
                print(f"({entry.message})", file=sys.stderr)
                continue
            if entry.type == "error":
                print(f"(the page could not decode a frame: {entry.error['message']})", file=sys.stderr)
                continue
            chat = entry.value
            print(f"#{chat['seq']} {chat['user']}: {chat['text']}", flush=True)
            seen += 1
            if seen == options.count:
                return 0
    except PagecallError as error:
        print(f"{error.code}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
