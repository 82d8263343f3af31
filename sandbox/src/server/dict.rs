//! Token dictionary versions of the binary node format.
//!
//! A client names its dictionary in the last byte of its connection header (`WA 6 <v>`):
//! whatsapp-rust and Baileys 7 speak version 3 (wacore's tables), Baileys 6.x still
//! speaks version 2. The node grammar is the same in both; only which byte stands for
//! which token differs. So the sandbox keeps decoding and encoding with wacore (v3) and,
//! for a v2 connection, rewrites each frame's token bytes on the way in and out
//! (`to_v3`, `from_v3`): a token with no counterpart in the other table becomes a
//! literal string. This module owns that rewrite and the v2 tables; it does not know
//! about sockets or Noise.
//!
//! The v2 tables (`tokens_v2.json`) are data copied from the published constants of
//! Baileys 6.17.16 (`lib/WABinary/constants.js`: `SINGLE_BYTE_TOKENS`,
//! `DOUBLE_BYTE_TOKENS`), the dictionary WhatsApp Web shipped as version 2.

use std::collections::HashMap;
use std::sync::OnceLock;

use anyhow::{Result, bail};
use wacore_binary::token::{self, TokenKind};

/// Which token tables a connection uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dict {
    V2,
    V3,
}

impl Dict {
    /// From the header's last byte; unknown versions are refused (the client would
    /// read nothing we send).
    pub fn from_header(version: u8) -> Result<Self> {
        match version {
            2 => Ok(Dict::V2),
            3 => Ok(Dict::V3),
            v => bail!("unsupported dictionary version {v}"),
        }
    }
}

#[derive(serde::Deserialize)]
struct Tables {
    single_byte: Vec<String>,
    double_byte: Vec<Vec<String>>,
}

struct V2 {
    tables: Tables,
    index: HashMap<String, TokenKind>,
}

fn v2() -> &'static V2 {
    static V2_TABLES: OnceLock<V2> = OnceLock::new();
    V2_TABLES.get_or_init(|| {
        let tables: Tables =
            serde_json::from_str(include_str!("tokens_v2.json")).expect("tokens_v2.json is valid (checked by a test)");
        let mut index = HashMap::new();
        for (dict, words) in tables.double_byte.iter().enumerate() {
            for (i, w) in words.iter().enumerate() {
                index.entry(w.clone()).or_insert(TokenKind::Double(dict as u8, i as u8));
            }
        }
        // Single-byte tokens win over double-byte ones, as in every encoder; index 0
        // is the empty string, which is written as LIST_EMPTY instead.
        for (i, w) in tables.single_byte.iter().enumerate().skip(1) {
            index.insert(w.clone(), TokenKind::Single(i as u8));
        }
        V2 { tables, index }
    })
}

/// Token lookups of one dictionary version.
trait Tokens {
    fn single(&self, index: u8) -> Option<&str>;
    fn double(&self, dict: u8, index: u8) -> Option<&str>;
    fn index(&self, s: &str) -> Option<TokenKind>;
}

struct V3Tokens;

impl Tokens for V3Tokens {
    fn single(&self, index: u8) -> Option<&str> {
        token::get_single_token(index)
    }
    fn double(&self, dict: u8, index: u8) -> Option<&str> {
        token::get_double_token(dict, index)
    }
    fn index(&self, s: &str) -> Option<TokenKind> {
        token::index_of_token(s)
    }
}

impl Tokens for V2 {
    fn single(&self, index: u8) -> Option<&str> {
        self.tables.single_byte.get(index as usize).map(String::as_str)
    }
    fn double(&self, dict: u8, index: u8) -> Option<&str> {
        self.tables.double_byte.get(dict as usize)?.get(index as usize).map(String::as_str)
    }
    fn index(&self, s: &str) -> Option<TokenKind> {
        self.index.get(s).copied()
    }
}

/// A v2 node (uncompressed, without the leading flags byte) rewritten for v3.
pub(crate) fn to_v3(input: &[u8]) -> Result<Vec<u8>> {
    transcode(input, v2(), &V3Tokens)
}

