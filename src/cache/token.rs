//! The global token and flags, with lvm2 2.02's semantics.
//!
//! The token names the device filter the cache was populated with. A client
//! sends its own token with every request; when they differ the cache was
//! filled by someone filtering differently (or not at all, after a daemon
//! start: the initial token is empty) and the client must rescan. A full
//! rescan is bracketed by two `token_update`s: first to
//! [`TOKEN_UPDATE_IN_PROGRESS`] (requests from other processes are then
//! refused with a mismatch), then to the client's filter token. An update
//! that takes longer than the timeout its client gave is considered dead:
//! the next `get_global_info` resets the token to empty so that someone
//! repopulates the cache.
//!
//! Time is passed in (monotonic seconds) so this stays a pure state machine.

use std::collections::BTreeSet;

/// The token a client sets while it repopulates the cache.
pub const TOKEN_UPDATE_IN_PROGRESS: &str = "update in progress";
/// A token that matches any: for clients that only read and do not care
/// which filter populated the cache.
pub const TOKEN_SKIP: &str = "skip";

/// Why the cache is disabled (`global_disable`), as 2.02 names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DisableReason {
    /// A command wrote to disks while bypassing the daemon.
    Direct,
    /// A repair is in progress.
    Repair,
    /// Duplicate PVs (2.02 disabled itself for them; this cache does not,
    /// but a client may still set it).
    Duplicates,
    /// vgcfgrestore rewrote metadata.
    VgRestore,
}

impl DisableReason {
    pub const ALL: [DisableReason; 4] = [
        DisableReason::Direct,
        DisableReason::Repair,
        DisableReason::Duplicates,
        DisableReason::VgRestore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DisableReason::Direct => "DIRECT",
            DisableReason::Repair => "REPAIR",
            DisableReason::Duplicates => "DUPLICATES",
            DisableReason::VgRestore => "VGRESTORE",
        }
    }

    /// The reasons named anywhere in `text` (2.02 searched substrings, so
    /// `"DIRECT,REPAIR"` names two).
    pub fn parse_list(text: &str) -> Vec<DisableReason> {
        DisableReason::ALL
            .into_iter()
            .filter(|r| text.contains(r.as_str()))
            .collect()
    }
}

#[derive(Debug, Clone)]
struct Update {
    pid: i64,
    cmd: String,
    begin: u64,
    timeout: u64,
}

#[derive(Debug, Clone, Default)]
pub(super) struct TokenState {
    /// Empty until the first completed rescan ("none" in replies).
    token: String,
    update: Option<Update>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct GlobalFlags {
    invalid: bool,
    disabled: bool,
    /// Only meaningful while `disabled`; they accumulate and are all
    /// cleared when the cache is enabled again.
    reasons: BTreeSet<DisableReason>,
}

/// A `token_update` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenUpdate<'a> {
    pub token: &'a str,
    /// The client's process id (0 if unknown).
    pub pid: i64,
    /// The client's command name, for get_global_info.
    pub cmd: &'a str,
    /// Seconds the client's update may take. 0 means it never expires, but
    /// then nothing stops another client from taking over (as in 2.02).
    pub update_timeout: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUpdated {
    pub prev_token: String,
    /// The pid of the update now in progress (0 if none).
    pub update_pid: i64,
}

/// A request under a token that is not the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenMismatch {
    pub expected: String,
    pub received: String,
    pub update_pid: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenUpdateRefused {
    /// Another process's update is in progress and has not timed out
    /// (2.02's `token_updating` response).
    Updating { expected: String, update_pid: i64 },
    /// The caller's update was cancelled by a newer one: its final token
    /// is ignored.
    Mismatch(TokenMismatch),
}

/// `set_global_info`: `None` leaves a flag alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetGlobalInfo<'a> {
    pub global_invalid: Option<bool>,
    pub global_disable: Option<bool>,
    pub disable_reason: Option<&'a str>,
}

/// `get_global_info`'s answer (the front-end adds `daemon_pid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalInfo {
    pub global_invalid: bool,
    pub global_disable: bool,
    pub disable_reasons: Vec<DisableReason>,
    /// "none" when empty, as 2.02 replies.
    pub token: String,
    pub update_cmd: String,
    pub update_pid: i64,
    pub update_begin: u64,
    pub update_timeout: u64,
}

impl GlobalInfo {
    /// 2.02's `disable_reason` text: `"DIRECT,REPAIR,"`, or `"none"`.
    pub fn disable_reason_text(&self) -> String {
        if self.disable_reasons.is_empty() {
            return "none".to_string();
        }
        self.disable_reasons
            .iter()
            .map(|r| format!("{},", r.as_str()))
            .collect()
    }
}

