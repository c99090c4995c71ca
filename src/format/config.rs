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
//!
//! The grammar follows libdm's tokenizer (`libdm/libdm-config.c`):
//!
//! - whitespace and `# comments` may appear between any two tokens, and items
//!   need no separator (`global{activation=0} devices{a=0 b=1}` is valid);
//! - a key is a bare identifier (anything up to whitespace, `#`, `=`, `{`,
//!   `}`) or a quoted string; an unquoted key containing `/` is a path and
//!   creates/extends nested sections, as lvm2 does for `--config`;
//! - values are integers (decimal, or octal with a leading `0` as strtoll
//!   reads them), floats (`1.5`, `.5`), `"escaped strings"` (only `\"` and
//!   `\\` are escapes, any other backslash is kept), `'raw strings'`, bare
//!   words (read as strings), or `[arrays]` of those with optional commas;
//! - the text ends at the end of input or at the first NUL byte (metadata
//!   areas store the text NUL-terminated);
//! - a section opened twice at the same level is one section (libdm merges
//!   them), while a repeated value key is kept twice and lookups see the
//!   last one (libdm replaces the value).
//!
//! Differences from libdm, all on the strict side except the last one: a
//! number must be followed by a delimiter (`x = 12ab` is an error), numbers
//! that overflow are errors, nesting is limited to [`MAX_DEPTH`], and a
//! *quoted* key is never split into a path (so any key survives
//! print → parse).

use std::collections::HashMap;

use thiserror::Error;

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

/// Sections may nest at most this deep (the top level is depth 0). The
/// parser is fed from a socket, so hostile input must not be able to make it
/// recurse without bound; real metadata needs 5 levels, lvm.conf 2.
pub const MAX_DEPTH: usize = 64;

/// A syntax error, with the 1-based line and column (in characters) where
/// the parser stopped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ConfigError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

// ---------------------------------------------------------------------------
// Accessors

impl Value {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_int().and_then(|i| u64::try_from(i).ok())
    }

    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A list of strings. As in lvm2, a single string counts as a list of
    /// one; an array with any non-string element is not a string list.
    pub fn as_str_list(&self) -> Option<Vec<&str>> {
        match self {
            Value::Str(s) => Some(vec![s.as_str()]),
            Value::Array(a) => a.iter().map(Value::as_str).collect(),
            _ => None,
        }
    }

    /// `["a", "b"]` from a list of strings.
    pub fn str_array<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::Array(items.into_iter().map(|s| Value::Str(s.into())).collect())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl Node {
    pub fn as_value(&self) -> Option<&Value> {
        match self {
            Node::Value(v) => Some(v),
            Node::Section(_) => None,
        }
    }

    pub fn as_section(&self) -> Option<&Section> {
        match self {
            Node::Section(s) => Some(s),
            Node::Value(_) => None,
        }
    }
}

impl Section {
    pub fn new() -> Section {
        Section::default()
    }

