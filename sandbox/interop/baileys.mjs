// A Baileys client (6.x or 7.x, from npm, unmodified) pointed at the WAREST sandbox.
//
//   node baileys.mjs <6|7> <ws-url> <root-key-hex> [auth-dir]
//
// The one change to the client is trusting the sandbox's root key in place of
// WhatsApp's (`WA_CERT_DETAILS.PUBLIC_KEY`; Baileys 6 checks no signature, so it has
// nothing to replace). Media: Baileys always speaks https to the media host the server
// names; start node with NODE_EXTRA_CA_CERTS=<sandbox data dir>/media-ca.pem so it
// trusts the sandbox's media certificate (see ../CLIENTS.md).
//
// It prints one JSON object per line on stdout (events: qr, open, message, sent,
// error, closed) and reads commands as JSON lines on stdin:
//   {"cmd":"send_text","to":"<jid>","text":"..."}
//   {"cmd":"send_image","to":"<jid>","base64":"...","mimetype":"image/jpeg","caption":"..."}
//   {"cmd":"create_group","subject":"...","participants":["<jid>"]}
//   {"cmd":"exit"}
// Logs (pino) go to stderr; BAILEYS_LOG sets the level (default "warn").
import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import pino from 'pino'

// libsignal prints session notes with console.log; stdout is for JSON lines only.
console.log = (...args) => console.error(...args)
console.info = console.log

const [major, wsUrl, rootKey, authDirArg] = process.argv.slice(2)
if (!['6', '7'].includes(major) || !wsUrl || !/^[0-9a-f]{64}$/i.test(rootKey ?? '')) {
	console.error('usage: node baileys.mjs <6|7> <ws-url> <root-key-hex> [auth-dir]')
	process.exit(2)
}

const mod = await import(major === '6' ? 'baileys6' : 'baileys7')
// Baileys 6 is CommonJS (everything under `default`), 7 is an ES module.
const api = typeof mod.default === 'function' ? mod : mod.default
const makeWASocket = api.default ?? api.makeWASocket
const { useMultiFileAuthState, DisconnectReason, downloadMediaMessage, WA_CERT_DETAILS } = api

// The only client-side change: trust the sandbox's root key instead of WhatsApp's.
if (WA_CERT_DETAILS && 'PUBLIC_KEY' in WA_CERT_DETAILS) {
	WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(rootKey, 'hex')
}

const logger = pino({ level: process.env.BAILEYS_LOG || 'warn' }, pino.destination(2))
const authDir = authDirArg || mkdtempSync(join(tmpdir(), `baileys${major}-`))
const { state, saveCreds } = await useMultiFileAuthState(authDir)

const out = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const sha256 = buf => createHash('sha256').update(buf).digest('hex')

let sock
let opened = false

function connect() {
	sock = makeWASocket({
		auth: state,
		waWebSocketUrl: wsUrl,
		logger,
		printQRInTerminal: false,
		markOnlineOnConnect: false,
		syncFullHistory: false,
		// Nothing is looked up for link previews: there is no internet in the sandbox.
		generateHighQualityLinkPreview: false
	})
	sock.ev.on('creds.update', saveCreds)
	sock.ev.on('connection.update', update => {
		const { connection, lastDisconnect, qr } = update
		if (qr) {
			out({ event: 'qr', qr })
		}
		if (connection === 'open') {
			opened = true
			out({ event: 'open', me: sock.user })
		}
		if (connection === 'close') {
			const code = lastDisconnect?.error?.output?.statusCode
			out({ event: 'closed', code, reason: String(lastDisconnect?.error?.message ?? '') })
			// 515 after pairing (restart required) and dropped sockets: reconnect, as
			// every Baileys app does. A logout ends the script.
			if (code !== DisconnectReason.loggedOut) {
				setTimeout(connect, 200)
			} else {
				process.exit(opened ? 0 : 3)
			}
		}
	})
	sock.ev.on('messages.upsert', async ({ messages, type }) => {
		for (const m of messages) {
			if (m.key.fromMe) {
				// Its own messages: what it sent, and what its phone (device 0) sent,
				// which arrives as a deviceSentMessage copy. Text only, never downloaded.
				const own = m.message?.conversation || m.message?.extendedTextMessage?.text
				if (own) {
					out({ event: 'own_message', upsert: type, id: m.key.id, chat: m.key.remoteJid, text: own })
				}
				continue
			}
			const base = {
				event: 'message',
				upsert: type,
				id: m.key.id,
				chat: m.key.remoteJid,
				from: m.key.participant || m.key.remoteJid
			}
			if (!m.message) {
				// Baileys keeps what it could not decrypt as a stub.
				out({ ...base, undecryptable: true, stub: m.messageStubType, params: m.messageStubParameters })
				continue
			}
			const msg = m.message.ephemeralMessage?.message ?? m.message
			// Baileys 6 decodes absent strings as '' (protobufjs defaults).
			const text = msg.conversation || msg.extendedTextMessage?.text
			if (text) {
				out({ ...base, text })
			}
			if (msg.imageMessage) {
				try {
					const buf = await downloadMediaMessage(m, 'buffer', {}, { logger, reuploadRequest: sock.updateMediaMessage })
					out({
						...base,
						image: {
							mimetype: msg.imageMessage.mimetype,
							caption: msg.imageMessage.caption,
							size: buf.length,
							sha256: sha256(buf)
						}
					})
				} catch (e) {
					out({ ...base, error: `image download failed: ${e?.message ?? e}` })
				}
			}
		}
	})
}

async function run(cmd) {
	switch (cmd.cmd) {
		case 'send_text': {
			const sent = await sock.sendMessage(cmd.to, { text: cmd.text })
			return { id: sent.key.id }
		}
		case 'send_image': {
			const image = Buffer.from(cmd.base64, 'base64')
			const sent = await sock.sendMessage(cmd.to, {
				image,
				caption: cmd.caption,
				mimetype: cmd.mimetype || 'image/jpeg',
				// Baileys would compute a thumbnail with sharp or jimp, neither of which
				// is installed; any small JPEG will do.
				jpegThumbnail: image.length < 4096 ? image : Buffer.alloc(0)
			})
			return { id: sent.key.id, sha256: sha256(image) }
		}
		case 'create_group': {
			const group = await sock.groupCreate(cmd.subject, cmd.participants)
			return { jid: group.id }
		}
		case 'exit':
			process.exit(0)
		default:
			throw new Error(`unknown command ${cmd.cmd}`)
	}
}

createInterface({ input: process.stdin }).on('line', async line => {
	let cmd
	try {
		cmd = JSON.parse(line)
		out({ event: 'done', cmd: cmd.cmd, ...(await run(cmd)) })
	} catch (e) {
		out({ event: 'error', cmd: cmd?.cmd, error: String(e?.stack ?? e) })
	}
})
// The test closes stdin when it is done (or dies): stop then too.
process.stdin.on('end', () => process.exit(0))

connect()