/// A v3 node (as wacore marshals it, without the flags byte) rewritten for v2.
pub(crate) fn from_v3(input: &[u8]) -> Result<Vec<u8>> {
    transcode(input, &V3Tokens, v2())
}

fn transcode(input: &[u8], from: &dyn Tokens, to: &dyn Tokens) -> Result<Vec<u8>> {
    let mut t = Transcoder { input, pos: 0, out: Vec::with_capacity(input.len() + 16), from, to, depth: 0 };
    t.node()?;
    if t.pos != input.len() {
        bail!("{} bytes left after the node", input.len() - t.pos);
    }
    Ok(t.out)
}

/// Deepest nesting accepted; real stanzas are a handful of levels deep.
const MAX_DEPTH: usize = 64;

struct Transcoder<'a> {
    input: &'a [u8],
    pos: usize,
    out: Vec<u8>,
    from: &'a dyn Tokens,
    to: &'a dyn Tokens,
    depth: usize,
}

impl Transcoder<'_> {
    fn byte(&mut self) -> Result<u8> {
        let Some(b) = self.input.get(self.pos).copied() else { bail!("end of stream") };
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.pos + n > self.input.len() {
            bail!("end of stream");
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Copies `n` bytes through unchanged.
    fn copy(&mut self, n: usize) -> Result<()> {
        let pos = self.pos;
        self.take(n)?;
        self.out.extend_from_slice(&self.input[pos..pos + n]);
        Ok(())
    }

    fn list_size(&mut self, tag: u8) -> Result<usize> {
        self.out.push(tag);
        match tag {
            token::LIST_EMPTY => Ok(0),
            token::LIST_8 => {
                let n = self.byte()?;
                self.out.push(n);
                Ok(n as usize)
            }
            token::LIST_16 => {
                let b = self.take(2)?;
                let n = u16::from_be_bytes([b[0], b[1]]);
                self.out.extend_from_slice(&n.to_be_bytes());
                Ok(n as usize)
            }
            t => bail!("invalid list tag {t}"),
        }
    }

    fn node(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            bail!("nodes nested too deeply");
        }
        let tag = self.byte()?;
        let size = self.list_size(tag)?;
        if size == 0 {
            bail!("empty node");
        }
        let tag = self.byte()?;
        self.string(tag)?; // description
        for _ in 0..(size - 1) / 2 {
            let k = self.byte()?;
            self.string(k)?;
            let v = self.byte()?;
            self.string(v)?;
        }
        if size % 2 == 0 {
            let tag = self.byte()?;
            match tag {
                token::LIST_EMPTY | token::LIST_8 | token::LIST_16 => {
                    let n = self.list_size(tag)?;
                    for _ in 0..n {
                        self.node()?;
                    }
                }
                // Content bytes are never tokens, even when short.
                token::BINARY_8 | token::BINARY_20 | token::BINARY_32 => self.binary(tag)?,
                t => self.string(t)?,
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn binary(&mut self, tag: u8) -> Result<()> {
        self.out.push(tag);
        let n = match tag {
            token::BINARY_8 => {
                let n = self.byte()?;
                self.out.push(n);
                n as usize
            }
            token::BINARY_20 => {
                let b = self.take(3)?.to_vec();
                self.out.extend_from_slice(&b);
                (((b[0] & 0x0F) as usize) << 16) | ((b[1] as usize) << 8) | b[2] as usize
            }
            _ => {
                let b = self.take(4)?.to_vec();
                self.out.extend_from_slice(&b);
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
            }
        };
        self.copy(n)
    }

    /// One string-valued item starting with `tag`: tokens are looked up in the source
    /// table and written in the target's; everything else is copied (JIDs recursively,
    /// as their parts may be tokens).
    fn string(&mut self, tag: u8) -> Result<()> {
        match tag {
            token::LIST_EMPTY => self.out.push(tag),
            token::DICTIONARY_0..=token::DICTIONARY_3 => {
                let i = self.byte()?;
                let Some(s) = self.from.double(tag - token::DICTIONARY_0, i) else {
                    bail!("unknown double-byte token {tag}/{i}");
                };
                self.write_str(s);
            }
            token::BINARY_8 | token::BINARY_20 | token::BINARY_32 => self.binary(tag)?,
            token::JID_PAIR => {
                self.out.push(tag);
                let user = self.byte()?;
                self.string(user)?;
                let server = self.byte()?;
                self.string(server)?;
            }
            token::AD_JID => {
                self.out.push(tag);
                self.copy(2)?; // domain type, device
                let user = self.byte()?;
                self.string(user)?;
            }
            token::FB_JID | token::INTEROP_JID => {
                self.out.push(tag);
                let user = self.byte()?;
                self.string(user)?;
                self.copy(if tag == token::FB_JID { 2 } else { 4 })?;
                let server = self.byte()?;
                self.string(server)?;
            }
            token::HEX_8 | token::NIBBLE_8 => {
                self.out.push(tag);
                let start = self.byte()?;
                self.out.push(start);
                self.copy((start & 0x7F) as usize)?;
            }
            t => {
                let Some(s) = self.from.single(t) else { bail!("unknown token {t}") };
                self.write_str(s);
            }
        }
        Ok(())
    }

    fn write_str(&mut self, s: &str) {
        match self.to.index(s) {
            Some(TokenKind::Single(i)) if !s.is_empty() => self.out.push(i),
            Some(TokenKind::Double(d, i)) => self.out.extend_from_slice(&[token::DICTIONARY_0 + d, i]),
            _ if s.is_empty() => self.out.push(token::LIST_EMPTY),
            _ => {
                let b = s.as_bytes();
                if b.len() < 256 {
                    self.out.extend_from_slice(&[token::BINARY_8, b.len() as u8]);
                } else if b.len() < 1 << 20 {
                    let n = b.len();
                    self.out.extend_from_slice(&[token::BINARY_20, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
                } else {
                    self.out.push(token::BINARY_32);
                    self.out.extend_from_slice(&(b.len() as u32).to_be_bytes());
                }
                self.out.extend_from_slice(b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wacore_binary::builder::NodeBuilder;
    use wacore_binary::{Jid, Node};

    fn sample() -> Node {
        NodeBuilder::new("message")
            .attr("to", Jid::pn_device("15550001111", 3))
            .attr("id", "3EB0ABCDEF")
            .attr("type", "text")
            .attr("edit", "7")
            .children([
                NodeBuilder::new("participants")
                    .children([NodeBuilder::new("to")
                        .attr("jid", Jid::lid_device("100000000000001", 2))
                        .children([NodeBuilder::new("enc")
                            .attr("v", "2")
                            .attr("type", "pkmsg")
                            .bytes(vec![1, 2, 3])
                            .build()])
                        .build()])
                    .build(),
                NodeBuilder::new("device-identity").bytes(vec![9; 300]).build(),
                NodeBuilder::new("biz").attr("native_flow_name", "a string that is no token").build(),
            ])
            .build()
    }

    #[test]
    fn v2_tables_load() {
        let t = v2();
        assert_eq!(t.tables.single_byte.len(), 236);
        assert_eq!(t.tables.double_byte.len(), 4);
        assert_eq!(t.tables.single_byte[3], "s.whatsapp.net");
    }

    #[test]
    fn a_node_survives_a_round_trip_through_v2() {
        let node = sample();
        let v3 = wacore_binary::marshal::marshal(&node).unwrap();
        let v2_bytes = from_v3(&v3[1..]).unwrap();
        assert_ne!(v2_bytes, v3[1..], "some token bytes differ between the versions");
        let back = to_v3(&v2_bytes).unwrap();
        let decoded = wacore_binary::marshal::unmarshal_ref(&back).unwrap().to_owned();
        assert_eq!(decoded, node);
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for bad in [&[][..], &[248, 5, 3], &[248, 2, 236, 255, 252, 200], &[0]] {
            assert!(to_v3(bad).is_err(), "{bad:?}");
        }
    }
}