    /// The node under `key` in this section (not a path). When a key is
    /// repeated the last one wins, as when lvm2 reads a duplicate value.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.items
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, n)| n)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.items
            .iter_mut()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, n)| n)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.items.iter().any(|(k, _)| k == key)
    }

    pub fn get_value(&self, key: &str) -> Option<&Value> {
        self.get(key).and_then(Node::as_value)
    }

    pub fn get_section(&self, key: &str) -> Option<&Section> {
        self.get(key).and_then(Node::as_section)
    }

    pub fn get_int(&self, key: &str) -> Option<i64> {
        self.get_value(key).and_then(Value::as_int)
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get_value(key).and_then(Value::as_u64)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get_value(key).and_then(Value::as_str)
    }

    pub fn get_str_array(&self, key: &str) -> Option<Vec<&str>> {
        self.get_value(key).and_then(Value::as_str_list)
    }

    /// Look a node up by a `/`-separated path (`"global/activation"`).
    /// Empty path components are skipped, as in lvm2 (`/a//b` is `a/b`).
    pub fn find(&self, path: &str) -> Option<&Node> {
        let mut parts = path.split('/').filter(|p| !p.is_empty()).peekable();
        let mut section = self;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                return section.get(part);
            }
            // Prefer the last *section* of that name: a value with the same
            // key cannot hold the rest of the path.
            section = section.items.iter().rev().find_map(|(k, n)| match n {
                Node::Section(s) if k == part => Some(s),
                _ => None,
            })?;
        }
        None
    }

    pub fn find_value(&self, path: &str) -> Option<&Value> {
        self.find(path).and_then(Node::as_value)
    }

    pub fn find_section(&self, path: &str) -> Option<&Section> {
        self.find(path).and_then(Node::as_section)
    }

    pub fn find_int(&self, path: &str) -> Option<i64> {
        self.find_value(path).and_then(Value::as_int)
    }

    pub fn find_str(&self, path: &str) -> Option<&str> {
        self.find_value(path).and_then(Value::as_str)
    }

    /// Replace the (last) node under `key`, or append it.
    pub fn set(&mut self, key: &str, node: Node) {
        match self.get_mut(key) {
            Some(slot) => *slot = node,
            None => self.items.push((key.to_string(), node)),
        }
    }

    pub fn set_value(&mut self, key: &str, value: impl Into<Value>) {
        self.set(key, Node::Value(value.into()));
    }

    /// Remove every item under `key`; returns the last one removed.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let mut removed = None;
        let mut kept = Vec::with_capacity(self.items.len());
        for (k, n) in self.items.drain(..) {
            if k == key {
                removed = Some(n);
            } else {
                kept.push((k, n));
            }
        }
        self.items = kept;
        removed
    }

    /// Layer `other` over `self` (`--config` over lvm.conf): sections merge
    /// recursively, anything else in `other` replaces what `self` has under
    /// the same key, new keys are appended in `other`'s order.
    pub fn merge(&mut self, other: Section) {
        for (key, node) in other.items {
            match (self.get_mut(&key), node) {
                (Some(Node::Section(mine)), Node::Section(theirs)) => mine.merge(theirs),
                (Some(slot), node) => *slot = node,
                (None, node) => self.items.push((key, node)),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Printer

/// Print a tree in lvm2's style: one item per line, tab indentation,
/// `key = value`, `name {` ... `}`. `parse(&print(s)) == Ok(s)` for any tree
/// `parse` can produce.
pub fn print(section: &Section) -> String {
    let mut out = String::new();
    print_items(&mut out, section, 0);
    out
}

fn print_items(out: &mut String, section: &Section, depth: usize) {
    for (key, node) in &section.items {
        for _ in 0..depth {
            out.push('\t');
        }
        out.push_str(&format_key(key));
        match node {
            Node::Value(v) => {
                out.push_str(" = ");
                out.push_str(&format_value(v));
                out.push('\n');
            }
            Node::Section(s) => {
                out.push_str(" {\n");
                print_items(out, s, depth + 1);
                for _ in 0..depth {
                    out.push('\t');
                }
                out.push_str("}\n");
            }
        }
    }
}

/// A key as it must be written to read back as the same key: bare when it
/// is a plain identifier, quoted otherwise (this also keeps a key containing
/// `/` from being read back as a path).
pub fn format_key(key: &str) -> String {
    let plain = !key.is_empty()
        && !key.starts_with(['"', '\''])
        && !key
            .bytes()
            .any(|c| ends_word(c) || matches!(c, b'/' | b'!' | b'\0'));
    if plain {
        key.to_string()
    } else {
        quote(key)
    }
}

/// `"text"` with `"` and `\` escaped, as `dm_escape_double_quotes` does.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    out.push_str(&escape(s));
    out.push('"');
    out
}

/// Escape `"` and `\` with a backslash (the inverse of what the parser does
/// inside double quotes).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One value in config syntax; arrays on one line as lvm2 prints flag and
/// tag lists: `["READ", "WRITE"]`, `[]`.
pub fn format_value(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_float(*f),
        Value::Str(s) => quote(s),
        Value::Array(items) => {
            let mut out = String::from("[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&format_value(item));
            }
            out.push(']');
            out
        }
    }
}

/// Floats in a form both lvm2 and this parser read back exactly: plain
/// decimal digits with a point (libdm's tokenizer has no exponents).
fn format_float(f: f64) -> String {
    if !f.is_finite() {
        // Not representable in the syntax; the parser never produces these.
        return "0.0".to_string();
    }
    // Rust's Display for f64 is the shortest exact round-trip form and never
    // uses exponent notation.
    let mut s = f.to_string();
    if !s.contains('.') {
        s.push_str(".0");
    }
    s
}

// ---------------------------------------------------------------------------
// Parser

/// Parse config-tree text. Stops at the first NUL byte, if any.
pub fn parse(text: &str) -> Result<Section, ConfigError> {
    let text = match text.find('\0') {
        Some(nul) => &text[..nul],
        None => text,
    };
    let mut p = Parser {
        src: text.as_bytes(),
        text,
        pos: 0,
    };
    let mut root = Builder::default();
    loop {
        p.skip_space();
        if p.at_end() {
            break;
        }
        p.item(&mut root, 0)?;
    }
    Ok(root.finish())
}

/// A section under construction, with an index of its sub-sections so that
/// path keys (`a/b = 1`) find the section to extend in constant time even
/// when hostile input has thousands of siblings.
#[derive(Default)]
struct Builder {
    items: Vec<(String, BNode)>,
    sections: HashMap<String, usize>,
}

enum BNode {
    Value(Value),
    Section(Builder),
}

impl Builder {
    fn push_value(&mut self, key: String, v: Value) {
        self.items.push((key, BNode::Value(v)));
    }

    fn push_section(&mut self, key: String) -> &mut Builder {
        self.sections.insert(key.clone(), self.items.len());
        self.items.push((key, BNode::Section(Builder::default())));
        match &mut self.items.last_mut().expect("just pushed").1 {
            BNode::Section(b) => b,
            BNode::Value(_) => unreachable!(),
        }
    }

    /// The last sub-section called `key`, created if there is none (how
    /// lvm2 resolves each component of a path key).
    fn section_for_path(&mut self, key: &str) -> &mut Builder {
        match self.sections.get(key) {
            Some(&i) => match &mut self.items[i].1 {
                BNode::Section(b) => b,
                BNode::Value(_) => unreachable!("index only holds sections"),
            },
            None => self.push_section(key.to_string()),
        }
    }

    fn finish(self) -> Section {
        Section {
            items: self
                .items
                .into_iter()
                .map(|(k, n)| {
                    let node = match n {
                        BNode::Value(v) => Node::Value(v),
                        BNode::Section(b) => Node::Section(b.finish()),
                    };
                    (k, node)
                })
                .collect(),
        }
    }
}

struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
}

