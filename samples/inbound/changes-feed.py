#!/usr/bin/env python3
"""A minimal system for trying ConsentHub's polling adapter locally: it only exposes GET /changes?from=&to=.

    TOKEN=tool-secret python3 samples/inbound/changes-feed.py 9003 samples/inbound/changes.json

It answers the changes of the JSON file whose "at" lies in [from, to) (ISO 8601 in UTC), two per page, with the
next page's URL in "next", and only to requests whose x-api-key header is TOKEN (401 otherwise). It prints each
request it answers. Standard library only; for local experiments, not for production.
"""
import json
import os
import sys
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

TOKEN = os.environ.get("TOKEN", "")
PAGE = 2


def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Feed(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path != "/changes":
            return self.answer(404, {"error": "not found"})
        if not TOKEN or self.headers.get("x-api-key") != TOKEN:
            return self.answer(401, {"error": "missing or wrong x-api-key"})
        try:
            start, end = instant(query["from"]), instant(query["to"])
            offset = int(query.get("offset", "0"))
        except (KeyError, ValueError):
            return self.answer(400, {"error": "from and to are ISO 8601 instants"})
        window = [c for c in CHANGES if start <= instant(c["at"]) < end]
        page = window[offset:offset + PAGE]
        more = offset + PAGE < len(window)
        following = "/changes?" + urlencode({"from": query["from"], "to": query["to"], "offset": offset + PAGE}) if more else None
        print(f"GET /changes from={query['from']} to={query['to']} offset={offset}: {len(page)} of {len(window)}", flush=True)
        self.answer(200, {"changes": page, "next": following})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9003
    with open(sys.argv[2] if len(sys.argv) > 2 else "samples/inbound/changes.json") as f:
        CHANGES = json.load(f)
    server = HTTPServer(("127.0.0.1", port), Feed)
    print(f"listening on http://127.0.0.1:{port}/", flush=True)
    server.serve_forever()
