//! Parsing device-mapper target status (`dmsetup status`, the
//! `DM_TABLE_STATUS` ioctl): dm-raid's health and sync state, and the
//! linear/striped targets lvm2 builds RAID LVs from.
//!
//! dm-raid's status line (Documentation/admin-guide/device-mapper/
//! dm-raid.rst) is
//! `<raid_type> <#devices> <health_chars> <sync_ratio> <sync_action>
//! <mismatch_cnt> <data_offset> <journal_char>`; older targets stop after
//! the sync ratio (before 1.5.0), the mismatch count (before 1.9.0) or the
//! data offset (before 1.10.0), so the trailing fields are optional.

use crate::report::RaidStatus;

/// One line of `dmsetup status`: `[name: ]start length target params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// The device name, when the line has the `name: ` prefix `dmsetup`
    /// prints for several devices.
    pub name: Option<String>,
    pub start: u64,
    pub length: u64,
    pub target_type: String,
    pub params: String,
}

/// What a target's status says, for the targets this project builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetStatus {
    /// `linear` reports nothing.
    Linear,
    /// `striped`: `<#stripes> <dev>... 1 <health chars>`.
    Striped {
        devices: Vec<String>,
        /// `A` alive, `D` dead, one per stripe.
        health: String,
    },
    Raid(DmRaidStatus),
    /// Any other target, parameters verbatim.
    Other {
        target_type: String,
        params: String,
    },
}

/// The status of a dm-raid target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmRaidStatus {
    /// The target's name for the layout (`raid5_ls`, `raid0` for
    /// raid0_meta too, `raid10`).
    pub raid_type: String,
    pub devices: u32,
    /// One character per device: `A` alive and in sync, `a` alive but not
    /// in sync, `D` dead/failed.
    pub health: String,
    pub in_sync: u64,
    pub total: u64,
    /// `idle`, `frozen`, `resync`, `recover`, `check`, `repair`,
    /// `reshape`, `undef`; `None` before dm-raid 1.5.0.
    pub sync_action: Option<String>,
    pub mismatch_count: Option<u64>,
    /// In sectors (dm-raid 1.9.0+).
    pub data_offset: Option<u64>,
    /// `A`/`D` for a write journal device, `-` without one (1.10.0+).
    pub journal: Option<char>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse device-mapper status {line:?}: {reason}")]
pub struct StatusError {
    pub line: String,
    pub reason: &'static str,
}

fn err(line: &str, reason: &'static str) -> StatusError {
    StatusError {
        line: line.to_string(),
        reason,
    }
}

/// Parse one line of `dmsetup status` (with or without the `name: `
/// prefix).
pub fn parse_status_line(line: &str) -> Result<StatusLine, StatusError> {
    let line = line.trim_end_matches('\n');
    // `dmsetup status` prefixes `name: ` when it lists several devices;
    // no target status this project parses contains ": ".
    let (name, rest) = match line.split_once(": ") {
        Some((n, r)) => (Some(n.to_string()), r),
        None => (None, line),
    };
    let mut it = rest.splitn(4, ' ');
    let start = it
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| err(line, "bad start"))?;
    let length = it
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| err(line, "bad length"))?;
    let target_type = it
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err(line, "no target type"))?
        .to_string();
    let params = it.next().unwrap_or("").trim().to_string();
    Ok(StatusLine {
        name,
        start,
        length,
        target_type,
        params,
    })
}

impl StatusLine {
    /// Interpret the parameters for the target type.
    pub fn status(&self) -> Result<TargetStatus, StatusError> {
        match self.target_type.as_str() {
            "linear" => Ok(TargetStatus::Linear),
            "striped" => parse_striped(&self.params),
            "raid" => DmRaidStatus::parse(&self.params).map(TargetStatus::Raid),
            _ => Ok(TargetStatus::Other {
                target_type: self.target_type.clone(),
                params: self.params.clone(),
            }),
        }
    }
}

