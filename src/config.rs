//! lvm.conf: the configuration a command runs with.
//!
//! lvm2 reads `$LVM_SYSTEM_DIR/lvm.conf` (default `/etc/lvm/lvm.conf`) and
//! layers every `--config` string on top of it. Both use the config-tree
//! syntax of [`crate::format::config`]. This module only loads and looks
//! up values; what each setting means is decided where it is used.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::format::config::{self, Node, Section, Value};

pub const DEFAULT_SYSTEM_DIR: &str = "/etc/lvm";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    ParseFile {
        path: PathBuf,
        source: config::ConfigError,
    },
    #[error("invalid --config \"{text}\": {source}")]
    ParseArg {
        text: String,
        source: config::ConfigError,
    },
}

/// The merged configuration: lvm.conf with `--config` strings on top.
#[derive(Debug, Clone, Default)]
pub struct Config {
    tree: Section,
}

/// The lvm.conf path lvm2 would use: `$LVM_SYSTEM_DIR/lvm.conf`.
pub fn system_config_path() -> PathBuf {
    let dir = std::env::var_os("LVM_SYSTEM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SYSTEM_DIR));
    dir.join("lvm.conf")
}

impl Config {
    /// Load lvm.conf (a missing file is an empty config, as for lvm2) and
    /// apply each `--config` string in order.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Config, ConfigError> {
        let mut cfg = match std::fs::read_to_string(path) {
            Ok(text) => Config::from_text(&text).map_err(|source| ConfigError::ParseFile {
                path: path.to_path_buf(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        for text in overrides {
            let layer = config::parse(text).map_err(|source| ConfigError::ParseArg {
                text: text.clone(),
                source,
            })?;
            merge(&mut cfg.tree, layer);
        }
        Ok(cfg)
    }

    pub fn from_text(text: &str) -> Result<Config, config::ConfigError> {
        Ok(Config {
            tree: config::parse(text)?,
        })
    }

    /// Look a value up by its `section/key` path.
    pub fn value(&self, path: &str) -> Option<&Value> {
        let mut section = &self.tree;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            // Later items win, as when lvm2 merges config layers.
            let node = section.items.iter().rev().find(|(k, _)| k == part)?;
            match (&node.1, parts.peek()) {
                (Node::Section(s), Some(_)) => section = s,
                (Node::Value(v), None) => return Some(v),
                _ => return None,
            }
        }
        None
    }

    pub fn int(&self, path: &str, default: i64) -> i64 {
        match self.value(path) {
            Some(Value::Int(i)) => *i,
            Some(Value::Float(f)) => *f as i64,
            _ => default,
        }
    }

    pub fn bool(&self, path: &str, default: bool) -> bool {
        self.int(path, default as i64) != 0
    }

    pub fn str(&self, path: &str) -> Option<&str> {
        match self.value(path) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A string list setting; a single string counts as a one-element list.
    pub fn str_list(&self, path: &str) -> Option<Vec<String>> {
        match self.value(path)? {
            Value::Str(s) => Some(vec![s.clone()]),
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(|v| match v {
                        Value::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// Merge `layer` into `base`: sections merge recursively, values replace.
fn merge(base: &mut Section, layer: Section) {
    for (key, node) in layer.items {
        let existing = base.items.iter_mut().rev().find(|(k, _)| *k == key);
        match (existing, node) {
            (Some((_, Node::Section(b))), Node::Section(l)) => merge(b, l),
            (Some((_, slot)), node) => *slot = node,
            (None, node) => base.items.push((key, node)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_layer_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lvm.conf");
        std::fs::write(
            &path,
            "global {\n\tactivation = 1\n\tumask = 63\n}\ndevices { scan = [ \"/dev\" ] }\n",
        )
        .unwrap();
        let cfg = Config::load(
            &path,
            &["global{activation=0} devices{use_devicesfile=0}".to_string()],
        )
        .unwrap();
        assert!(!cfg.bool("global/activation", true));
        assert_eq!(cfg.int("global/umask", 0), 63);
        assert!(!cfg.bool("devices/use_devicesfile", true));
        assert_eq!(cfg.str_list("devices/scan").unwrap(), vec!["/dev"]);
        assert!(cfg.bool("global/missing", true));
    }

    #[test]
    fn a_missing_file_is_an_empty_config_but_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::load(&dir.path().join("nope.conf"), &[]).unwrap();
        assert_eq!(cfg.int("global/umask", 7), 7);
        let bad = dir.path().join("bad.conf");
        std::fs::write(&bad, "global { activation = \n").unwrap();
        let err = Config::load(&bad, &[]).unwrap_err().to_string();
        assert!(err.contains("bad.conf"), "{err}");
        let err = Config::load(&dir.path().join("x"), &["global{".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--config"), "{err}");
    }
}