/// C's `isspace` (which libdm uses): unlike `u8::is_ascii_whitespace` it
/// includes the vertical tab.
fn is_space(c: u8) -> bool {
    c == b' ' || (b'\t'..=b'\r').contains(&c)
}

/// Characters that end a bare identifier or bare word (libdm's set).
fn ends_word(c: u8) -> bool {
    is_space(c) || matches!(c, b'#' | b'=' | b'{' | b'}')
}

impl<'a> Parser<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn error_at(&self, pos: usize, message: impl Into<String>) -> ConfigError {
        let mut pos = pos.min(self.text.len());
        while !self.text.is_char_boundary(pos) {
            pos -= 1;
        }
        let before = &self.text[..pos];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        ConfigError {
            line,
            column,
            message: message.into(),
        }
    }

    fn error(&self, message: impl Into<String>) -> ConfigError {
        self.error_at(self.pos, message)
    }

    /// A description of what is at the current position, for "expected X,
    /// found Y" messages.
    fn found(&self) -> String {
        let mut pos = self.pos.min(self.text.len());
        while !self.text.is_char_boundary(pos) {
            pos -= 1;
        }
        match self.text[pos..].chars().next() {
            None => "end of input".to_string(),
            Some(c) if c.is_control() => format!("{:?}", c),
            Some(c) => format!("'{c}'"),
        }
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'#' {
                while let Some(c) = self.peek() {
                    if c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else if is_space(c) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// `key = value` or `key { items }`, appended to `parent`.
    fn item(&mut self, parent: &mut Builder, depth: usize) -> Result<(), ConfigError> {
        let key_pos = self.pos;
        let (key, quoted) = self.key()?;
        // An unquoted key with '/' is a path: every component but the last
        // names a section (found or created), exactly as lvm2 does for
        // `--config 'global/activation=0'`.
        let mut parts: Vec<&str> = if quoted {
            vec![key.as_str()]
        } else {
            key.split('/').filter(|p| !p.is_empty()).collect()
        };
        let Some(last) = parts.pop() else {
            return Err(self.error_at(key_pos, "empty key"));
        };
        if depth + parts.len() >= MAX_DEPTH {
            return Err(self.error_at(
                key_pos,
                format!("sections nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let mut target = parent;
        for part in &parts {
            target = target.section_for_path(part);
        }
        let depth = depth + parts.len();
        let last = last.to_string();

        self.skip_space();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                if depth + 1 >= MAX_DEPTH {
                    return Err(
                        self.error(format!("sections nested deeper than {MAX_DEPTH} levels"))
                    );
                }
                // A section name that is already open at this level is
                // extended, not repeated: lvm2 merges duplicate sections
                // (`global {...} global/umask = 0 global {...}` is one
                // `global`), so lookups never depend on which copy is first.
                let section = target.section_for_path(&last);
                loop {
                    self.skip_space();
                    match self.peek() {
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        None => {
                            return Err(
                                self.error("expected '}' to close the section, found end of input")
                            )
                        }
                        Some(_) => self.item(section, depth + 1)?,
                    }
                }
            }
            Some(b'=') => {
                self.pos += 1;
                self.skip_space();
                let v = self.value()?;
                target.push_value(last, v);
                Ok(())
            }
            _ => Err(self.error(format!(
                "expected '=' or '{{' after key \"{key}\", found {}",
                self.found()
            ))),
        }
    }

    /// A key: a quoted string (never split into a path) or a bare
    /// identifier. Returns the key and whether it was quoted.
    fn key(&mut self) -> Result<(String, bool), ConfigError> {
        match self.peek() {
            Some(b'"') => Ok((self.dquoted()?, true)),
            Some(b'\'') => Ok((self.squoted()?, true)),
            Some(b'}') => Err(self.error("unexpected '}' (no section is open)")),
            Some(c) if ends_word(c) => {
                Err(self.error(format!("expected a key, found {}", self.found())))
            }
            Some(_) => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if ends_word(c) {
                        break;
                    }
                    self.pos += 1;
                }
                Ok((self.text[start..self.pos].to_string(), false))
            }
            None => Err(self.error("expected a key, found end of input")),
        }
    }

    /// `[ v, v, ... ]` or a single scalar.
    fn value(&mut self) -> Result<Value, ConfigError> {
        if self.peek() != Some(b'[') {
            return self.scalar(false);
        }
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                None => {
                    return Err(self.error("expected ']' to close the array, found end of input"))
                }
                Some(b'[') => return Err(self.error("arrays cannot be nested")),
                Some(_) => {
                    items.push(self.scalar(true)?);
                    self.skip_space();
                    // Commas are optional between elements, and a trailing
                    // one is allowed, as in libdm.
                    if self.peek() == Some(b',') {
                        self.pos += 1;
                    }
                }
            }
        }
    }

    fn scalar(&mut self, in_array: bool) -> Result<Value, ConfigError> {
        match self.peek() {
            Some(b'"') => Ok(Value::Str(self.dquoted()?)),
            Some(b'\'') => Ok(Value::Str(self.squoted()?)),
            Some(c) if c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.') => self.number(),
            Some(c) if ends_word(c) || c == b'[' || (in_array && matches!(c, b',' | b']')) => {
                Err(self.error(format!("expected a value, found {}", self.found())))
            }
            Some(_) => {
                // A bare word is a string (libdm's TOK_STRING_BARE). Inside
                // an array ',' and ']' also end it.
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if ends_word(c) || (in_array && matches!(c, b',' | b']')) {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(Value::Str(self.text[start..self.pos].to_string()))
            }
            None => Err(self.error("expected a value, found end of input")),
        }
    }

    /// `[+-]digits[.digits]` or `[+-].digits`: an Int unless it has a point.
    fn number(&mut self) -> Result<Value, ConfigError> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        let mut point = false;
        let mut digits = 0;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                digits += 1;
            } else if c == b'.' && !point {
                point = true;
            } else {
                break;
            }
            self.pos += 1;
        }
        let token = &self.text[start..self.pos];
        match self.peek() {
            None | Some(b',' | b']' | b'}' | b'#') => {}
            Some(c) if is_space(c) => {}
            Some(_) => {
                return Err(self.error(format!(
                    "invalid number: unexpected {} after \"{token}\"",
                    self.found()
                )))
            }
        }
        if digits == 0 {
            return Err(self.error_at(start, format!("invalid number \"{token}\"")));
        }
        if point {
            let f: f64 = token
                .parse()
                .map_err(|_| self.error_at(start, format!("invalid number \"{token}\"")))?;
            if !f.is_finite() {
                return Err(self.error_at(start, format!("number out of range: {token}")));
            }
            return Ok(Value::Float(f));
        }
        let (negative, unsigned) = match token.as_bytes()[0] {
            b'-' => (true, &token[1..]),
            b'+' => (false, &token[1..]),
            _ => (false, token),
        };
        // strtoll(.., 0): a leading 0 means octal (lvm.conf's `umask = 077`).
        let radix = if unsigned.len() > 1 && unsigned.starts_with('0') {
            8
        } else {
            10
        };
        let magnitude = i128::from_str_radix(unsigned, radix)
            .map_err(|_| self.error_at(start, format!("invalid number \"{token}\"")))?;
        let value = if negative { -magnitude } else { magnitude };
        i64::try_from(value)
            .map(Value::Int)
            .map_err(|_| self.error_at(start, format!("number out of range: {token}")))
    }

    /// A double-quoted string; only `\"` and `\\` are unescaped (as
    /// `dm_unescape_double_quotes` does), other backslashes stay.
    fn dquoted(&mut self) -> Result<String, ConfigError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chunk = self.pos;
        loop {
            match self.peek() {
                None => {
                    return Err(self.error_at(start, "unterminated string (missing '\"')"));
                }
                Some(b'"') => {
                    out.push_str(&self.text[chunk..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => match self.src.get(self.pos + 1) {
                    Some(&e @ (b'"' | b'\\')) => {
                        out.push_str(&self.text[chunk..self.pos]);
                        out.push(e as char);
                        self.pos += 2;
                        chunk = self.pos;
                    }
                    _ => self.pos += 1,
                },
                Some(_) => self.pos += 1,
            }
        }
    }

    /// A single-quoted string: no escapes at all.
    fn squoted(&mut self) -> Result<String, ConfigError> {
        let start = self.pos;
        self.pos += 1;
        let body = self.pos;
        while let Some(c) = self.peek() {
            if c == b'\'' {
                let s = self.text[body..self.pos].to_string();
                self.pos += 1;
                return Ok(s);
            }
            self.pos += 1;
        }
        Err(self.error_at(start, "unterminated string (missing \"'\")"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        parse(&format!("k = {text}"))
            .unwrap()
            .get_value("k")
            .unwrap()
            .clone()
    }

    #[test]
    fn scalars() {
        assert_eq!(v("42"), Value::Int(42));
        assert_eq!(v("-7"), Value::Int(-7));
        assert_eq!(v("+7"), Value::Int(7));
        assert_eq!(v("077"), Value::Int(63));
        assert_eq!(v("0"), Value::Int(0));
        assert_eq!(v("1.5"), Value::Float(1.5));
        assert_eq!(v(".5"), Value::Float(0.5));
        assert_eq!(v("-2."), Value::Float(-2.0));
        assert_eq!(
            v("\"a \\\"b\\\" \\\\ \\n\""),
            Value::Str("a \"b\" \\ \\n".into())
        );
        assert_eq!(v("'raw \\ \"'"), Value::Str("raw \\ \"".into()));
        assert_eq!(v("bare/word"), Value::Str("bare/word".into()));
        assert_eq!(v("9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(v("-9223372036854775808"), Value::Int(i64::MIN));
    }

    #[test]
    fn arrays() {
        assert_eq!(v("[]"), Value::Array(vec![]));
        assert_eq!(
            v("[ \"a\", 1, 2.5, ]"),
            Value::Array(vec!["a".into(), Value::Int(1), Value::Float(2.5)])
        );
        assert_eq!(
            v("[\"a\" \"b\"]"),
            Value::Array(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            v("[\n\t\"pv0\", 0,\n\t\"pv1\", 5\n]"),
            Value::Array(vec!["pv0".into(), 0.into(), "pv1".into(), 5.into()])
        );
        assert_eq!(v("[a,b]"), Value::Array(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn sections_comments_and_order() {
        let s = parse(
            "# top\nvg {\n\tid = \"x\" # trailing\n\tseqno = 3\n\tpvs {\n\t\tpv0 { a = 1 }\n\t}\n}\nz = 1\n",
        )
        .unwrap();
        let keys: Vec<_> = s.items.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["vg", "z"]);
        assert_eq!(s.find_str("vg/id"), Some("x"));
        assert_eq!(s.find_int("vg/pvs/pv0/a"), Some(1));
        assert_eq!(s.find("vg/nope"), None);
        assert_eq!(s.find_int("/vg//seqno"), Some(3));
    }

    #[test]
    fn compact_config_strings_and_paths() {
        let s =
            parse("global{activation=0} devices{obtain_device_list_from_udev=0 use_devicesfile=0}")
                .unwrap();
        assert_eq!(s.find_int("global/activation"), Some(0));
        assert_eq!(s.find_int("devices/use_devicesfile"), Some(0));

        let s = parse("global/activation = 0\nglobal/umask=077 global { x = 1 } a/b/c = \"d\"")
            .unwrap();
        assert_eq!(s.find_int("global/activation"), Some(0));
        assert_eq!(s.find_int("global/umask"), Some(63));
        assert_eq!(s.find_str("a/b/c"), Some("d"));
        // Path keys and the later `global {` block all built one `global`.
        assert_eq!(s.find_int("global/x"), Some(1));
        assert_eq!(s.items.len(), 2);
        assert_eq!(s.items[0].1.as_section().unwrap().items.len(), 3);
        // Quoted keys are never paths.
        let s = parse("\"a/b\" = 1").unwrap();
        assert_eq!(s.get_int("a/b"), Some(1));
    }

    #[test]
    fn nul_ends_the_text() {
        let s = parse("a = 1\n\0garbage {{{").unwrap();
        assert_eq!(s.get_int("a"), Some(1));
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("a = 1\nb = \n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1), "{e}");
        assert!(e.message.contains("expected a value"), "{e}");
        let e = parse("a {\n  b = 1\n").unwrap_err();
        assert!(e.message.contains("'}'"), "{e}");
        let e = parse("x = 12ab").unwrap_err();
        assert_eq!((e.line, e.column), (1, 7), "{e}");
        let e = parse("}").unwrap_err();
        assert!(e.to_string().starts_with("line 1, column 1:"), "{e}");
        let e = parse("a = \"open").unwrap_err();
        assert!(e.message.contains("unterminated"), "{e}");
        let e = parse("a = 99999999999999999999").unwrap_err();
        assert!(e.message.contains("out of range"), "{e}");
        let e = parse("a = [[1]]").unwrap_err();
        assert!(e.message.contains("nested"), "{e}");
        let e = parse("a b = 1").unwrap_err();
        assert!(e.message.contains("expected '=' or '{'"), "{e}");
        let e = parse("é = \n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1), "{e}");
        let e = parse("ab = 1 é =").unwrap_err();
        assert_eq!((e.line, e.column), (1, 11), "{e}");
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "a {".repeat(MAX_DEPTH) + &"}".repeat(MAX_DEPTH);
        assert!(parse(&deep).is_err());
        let ok = "a {".repeat(MAX_DEPTH - 1) + &"}".repeat(MAX_DEPTH - 1);
        assert!(parse(&ok).is_ok());
        let path = vec!["a"; MAX_DEPTH + 1].join("/") + " = 1";
        assert!(parse(&path).is_err());
        // Hostile: a very deep open nesting is rejected without recursing.
        let hostile = "a{".repeat(100_000);
        assert!(parse(&hostile).is_err());
    }

    #[test]
    fn many_path_siblings_are_fast() {
        let text: String = (0..50_000).map(|i| format!("k{i}/x = 1\n")).collect();
        let s = parse(&text).unwrap();
        assert_eq!(s.items.len(), 50_000);
    }

    #[test]
    fn print_round_trips() {
        let text = "vg {\n\tid = \"a\\\"b\"\n\tn = -3\n\tf = 0.25\n\tl = [\"x\", 1]\n\te = []\n\tsub {\n\t\t\"odd key\" = 'q'\n\t}\n}\n";
        let s = parse(text).unwrap();
        let printed = print(&s);
        assert_eq!(
            printed,
            "vg {\n\tid = \"a\\\"b\"\n\tn = -3\n\tf = 0.25\n\tl = [\"x\", 1]\n\te = []\n\tsub {\n\t\t\"odd key\" = \"q\"\n\t}\n}\n"
        );
        assert_eq!(parse(&printed).unwrap(), s);

        let mut odd = Section::new();
        odd.set_value("a/b", "x");
        odd.set_value("", 1);
        odd.set_value("#", Value::Float(1e21));
        odd.set_value("f", Value::Float(1e-7));
        odd.set_value("g", Value::Float(3.0));
        assert_eq!(parse(&print(&odd)).unwrap(), odd);
    }

    #[test]
    fn merge_layers() {
        let mut base =
            parse("global { activation = 1 umask = 077 } devices { scan = [\"/dev\"] }").unwrap();
        base.merge(parse("global{activation=0} log{verbose=1}").unwrap());
        assert_eq!(base.find_int("global/activation"), Some(0));
        assert_eq!(base.find_int("global/umask"), Some(63));
        assert_eq!(base.find_int("log/verbose"), Some(1));
        assert_eq!(
            base.find_value("devices/scan").unwrap().as_str_list(),
            Some(vec!["/dev"])
        );
    }

    #[test]
    fn section_editing() {
        let mut s = parse("a = 1 b = 2 a = 3").unwrap();
        assert_eq!(s.get_int("a"), Some(3));
        s.set_value("a", 4);
        assert_eq!(print(&s), "a = 1\nb = 2\na = 4\n");
        assert_eq!(s.remove("a"), Some(Node::Value(Value::Int(4))));
        assert_eq!(print(&s), "b = 2\n");
        assert_eq!(s.get_str_array("b"), None);
    }
}
