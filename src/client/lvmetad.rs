//! A session with lvmetad: typed requests under the client's token, and
//! the token protocol of lvm2 2.02.
//!
//! Every request carries the token (`filter:<crc>`, see
//! [`super::settings::token`]). A daemon whose token differs — freshly
//! started (empty token), fed under another device filter, or told to
//! forget its data after a failed update — answers `token_mismatch`, and
//! the session rebuilds the daemon's cache before retrying the request
//! once more:
//!
//! 1. `token_update` with token `"update in progress"`;
//! 2. `pv_clear_all`;
//! 3. `pv_found` for every PV a disk scan finds (the devices of the whole
//!    system filtered by lvm.conf, never a command's `--devices`);
//! 4. `token_update` with the real token.
//!
//! While another client rescans, the daemon's token is `"update in
//! progress"` and its mismatch reply says so (`expected = "update in
//! progress"`, or a reason naming it): the session then waits, retrying
//! with a growing pause, up to `update_wait_time`; if the other rescan
//! never finishes (its client died), it rescans itself. A daemon that
//! refuses to let it take over (its own timeout for the other update has
//! not run out: the `token_update` answer names the update in progress)
//! is given [`TAKEOVER_GRACE`] more before the session gives up.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::pvmeta::{self, pv_meta, vg_metadata};
use super::settings::Settings;
use super::socket::{expect_ok, ClientError, Connection};
use super::view;
use crate::device::scan::{scan_device, DevScan, PvScan, Scan};
use crate::format::config::Section;
use crate::model::Vg;
use crate::protocol::{
    get_int, get_str, Message, PvMeta, Reply, Request, Response, TOKEN_UPDATE_IN_PROGRESS,
};

/// The token set after an update the daemon may have missed: anything but
/// a real token or "update in progress" makes the next client rescan at
/// once.
pub const TOKEN_INVALID: &str = "invalid: update failed, rescan needed";

/// How much longer than `update_wait_time` a session waits when the
/// daemon will not let it take over another client's rescan yet.
pub const TAKEOVER_GRACE: Duration = Duration::from_secs(30);

/// Lists the devices a full rescan reads.
pub type DeviceLister = Box<dyn Fn() -> Vec<PathBuf>>;

/// What a full rescan did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RescanReport {
    /// Devices read.
    pub devices: usize,
    /// PVs sent with pv_found.
    pub pvs: usize,
    /// Devices that could not be read or PVs the daemon refused.
    pub problems: Vec<String>,
}

pub struct Lvmetad {
    conn: Connection,
    token: String,
    update_wait: Duration,
    devices: DeviceLister,
    /// Full rescans this session did (the token protocol's, and explicit).
    pub rescans: u32,
    /// Problems of the last rescan, for the caller to show.
    pub rescan_problems: Vec<String>,
}

/// Whether a refusal (token_mismatch, or a refused token_update) says
/// another client is rescanning.
pub fn update_in_progress(reply: &Reply) -> bool {
    reply.response != Response::Ok
        && (get_str(&reply.body, "expected") == Some(TOKEN_UPDATE_IN_PROGRESS)
            || reply
                .reason
                .as_deref()
                .is_some_and(|r| r.contains(TOKEN_UPDATE_IN_PROGRESS)))
}

/// The pv_found request for a scanned PV, and a warning when its metadata
/// could not be read (the PV is then sent without it).
pub fn pv_found_request(pv: &PvScan) -> (Request, Option<String>) {
    let (vg, warning) = match vg_metadata(pv) {
        Ok(v) => (v, None),
        Err(e) => (None, Some(e)),
    };
    let (vgname, metadata) = match vg {
        Some((n, m)) => (Some(n), Some(m)),
        None => (None, None),
    };
    (
        Request::PvFound {
            pv: pv_meta(pv),
            vgname,
            metadata,
        },
        warning,
    )
}

/// The device of a PV the daemon knows: its name hint while that still is
/// the same device, else the current name of its device number, else the
/// hint.
pub fn device_path(meta: &PvMeta) -> PathBuf {
    let hint = PathBuf::from(&meta.device_name);
    match pvmeta::split_devno(meta.device) {
        None => hint,
        Some((major, minor)) => {
            if pvmeta::devno_of_path(&hint) == Some(meta.device) {
                hint
            } else {
                pvmeta::path_of_devno(major, minor).unwrap_or(hint)
            }
        }
    }
}

impl Lvmetad {
    /// Connect as `settings` say; `devices` lists what a full rescan reads.
    pub fn connect(settings: &Settings, devices: DeviceLister) -> Result<Lvmetad, ClientError> {
        let conn = Connection::connect(&settings.socket, settings.timeout)?;
        Ok(Lvmetad::from_connection(
            conn,
            &settings.token,
            settings.update_wait,
            devices,
        ))
    }

