#!/usr/bin/env python3
"""A webhook receiver as the original WAREST documents one (its README's "Webhook
Events, Actions, and Payloads"), with the standard library only: it checks
X-WAREST-Signature (HMAC of the raw body, algorithm from X-WAREST-Signature-Alg, key =
secret + X-WAREST-Username), answers a received "test" with a "pong" text to
data.sender.chatId and a received "react" with a reaction on data.message.key.

Run: WAREST_SECRET=s python3 receiver.py  (prints "listening on <port>", then one line per
request: "verified <event>" or "bad signature <event>").
"""

import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ.get("WAREST_SECRET", "")
ALGS = {"HMAC-SHA224": hashlib.sha224, "HMAC-SHA256": hashlib.sha256,
        "HMAC-SHA384": hashlib.sha384, "HMAC-SHA512": hashlib.sha512}


def verified(headers, raw):
    token, _, hexsig = headers.get("X-WAREST-Signature", "").partition("=")
    alg = ALGS.get(headers.get("X-WAREST-Signature-Alg", token).upper(), hashlib.sha256)
    key = (SECRET + headers.get("X-WAREST-Username", "")).encode()
    return bool(hexsig) and hmac.compare_digest(hmac.new(key, raw, alg).hexdigest(), hexsig.strip())


def actions_for(event, data):
    if event != "message_received":
        return []
    text = (data.get("text") or "").strip().lower()
    to = (data.get("sender") or {}).get("chatId")
    key = (data.get("message") or {}).get("key")
    if text == "test" and to:
        return [{"type": "text", "to": to, "text": "pong"}]
    if text == "react" and to and key:
        return [{"act": "react", "to": to, "key": key, "emoji": "👍"}]
    return []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        event = self.headers.get("X-WAREST-Event", "")
        if not verified(self.headers, raw):
            print("bad signature", event, flush=True)
            return self.answer(401, {"ok": False, "error": "bad signature"})
        print("verified", event, flush=True)
        if event == "preflight":
            return self.answer(200, {"ok": True, "pong": True})
        data = json.loads(raw or b"{}").get("data") or {}
        self.answer(200, {"ok": True, "actions": actions_for(event, data), "delayMs": 100})

    def answer(self, status, body):
        out = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
print("listening on", server.server_port, flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