fn parse_striped(params: &str) -> Result<TargetStatus, StatusError> {
    let w: Vec<&str> = params.split_whitespace().collect();
    let n: usize = w
        .first()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| err(params, "bad stripe count"))?;
    if w.len() < 1 + n {
        return Err(err(params, "too few stripes"));
    }
    let devices = w[1..1 + n].iter().map(|s| s.to_string()).collect();
    // Then "1 <health chars>" (kernel 4.x+); absent on old kernels.
    let health = match &w[1 + n..] {
        [] => String::new(),
        [_, h] if h.len() == n => h.to_string(),
        _ => return Err(err(params, "bad stripe health")),
    };
    Ok(TargetStatus::Striped { devices, health })
}

impl DmRaidStatus {
    /// Parse the parameters of a `raid` status line (after `raid`).
    pub fn parse(params: &str) -> Result<DmRaidStatus, StatusError> {
        let w: Vec<&str> = params.split_whitespace().collect();
        if w.len() < 4 {
            return Err(err(params, "too few fields"));
        }
        let devices: u32 = w[1].parse().map_err(|_| err(params, "bad device count"))?;
        let health = w[2].to_string();
        // After a reshape that removed devices the kernel reports the new
        // count with the health of every device it still holds.
        if health.len() < devices as usize
            || !health.chars().all(|c| matches!(c, 'A' | 'a' | 'D' | '-'))
        {
            return Err(err(params, "bad health characters"));
        }
        let (a, b) = w[3]
            .split_once('/')
            .ok_or_else(|| err(params, "bad sync ratio"))?;
        let in_sync = a.parse().map_err(|_| err(params, "bad sync ratio"))?;
        let total = b.parse().map_err(|_| err(params, "bad sync ratio"))?;
        let num = |i: usize, why| -> Result<Option<u64>, StatusError> {
            w.get(i)
                .map(|s| s.parse().map_err(|_| err(params, why)))
                .transpose()
        };
        let journal = match w.get(7) {
            None => None,
            Some(s) if s.chars().count() == 1 => s.chars().next(),
            Some(_) => return Err(err(params, "bad journal character")),
        };
        Ok(DmRaidStatus {
            raid_type: w[0].to_string(),
            devices,
            health,
            in_sync,
            total,
            sync_action: w.get(4).map(|s| s.to_string()),
            mismatch_count: num(5, "bad mismatch count")?,
            data_offset: num(6, "bad data offset")?,
            journal,
        })
    }

    /// Every device alive and in sync, nothing running.
    pub fn is_in_sync(&self) -> bool {
        self.health.chars().all(|c| c == 'A')
            && self.in_sync == self.total
            && self.sync_action.as_deref().is_none_or(|a| a == "idle")
    }

    /// Devices the target reports dead.
    pub fn failed_devices(&self) -> Vec<usize> {
        self.health
            .char_indices()
            .filter(|(_, c)| *c == 'D')
            .map(|(i, _)| i)
            .collect()
    }

    /// What the `lvs` report shows.
    pub fn to_report(&self) -> RaidStatus {
        RaidStatus {
            health: self.health.clone(),
            in_sync: self.in_sync,
            total: self.total,
            sync_action: self.sync_action.clone().unwrap_or_default(),
            mismatch_count: self.mismatch_count.unwrap_or(0),
        }
    }
}

