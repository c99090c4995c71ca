//! The config-tree text syntax shared by VG metadata, lvm.conf and the
//! lvmetad socket protocol.
//!
//! ```text
//! key = value            # integers, "strings", [arrays], floats
//! section { key = ... }  # nested sections
//! a/b/c = 1              # lvm.conf-style path keys (only in lvm.conf/--config)
//! ```
//!
//! The tree keeps the order of keys, because lvm2 prints metadata in a fixed
//! order and we want a rewrite to be a byte-for-byte no-op when nothing
//! changed.

/// A leaf value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Value>),
}

/// A node under a key: either a leaf value or a nested section.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Value(Value),
    Section(Section),
}

/// An ordered list of `key = value` / `key { ... }` items.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    pub items: Vec<(String, Node)>,
}
