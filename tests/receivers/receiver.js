// A webhook receiver as the original WAREST documents one (its README's "Webhook Events,
// Actions, and Payloads"), with Node's standard library only: it checks X-WAREST-Signature
// (HMAC of the raw body, algorithm from X-WAREST-Signature-Alg, key = secret +
// X-WAREST-Username), answers a received "test" with a "pong" text to data.sender.chatId
// and a received "react" with a reaction on data.message.key.
//
// Run: WAREST_SECRET=s node receiver.js  (prints "listening on <port>", then one line per
// request: "verified <event>" or "bad signature <event>").
"use strict";
const http = require("node:http");
const crypto = require("node:crypto");

const SECRET = process.env.WAREST_SECRET || "";
const ALGS = { "HMAC-SHA224": "sha224", "HMAC-SHA256": "sha256", "HMAC-SHA384": "sha384", "HMAC-SHA512": "sha512" };

function verified(headers, raw) {
  const [token, hex = ""] = String(headers["x-warest-signature"] || "").split("=");
  const alg = ALGS[String(headers["x-warest-signature-alg"] || token).toUpperCase()] || "sha256";
  const key = SECRET + String(headers["x-warest-username"] || "");
  const expected = crypto.createHmac(alg, key).update(raw).digest("hex");
  const a = Buffer.from(expected);
  const b = Buffer.from(hex.trim());
  return b.length > 0 && a.length === b.length && crypto.timingSafeEqual(a, b);
}

function actionsFor(event, data) {
  if (event !== "message_received") return [];
  const text = String(data.text || "").trim().toLowerCase();
  const to = (data.sender || {}).chatId;
  const key = (data.message || {}).key;
  if (text === "test" && to) return [{ type: "text", to, text: "pong" }];
  if (text === "react" && to && key) return [{ act: "react", to, key, emoji: "👍" }];
  return [];
}

function answer(res, status, body) {
  const out = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(out) });
  res.end(out);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks);
    const event = String(req.headers["x-warest-event"] || "");
    if (!verified(req.headers, raw)) {
      console.log("bad signature", event);
      return answer(res, 401, { ok: false, error: "bad signature" });
    }
    console.log("verified", event);
    if (event === "preflight") return answer(res, 200, { ok: true, pong: true });
    const data = (JSON.parse(raw.toString() || "{}").data) || {};
    answer(res, 200, { ok: true, actions: actionsFor(event, data), delayMs: 100 });
  });
});
server.listen(0, "127.0.0.1", () => console.log("listening on", server.address().port));
