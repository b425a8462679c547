#!/usr/bin/env python3
"""A minimal destination for trying ConsentHub's propagation locally.

    SECRET=whsec_... API_KEY=... python3 samples/webhook-receiver.py 9001

It prints every PROPAGATED message it receives, checks the Standard Webhooks signature
(HMAC-SHA256 over "webhook-id.webhook-timestamp.body" with the base64 key after "whsec_")
and the api-key header, and answers 204. With STATUS=503 it answers that instead, to watch retries.
Standard library only; for local experiments, not for production.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ.get("SECRET", "")
API_KEY = os.environ.get("API_KEY", "")
STATUS = int(os.environ.get("STATUS", "204"))


def signature_ok(headers, body):
    if not SECRET.startswith("whsec_"):
        return None
    key = base64.b64decode(SECRET[len("whsec_"):])
    signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1)[1] for part in headers.get("webhook-signature", "").split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        verdict = signature_ok(self.headers, body)
        # During an API key rotation the header carries the new key and the previous one, space-separated.
        key_ok = (API_KEY in (self.headers.get("api-key") or "").split(" ")) if API_KEY else None
        print(f"--- webhook-id {self.headers.get('webhook-id')}  signature "
              f"{'OK' if verdict else 'unchecked' if verdict is None else 'BAD'}  api-key "
              f"{'OK' if key_ok else 'unchecked' if key_ok is None else 'BAD'}  -> {STATUS}")
        print(json.dumps(json.loads(body), indent=2), flush=True)
        self.send_response(STATUS)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9001
    print(f"listening on http://127.0.0.1:{port}/", flush=True)
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