    pub fn from_connection(
        conn: Connection,
        token: &str,
        update_wait: Duration,
        devices: DeviceLister,
    ) -> Lvmetad {
        Lvmetad {
            conn,
            token: token.to_string(),
            update_wait,
            devices,
            rescans: 0,
            rescan_problems: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.conn.path()
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    fn send(&mut self, request: &Request, token: &str) -> Result<Reply, ClientError> {
        log::trace!("lvmetad: {} (token {token})", request.name());
        self.conn.request(&Message {
            request: request.clone(),
            token: Some(token.to_string()),
        })
    }

    fn send_ok(&mut self, request: &Request, token: &str) -> Result<Reply, ClientError> {
        let reply = self.send(request, token)?;
        expect_ok(self.conn.path(), request.name(), reply)
    }

    /// Send `request` under the session's token; on `token_mismatch`,
    /// wait for another client's rescan or rescan, then retry. The reply
    /// is returned whatever its response, except a mismatch that survives
    /// two rescans.
    pub fn request(&mut self, request: Request) -> Result<Reply, ClientError> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(20);
        let mut wait = |limit: Duration| -> bool {
            let waited = start.elapsed();
            if waited >= limit {
                return false;
            }
            std::thread::sleep(pause.min(limit - waited));
            pause = (pause * 2).min(Duration::from_millis(500));
            true
        };
        let mut rescans = 0;
        loop {
            let token = self.token.clone();
            let reply = self.send(&request, &token)?;
            if reply.response != Response::TokenMismatch {
                return Ok(reply);
            }
            if update_in_progress(&reply) && wait(self.update_wait) {
                log::debug!(
                    "lvmetad at {} is being updated by another command; retrying",
                    self.path().display()
                );
                continue;
            }
            if rescans >= 2 {
                return Err(ClientError::TokenMismatch {
                    path: self.path().to_path_buf(),
                    token,
                });
            }
            log::debug!(
                "lvmetad at {}: token mismatch (daemon has \"{}\", we have \"{token}\"): rescanning",
                self.path().display(),
                get_str(&reply.body, "expected").unwrap_or("?")
            );
            match self.rescan() {
                Ok(_) => rescans += 1,
                Err(ClientError::UpdateInProgress { .. })
                    if wait(self.update_wait + TAKEOVER_GRACE) => {}
                Err(ClientError::UpdateInProgress { path, .. }) => {
                    return Err(ClientError::UpdateInProgress {
                        path,
                        secs: start.elapsed().as_secs(),
                    })
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// [`Lvmetad::request`], requiring an `OK` reply.
    pub fn request_ok(&mut self, request: Request) -> Result<Reply, ClientError> {
        let name = request.name();
        let reply = self.request(request)?;
        expect_ok(self.conn.path(), name, reply)
    }

    /// Rebuild the daemon's whole cache from the disks (`pvscan --cache`).
    pub fn rescan(&mut self) -> Result<RescanReport, ClientError> {
        let paths = (self.devices)();
        let busy = TOKEN_UPDATE_IN_PROGRESS;
        let reply = self.send(&Request::TokenUpdate, busy)?;
        if update_in_progress(&reply) {
            // Another client's rescan, and the daemon does not consider it
            // dead yet.
            return Err(ClientError::UpdateInProgress {
                path: self.path().to_path_buf(),
                secs: 0,
            });
        }
        expect_ok(self.conn.path(), "token_update", reply)?;
        self.send_ok(&Request::PvClearAll, busy)?;
        let mut report = RescanReport {
            devices: paths.len(),
            ..RescanReport::default()
        };
        for path in &paths {
            let pv = match scan_device(path) {
                DevScan::Pv(pv) => pv,
                DevScan::NotPv => continue,
                DevScan::Error(e) => {
                    report.problems.push(e);
                    continue;
                }
            };
            let (req, warning) = pv_found_request(&pv);
            report.problems.extend(warning);
            let reply = self.send(&req, busy)?;
            match expect_ok(self.conn.path(), "pv_found", reply) {
                Ok(_) => report.pvs += 1,
                Err(e) => report.problems.push(format!("{}: {e}", path.display())),
            }
        }
        // The real token goes back even when some PV was refused: the
        // daemon then holds everything else, and a refusal that repeats
        // must not make every later command rescan.
        let token = self.token.clone();
        let reply = self.send(&Request::TokenUpdate, &token)?;
        if update_in_progress(&reply) {
            // Another client took the update over (the daemon thought this
            // one dead): its rescan finishes the job.
            log::debug!(
                "lvmetad at {}: rescan taken over by another command",
                self.path().display()
            );
        } else {
            expect_ok(self.conn.path(), "token_update", reply)?;
        }
        self.rescans += 1;
        self.rescan_problems = report.problems.clone();
        Ok(report)
    }

    /// Tell the daemon about a scanned PV (with the VG metadata it holds).
    pub fn pv_found(&mut self, pv: &PvScan) -> Result<Reply, ClientError> {
        let (req, warning) = pv_found_request(pv);
        if let Some(w) = warning {
            log::warn!("{w}");
        }
        self.request_ok(req)
    }

    /// pv_found from parts (a PV whose label changed without a rescan).
    pub fn pv_found_meta(
        &mut self,
        pv: PvMeta,
        vg: Option<(String, Section)>,
    ) -> Result<Reply, ClientError> {
        let (vgname, metadata) = match vg {
            Some((n, m)) => (Some(n), Some(m)),
            None => (None, None),
        };
        self.request_ok(Request::PvFound {
            pv,
            vgname,
            metadata,
        })
    }

    /// Forget the PV on `device`; returns whether the daemon knew it.
    pub fn pv_gone(&mut self, device: u64) -> Result<bool, ClientError> {
        let reply = self.request(Request::PvGone {
            device: Some(device),
            uuid: None,
        })?;
        match reply.response {
            Response::Ok => Ok(true),
            Response::Unknown => Ok(false),
            _ => expect_ok(self.conn.path(), "pv_gone", reply).map(|_| true),
        }
    }

    /// The PVs the daemon knows.
    pub fn pv_list(&mut self) -> Result<Vec<PvMeta>, ClientError> {
        let reply = self.request_ok(Request::PvList)?;
        let (pvs, warnings) = view::pvs_from_list(&reply.body);
        for w in warnings {
            log::warn!("{w}");
        }
        Ok(pvs)
    }

    /// A VG's name and metadata section, by name or id; None if unknown.
    pub fn vg_lookup(
        &mut self,
        name: Option<&str>,
        uuid: Option<&str>,
    ) -> Result<Option<(String, Section)>, ClientError> {
        let reply = self.request(Request::VgLookup {
            uuid: uuid.map(str::to_string),
            name: name.map(str::to_string),
        })?;
        if reply.response == Response::Unknown {
            return Ok(None);
        }
        let reply = expect_ok(self.conn.path(), "vg_lookup", reply)?;
        match view::vg_from_lookup(&reply.body, name) {
            Some(v) => Ok(Some(v)),
            None => Err(ClientError::BadReply {
                path: self.path().to_path_buf(),
                why: "vg_lookup reply without name or metadata".into(),
            }),
        }
    }

    /// The seqno of the daemon's copy of a VG, None if it has none.
    pub fn vg_seqno(&mut self, name: &str) -> Result<Option<u64>, ClientError> {
        Ok(self
            .vg_lookup(Some(name), None)?
            .and_then(|(_, m)| get_int(&m, "seqno"))
            .map(|s| s.max(0) as u64))
    }

    /// Send a VG's new metadata.
    pub fn vg_update(&mut self, vg: &Vg) -> Result<Reply, ClientError> {
        self.request_ok(Request::VgUpdate {
            vgname: vg.name.clone(),
            metadata: vg.to_config(),
        })
    }

    pub fn vg_remove(&mut self, vgid: &str) -> Result<Reply, ClientError> {
        self.request_ok(Request::VgRemove {
            uuid: vgid.to_string(),
        })
    }

    /// Everything the daemon knows as a [`Scan`] (see [`view`]).
    pub fn scan(&mut self, accept: impl Fn(&Path) -> bool) -> Result<Scan, ClientError> {
        let pvs = self.pv_list()?;
        let list = self.request_ok(Request::VgList)?;
        let mut vgs = Vec::new();
        for (id, name) in view::vgs_from_list(&list.body) {
            // Gone since the list (a concurrent vgremove) is fine.
            if let Some(vg) = self.vg_lookup(None, Some(&id))? {
                vgs.push(vg);
            } else if let Some(n) = name {
                log::debug!("lvmetad: VG {n} ({id}) vanished while listing");
            }
        }
        Ok(view::build_scan(&pvs, &vgs, device_path, accept))
    }

    /// Make the next client rebuild the daemon's cache: after an update
    /// the daemon may have missed, its data cannot be trusted.
    pub fn invalidate(&mut self) -> Result<(), ClientError> {
        self.send_ok(&Request::TokenUpdate, TOKEN_INVALID)
            .map(|_| ())
    }
}
