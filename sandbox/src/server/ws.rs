//! WebSocket byte pipe and WhatsApp framing.
//!
//! Owns the accepted WebSocket, the one-time `WA` connection header, the 3-byte
//! length-prefixed frames, and (after the handshake) the AES-GCM transport with
//! its per-direction counters and the binary node codec. It does not interpret
//! nodes: it yields `Node`s and writes `Node`s.

use anyhow::{Context, Result, bail};
use bytes::BytesMut;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_websockets::{Message, WebSocketStream};
use wacore::handshake::NoiseCipher;
use wacore_binary::Node;
use wacore_binary::consts::WA_CONN_HEADER;
use wacore_noise::framing::{FrameDecoder, encode_frame};

type Ws = WebSocketStream<TcpStream>;

/// Plain (pre-Noise) frame I/O over one socket.
pub(crate) struct FrameIo {
    ws: Ws,
    decoder: FrameDecoder,
    /// Bytes seen before the connection header was stripped.
    preamble: Option<Vec<u8>>,
}

impl FrameIo {
    pub fn new(ws: Ws) -> Self {
        Self { ws, decoder: FrameDecoder::new(), preamble: Some(Vec::new()) }
    }

    /// Next complete frame, or `None` once the peer closed.
    pub async fn next_frame(&mut self) -> Result<Option<BytesMut>> {
        read_frame(&mut self.ws, &mut self.decoder, &mut self.preamble).await
    }

    pub async fn send_frame(&mut self, payload: &[u8]) -> Result<()> {
        self.ws.send(Message::binary(encode_frame(payload, None)?)).await?;
        Ok(())
    }

    /// Switches to the encrypted transport once the handshake is done.
    pub fn into_transport(self, read: NoiseCipher, write: NoiseCipher) -> (NodeReader, NodeWriter) {
        let (sink, stream) = self.ws.split();
        (
            NodeReader { stream, decoder: self.decoder, preamble: self.preamble, cipher: read, counter: 0 },
            NodeWriter { sink, cipher: write, counter: 0 },
        )
    }
}

/// Generic over anything yielding WebSocket messages, so it serves both the
/// whole socket (handshake) and its read half (session).
async fn read_frame<S>(
    ws: &mut S,
    decoder: &mut FrameDecoder,
    preamble: &mut Option<Vec<u8>>,
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
                if buf.len() < WA_CONN_HEADER.len() {
                    continue;
                }
                // The client opens with `WA` + version + dictionary version once;
                // everything after it is ordinary frames.
                if !buf.starts_with(&WA_CONN_HEADER[..2]) {
                    bail!("connection does not start with the WA header");
                }
                let rest = buf.split_off(WA_CONN_HEADER.len());
                decoder.feed(&rest);
                *preamble = None;
            }
        }
    }
}

/// Read half of an established session.
pub(crate) struct NodeReader {
    stream: SplitStream<Ws>,
    decoder: FrameDecoder,
    preamble: Option<Vec<u8>>,
    cipher: NoiseCipher,
    counter: u32,
}

impl NodeReader {
    /// Next decoded node, or `None` once the peer closed.
    pub async fn next_node(&mut self) -> Result<Option<Node>> {
        let Some(mut frame) = read_frame(&mut self.stream, &mut self.decoder, &mut self.preamble).await? else {
            return Ok(None);
        };
        self.cipher.decrypt_in_place_with_counter(self.counter, &mut frame).context("decrypting client frame")?;
        self.counter = self.counter.wrapping_add(1);
        let plain = wacore_binary::util::unpack(&frame)?;
        let node = wacore_binary::marshal::unmarshal_ref(&plain)?.to_owned();
        Ok(Some(node))
    }
}

/// Write half of an established session.
pub(crate) struct NodeWriter {
    sink: SplitSink<Ws, Message>,
    cipher: NoiseCipher,
    counter: u32,
}

impl NodeWriter {
    pub async fn send_node(&mut self, node: &Node) -> Result<()> {
        let plain = wacore_binary::marshal::marshal(node)?;
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
