//! What every connection shares: the cache behind a mutex, a change
//! counter that `vg_wait` watches, and a broadcast of the cache's events
//! for the front-ends that announce them (the D-Bus service).
//!
//! The mutex is std's, held only while one request is applied (never
//! across an await), so a slow client cannot hold up the others.

use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::{broadcast, watch};

use super::handler;
use crate::cache::{Cache, Event};
use crate::protocol::{Message, Reply};

pub struct Shared {
    cache: Mutex<Cache>,
    /// Bumped after every request that produced events.
    changes: watch::Sender<u64>,
    /// Every event, in order, for whoever listens.
    pub events: broadcast::Sender<Event>,
    started: Instant,
    /// When STATUS= was last sent: at most once a second, since building
    /// it walks the whole cache.
    last_status: Mutex<Option<Instant>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared::new()
    }
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            cache: Mutex::new(Cache::new()),
            changes: watch::channel(0).0,
            events: broadcast::channel(4096).0,
            started: Instant::now(),
            last_status: Mutex::new(None),
        }
    }

    /// Monotonic seconds since the daemon started (the cache's clock).
    pub fn now(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Apply one request from the client with process id `pid`.
    pub fn apply(&self, msg: Message, pid: i64) -> Reply {
        let (reply, events, status) = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            let (reply, events) = handler::handle(&mut cache, msg, pid, self.now());
            let status = (!events.is_empty() && self.status_due()).then(|| status_line(&cache));
            (reply, events, status)
        };
        if let Some(status) = status {
            super::systemd::notify(&[sd_notify::NotifyState::Status(&status)]);
        }
        if !events.is_empty() {
            for e in &events {
                log::info!("{}", handler::describe(e));
                // No receiver is fine: nobody is listening yet.
                let _ = self.events.send(e.clone());
            }
            self.changes.send_modify(|n| *n += 1);
        }
        reply
    }

    fn status_due(&self) -> bool {
        let mut last = self.last_status.lock().unwrap_or_else(|p| p.into_inner());
        let due = last.is_none_or(|t| t.elapsed().as_secs() >= 1);
        if due {
            *last = Some(Instant::now());
        }
        due
    }

    /// Look at the cache without changing it.
    pub fn with_cache<T>(&self, f: impl FnOnce(&Cache) -> T) -> T {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        f(&cache)
    }

    pub fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// systemd's STATUS= line: what the cache holds now.
fn status_line(cache: &Cache) -> String {
    let vgs = cache.vg_list();
    let complete = vgs.iter().filter(|v| v.complete).count();
    format!(
        "{} VGs ({complete} complete), {} PVs",
        vgs.len(),
        cache.pv_list().len()
    )
}
