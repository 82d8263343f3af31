//! WebSocket byte pipe and WhatsApp framing.
//!
//! Owns the accepted WebSocket, the one-time `WA` connection header (optionally behind
//! an `ED` edge-routing prefix; its last byte names the token dictionary, see
//! `dict.rs`), the 3-byte length-prefixed frames, and (after the handshake) the AES-GCM
//! transport with its per-direction counters and the binary node codec. It does not
//! interpret nodes: it yields `Node`s and writes `Node`s.

use anyhow::{Context, Result, bail};
use bytes::BytesMut;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_websockets::{Message, WebSocketStream};
use wacore::handshake::NoiseCipher;
use wacore_binary::Node;
use wacore_noise::framing::{FrameDecoder, encode_frame};

use super::dict::{self, Dict};

type Ws = WebSocketStream<TcpStream>;

/// Plain (pre-Noise) frame I/O over one socket.
pub(crate) struct FrameIo {
    ws: Ws,
    decoder: FrameDecoder,
    /// Bytes seen before the connection header was stripped.
    preamble: Option<Vec<u8>>,
    /// The client's `WA` header once read: it is the Noise prologue.
    header: Option<[u8; 4]>,
}

impl FrameIo {
    pub fn new(ws: Ws) -> Self {
        Self { ws, decoder: FrameDecoder::new(), preamble: Some(Vec::new()), header: None }
    }

    /// The connection header the client sent (known once its first frame is in).
    pub fn header(&self) -> Option<[u8; 4]> {
        self.header
    }

    /// Next complete frame, or `None` once the peer closed.
    pub async fn next_frame(&mut self) -> Result<Option<BytesMut>> {
        read_frame(&mut self.ws, &mut self.decoder, &mut self.preamble, &mut self.header).await
    }

    pub async fn send_frame(&mut self, payload: &[u8]) -> Result<()> {
        self.ws.send(Message::binary(encode_frame(payload, None)?)).await?;
        Ok(())
    }

    /// Switches to the encrypted transport once the handshake is done.
    pub fn into_transport(self, read: NoiseCipher, write: NoiseCipher) -> Result<(NodeReader, NodeWriter)> {
        let version = self.header.context("transport before the connection header")?[3];
        let dict = Dict::from_header(version)?;
        let (sink, stream) = self.ws.split();
        Ok((
            NodeReader {
                stream,
                decoder: self.decoder,
                preamble: self.preamble,
                header: self.header,
                cipher: read,
                counter: 0,
                dict,
            },
            NodeWriter { sink, cipher: write, counter: 0, dict },
        ))
    }
}

/// Generic over anything yielding WebSocket messages, so it serves both the
/// whole socket (handshake) and its read half (session).
async fn read_frame<S>(
    ws: &mut S,
    decoder: &mut FrameDecoder,
    preamble: &mut Option<Vec<u8>>,
    header: &mut Option<[u8; 4]>,
) -> Result<Option<BytesMut>>
where
    S: futures_util::Stream<Item = Result<Message, tokio_websockets::Error>> + Unpin,
{
    loop {
        if preamble.is_none()
            && let Some(frame) = decoder.decode_frame()
        {
            return Ok(Some(frame));
        }
        let Some(msg) = ws.next().await else {
            return Ok(None);
        };
        let msg = msg?;
        if msg.is_close() {
            return Ok(None);
        }
        if !msg.is_binary() {
            continue;
        }
        let data: &[u8] = msg.as_payload();
        match preamble.as_mut() {
            None => decoder.feed(data),
            Some(buf) => {
                buf.extend_from_slice(data);
                if buf.len() > MAX_PREAMBLE {
                    bail!("connection header too long");
                }
                let Some((wa, len)) = parse_preamble(buf)? else {
                    continue;
                };
                // Everything after the header is ordinary frames.
                let rest = buf.split_off(len);
                decoder.feed(&rest);
                *header = Some(wa);
                *preamble = None;
            }
        }
    }
}

/// Longest preamble accepted: an `ED` routing prefix is a few dozen bytes.
const MAX_PREAMBLE: usize = 64 * 1024;

/// The connection header at the start of `buf`: `WA` + protocol version + dictionary
/// version, optionally behind `ED 0 1 <u24 length> <routing info>` (what a client
/// sends once a server gave it edge-routing info). `None` while incomplete.
fn parse_preamble(buf: &[u8]) -> Result<Option<([u8; 4], usize)>> {
    let mut at = 0;
    if buf.len() >= 2 && buf.starts_with(b"ED") {
        if buf.len() < 7 {
            return Ok(None);
        }
        at = 7 + ((buf[4] as usize) << 16 | (buf[5] as usize) << 8 | buf[6] as usize);
    }
    if buf.len() < at + 4 {
        return Ok(None);
    }
    let wa = &buf[at..at + 4];
    if !wa.starts_with(b"WA") {
        bail!("connection does not start with the WA header");
    }
    Ok(Some(([wa[0], wa[1], wa[2], wa[3]], at + 4)))
}

/// Read half of an established session.
pub(crate) struct NodeReader {
    stream: SplitStream<Ws>,
    decoder: FrameDecoder,
    preamble: Option<Vec<u8>>,
    header: Option<[u8; 4]>,
    cipher: NoiseCipher,
    counter: u32,
    dict: Dict,
}

impl NodeReader {
    /// Next decoded node, or `None` once the peer closed.
    pub async fn next_node(&mut self) -> Result<Option<Node>> {
        let Some(mut frame) =
            read_frame(&mut self.stream, &mut self.decoder, &mut self.preamble, &mut self.header).await?
        else {
            return Ok(None);
        };
        self.cipher.decrypt_in_place_with_counter(self.counter, &mut frame).context("decrypting client frame")?;
        self.counter = self.counter.wrapping_add(1);
        let plain = wacore_binary::util::unpack(&frame)?;
        let node = match self.dict {
            Dict::V3 => wacore_binary::marshal::unmarshal_ref(&plain)?.to_owned(),
            Dict::V2 => wacore_binary::marshal::unmarshal_ref(&dict::to_v3(&plain)?)?.to_owned(),
        };
        Ok(Some(node))
    }
}

/// Write half of an established session.
pub(crate) struct NodeWriter {
    sink: SplitSink<Ws, Message>,
    cipher: NoiseCipher,
    counter: u32,
    dict: Dict,
}

impl NodeWriter {
    pub async fn send_node(&mut self, node: &Node) -> Result<()> {
        let mut plain = wacore_binary::marshal::marshal(node)?;
        if self.dict == Dict::V2 {
            // Keep the flags byte (uncompressed), rewrite the node after it.
            let v2 = dict::from_v3(&plain[1..])?;
            plain.truncate(1);
            plain.extend_from_slice(&v2);
        }
        let sealed = self.cipher.encrypt_with_counter(self.counter, &plain)?;
        self.counter = self.counter.wrapping_add(1);
        self.sink.send(Message::binary(encode_frame(&sealed, None)?)).await?;
        Ok(())
    }

    pub async fn close(&mut self) {
        let _ = self.sink.send(Message::close(None, "")).await;
        let _ = self.sink.close().await;
    }
}