impl TokenState {
    pub fn token(&self) -> &str {
        &self.token
    }

    fn update_pid(&self) -> i64 {
        self.update.as_ref().map_or(0, |u| u.pid)
    }

    fn mismatch(&self, received: &str) -> TokenMismatch {
        TokenMismatch {
            expected: self.token.clone(),
            received: received.to_string(),
            update_pid: self.update_pid(),
        }
    }

    pub fn check(&self, received: &str, pid: i64) -> Result<(), TokenMismatch> {
        if received != self.token && received != TOKEN_SKIP {
            return Err(self.mismatch(received));
        }
        // Requests of an updater whose update was taken over by another.
        if received == TOKEN_UPDATE_IN_PROGRESS {
            let current = self.update_pid();
            if current != 0 && pid != 0 && pid != current {
                return Err(self.mismatch(received));
            }
        }
        Ok(())
    }

    pub fn update(
        &mut self,
        req: TokenUpdate<'_>,
        now: u64,
    ) -> Result<TokenUpdated, TokenUpdateRefused> {
        let prev_in_progress = self.token == TOKEN_UPDATE_IN_PROGRESS;
        let this_in_progress = req.token == TOKEN_UPDATE_IN_PROGRESS;
        let prev_token = self.token.clone();
        let begin = |s: &mut TokenState| {
            s.token = req.token.to_string();
            s.update = Some(Update {
                pid: req.pid,
                cmd: req.cmd.to_string(),
                begin: now,
                timeout: req.update_timeout,
            });
        };
        match (prev_in_progress, this_in_progress) {
            (false, true) => begin(self),
            (true, true) => {
                let u = self.update.as_ref();
                let gap = u.map_or(u64::MAX, |u| now.saturating_sub(u.begin));
                if u.is_some_and(|u| gap < u.timeout) {
                    return Err(TokenUpdateRefused::Updating {
                        expected: self.token.clone(),
                        update_pid: self.update_pid(),
                    });
                }
                // The running update is presumed dead: this one replaces it.
                begin(self);
            }
            (true, false) => {
                if self.update_pid() != req.pid {
                    return Err(TokenUpdateRefused::Mismatch(self.mismatch(req.token)));
                }
                self.token = req.token.to_string();
                self.update = None;
            }
            // 2.02 only changes the filter token at the end of a rescan: a
            // direct change is accepted and ignored (the cache's content
            // still matches the old filter).
            (false, false) => {
                return Ok(TokenUpdated {
                    prev_token: String::new(),
                    update_pid: self.update_pid(),
                })
            }
        }
        Ok(TokenUpdated {
            prev_token,
            update_pid: self.update_pid(),
        })
    }

    /// Cancel an update that outlived its timeout (2.02 does it when
    /// global info is read).
    pub fn expire(&mut self, now: u64) {
        if let Some(u) = &self.update {
            if u.timeout > 0 && now.saturating_sub(u.begin) >= u.timeout {
                self.token.clear();
                self.update = None;
            }
        }
    }
}

impl GlobalFlags {
    pub fn invalid(&self) -> bool {
        self.invalid
    }

    pub fn disabled(&self) -> bool {
        self.disabled
    }

    pub fn set(&mut self, req: SetGlobalInfo<'_>) {
        if let Some(v) = req.global_invalid {
            self.invalid = v;
        }
        match req.global_disable {
            Some(true) => {
                self.disabled = true;
                self.reasons
                    .extend(DisableReason::parse_list(req.disable_reason.unwrap_or("")));
            }
            Some(false) => {
                self.disabled = false;
                self.reasons.clear();
            }
            None => {}
        }
    }

    pub fn info(&self, token: &TokenState) -> GlobalInfo {
        let u = token.update.as_ref();
        GlobalInfo {
            global_invalid: self.invalid,
            global_disable: self.disabled,
            disable_reasons: if self.disabled {
                self.reasons.iter().copied().collect()
            } else {
                Vec::new()
            },
            token: if token.token.is_empty() {
                "none".to_string()
            } else {
                token.token.clone()
            },
            update_cmd: u.map(|u| u.cmd.clone()).unwrap_or_default(),
            update_pid: u.map_or(0, |u| u.pid),
            update_begin: u.map_or(0, |u| u.begin),
            update_timeout: u.map_or(0, |u| u.timeout),
        }
    }
}