impl From<&DmRaidStatus> for RaidStatus {
    fn from(s: &DmRaidStatus) -> RaidStatus {
        s.to_report()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raid_line(text: &str) -> DmRaidStatus {
        let l = text
            .lines()
            .map(|l| parse_status_line(l).unwrap())
            .find(|l| l.target_type == "raid")
            .unwrap();
        match l.status().unwrap() {
            TargetStatus::Raid(r) => r,
            s => panic!("{s:?}"),
        }
    }

    #[test]
    fn golden_just_created_vs_synced() {
        let created = include_str!(
            "../../tests/fixtures/dm-golden/raid6_zr/1-just-created.dmsetup-status.txt"
        );
        let synced =
            include_str!("../../tests/fixtures/dm-golden/raid6_zr/2-synced.dmsetup-status.txt");
        let c = raid_line(created);
        assert_eq!(
            c,
            DmRaidStatus {
                raid_type: "raid6_zr".into(),
                devices: 5,
                health: "aaaaa".into(),
                in_sync: 15480,
                total: 16384,
                sync_action: Some("resync".into()),
                mismatch_count: Some(0),
                data_offset: Some(0),
                journal: Some('-'),
            }
        );
        assert!(!c.is_in_sync());
        let s = raid_line(synced);
        assert_eq!(s.health, "AAAAA");
        assert_eq!((s.in_sync, s.total), (16384, 16384));
        assert_eq!(s.sync_action.as_deref(), Some("idle"));
        assert!(s.is_in_sync());
        assert_eq!(
            s.to_report(),
            RaidStatus {
                health: "AAAAA".into(),
                in_sync: 16384,
                total: 16384,
                sync_action: "idle".into(),
                mismatch_count: 0,
            }
        );

        let r5 = raid_line(include_str!(
            "../../tests/fixtures/dm-golden/raid5_all/1-just-created.dmsetup-status.txt"
        ));
        assert_eq!(r5.raid_type, "raid5_ls");
        assert_eq!((r5.in_sync, r5.total), (22616, 32768));
        let r0 = raid_line(include_str!(
            "../../tests/fixtures/dm-golden/raid0_meta/2-synced.dmsetup-status.txt"
        ));
        assert_eq!(r0.raid_type, "raid0");
        assert!(r0.is_in_sync());
    }

    #[test]
    fn linear_and_striped() {
        let l = parse_status_line("vg0-raid5_rimage_0: 0 16384 linear ").unwrap();
        assert_eq!(l.name.as_deref(), Some("vg0-raid5_rimage_0"));
        assert_eq!((l.start, l.length), (0, 16384));
        assert_eq!(l.status().unwrap(), TargetStatus::Linear);
        let l = parse_status_line(include_str!(
            "../../tests/fixtures/dm-golden/striped/1-just-created.dmsetup-status.txt"
        ))
        .unwrap();
        assert_eq!(
            l.status().unwrap(),
            TargetStatus::Striped {
                devices: vec!["254:32".into(), "254:48".into(), "254:64".into()],
                health: "AAA".into(),
            }
        );
        let l = parse_status_line("0 32768 linear").unwrap();
        assert_eq!(l.name, None);
        assert_eq!(l.params, "");
        let l = parse_status_line("0 32768 mirror 2 253:0 253:1 8/8 1 AA 1 core").unwrap();
        assert!(matches!(l.status().unwrap(), TargetStatus::Other { .. }));
    }

    #[test]
    fn degraded_old_and_bad() {
        let r = DmRaidStatus::parse("raid1 3 ADA 100/200 recover 0 0 -").unwrap();
        assert_eq!(r.failed_devices(), vec![1]);
        assert!(!r.is_in_sync());
        let old = DmRaidStatus::parse("raid5_ls 3 AAA 8192/8192").unwrap();
        assert_eq!(old.sync_action, None);
        assert_eq!(old.mismatch_count, None);
        assert!(old.is_in_sync());
        assert_eq!(old.to_report().sync_action, "");
        let check = DmRaidStatus::parse("raid1 2 AA 8192/8192 check 128 0 -").unwrap();
        assert_eq!(check.mismatch_count, Some(128));
        assert!(DmRaidStatus::parse("raid1 3 AA 1/1 idle 0 0 -").is_err());
        // After removing stripes the kernel runs fewer devices than it
        // reports health for, until the freed ones are dropped.
        let shrunk = DmRaidStatus::parse("raid5_n 4 AAAAa 16384/16384 idle 0 8192 -").unwrap();
        assert_eq!((shrunk.devices, shrunk.health.len()), (4, 5));
        assert!(DmRaidStatus::parse("raid1 2 AX 1/1 idle 0 0 -").is_err());
        assert!(DmRaidStatus::parse("raid1 2 AA 1-1 idle").is_err());
        assert!(DmRaidStatus::parse("raid1 2 AA 1/1 idle x").is_err());
        assert!(parse_status_line("vg0-x: zero 1 linear").is_err());
        assert!(parse_status_line("").is_err());
    }
}
