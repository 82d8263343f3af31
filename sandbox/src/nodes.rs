//! Small helpers for reading and building binary-XML nodes.
//!
//! Owns no protocol knowledge beyond the common `<iq>` reply shapes.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, NodeContent, SERVER_JID};

pub(crate) fn attr(node: &Node, key: &str) -> Option<String> {
    node.attrs.get(key).map(|v| v.as_str().into_owned())
}

pub(crate) fn jid_attr(node: &Node, key: &str) -> Option<Jid> {
    node.attrs.get(key).and_then(|v| v.to_jid())
}

pub(crate) fn children(node: &Node) -> &[Node] {
    node.children().unwrap_or_default()
}

pub(crate) fn bytes(node: &Node) -> Option<&[u8]> {
    match &node.content {
        Some(NodeContent::Bytes(b)) => Some(b),
        _ => None,
    }
}

pub(crate) fn child_bytes<'a>(node: &'a Node, tag: &str) -> Option<&'a [u8]> {
    node.get_optional_child(tag).and_then(bytes)
}

/// Big-endian integer of up to 4 bytes (registration ids, 3-byte key ids).
pub(crate) fn be_uint(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |acc, x| (acc << 8) | u32::from(*x))
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

pub(crate) fn iq_result(id: &str, children: Vec<Node>) -> Node {
    let b = NodeBuilder::new("iq").attr("from", SERVER_JID).attr("type", "result").attr("id", id);
    if children.is_empty() { b.build() } else { b.children(children).build() }
}

pub(crate) fn iq_error(id: &str, code: u16, text: &str) -> Node {
    NodeBuilder::new("iq")
        .attr("from", SERVER_JID)
        .attr("type", "error")
        .attr("id", id)
        .children([NodeBuilder::new("error").attr("code", code.to_string()).attr("text", text).build()])
        .build()
}

pub(crate) fn random_id() -> String {
    format!("{:016X}", rand::random::<u64>())
}
