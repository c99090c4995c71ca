//! RAID methods of the VolumeGroup and LogicalVolume objects (create,
//! convert, split, merge, replace), carried out as lvmdbusd does for
//! lvm2: by running this project's own `lvm` command as a child, so the
//! bus and the command line share one implementation, its checks and its
//! messages. The command tells the daemon what it wrote (its socket), and
//! the objects follow from the cache's events like any other change.
//!
//! Root only: the bus policy refuses everyone else, and each method checks
//! the caller's uid itself.

use std::path::PathBuf;

use zbus::fdo;

/// The `lvm` binary to run: `$LVMETAD_LVM`, else the `lvm` next to this
/// daemon's executable, else /usr/sbin/lvm.
pub fn lvm_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("LVMETAD_LVM").filter(|p| !p.is_empty()) {
        return p.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("lvm")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "/usr/sbin/lvm".into())
}

/// The process that runs `lvm args`. Under systemd (`$INVOCATION_ID`)
/// the daemon is sandboxed (no devices, read-only file system: see
/// units/lvmetad.service), so the command runs as a transient service
/// outside that sandbox: `systemd-run --wait --pipe` keeps its output and
/// exit status. Elsewhere (a test, a daemon started by hand) it runs as a
/// plain child. `$LVMETAD_SYSTEMD_RUN` names another systemd-run, or
/// `none` to always run a plain child.
pub fn command(lvm: &std::path::Path, args: &[String]) -> std::process::Command {
    command_in(lvm, args, &|v| std::env::var_os(v))
}

/// [`command`] with the environment looked up through `env`.
fn command_in(
    lvm: &std::path::Path,
    args: &[String],
    env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> std::process::Command {
    let systemd_run = env("LVMETAD_SYSTEMD_RUN")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/systemd-run".into());
    let under_systemd = env("INVOCATION_ID").is_some();
    if under_systemd && systemd_run != std::path::Path::new("none") && systemd_run.exists() {
        let mut c = std::process::Command::new(systemd_run);
        c.args([
            "--wait",
            "--pipe",
            "--quiet",
            "--collect",
            "--service-type=exec",
            "--description=lvmetad D-Bus RAID operation",
        ]);
        // A transient unit starts with systemd's environment, not ours:
        // hand on what tells lvm where its configuration and lvmetad are.
        for var in ["LVM_SYSTEM_DIR", "LVM_LVMETAD_SOCKET"] {
            if let Some(v) = env(var) {
                let mut a = std::ffi::OsString::from(format!("--setenv={var}="));
                a.push(v);
                c.arg(a);
            }
        }
        c.arg("--").arg(lvm).args(args);
        c
    } else {
        let mut c = std::process::Command::new(lvm);
        c.args(args);
        c
    }
}

/// One RAID operation, as the command line that carries it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RaidOp {
    /// `lvcreate --type T -n NAME -L SIZEb [-i S] [-m M] VG [PV...]`
    Create {
        vg: String,
        name: String,
        segtype: String,
        size_bytes: u64,
        stripes: u32,
        mirrors: u32,
        pvs: Vec<String>,
    },
    /// `lvconvert -y [--type T] [-m M] VG/LV [PV...]`
    Convert {
        vg: String,
        lv: String,
        segtype: String,
        mirrors: Option<u32>,
        pvs: Vec<String>,
    },
    /// `lvconvert -y [--stripes N] [-I SIZEb] [--force] VG/LV [PV...]`: a
    /// reshape of the active LV (N data stripes, stripe size in bytes; 0
    /// keeps it).
    Reshape {
        vg: String,
        lv: String,
        stripes: u32,
        stripe_size_bytes: u64,
        force: bool,
        pvs: Vec<String>,
    },
    /// `lvconvert -y --splitmirrors N (-n NAME | --trackchanges) VG/LV`
    Split {
        vg: String,
        lv: String,
        count: u32,
        name: String,
        track: bool,
    },
    /// `lvconvert -y --merge VG/LV` (LV: an image split with
    /// --trackchanges)
    Merge { vg: String, lv: String },
    /// `lvconvert -y --replace PV VG/LV [PV...]`
    Replace {
        vg: String,
        lv: String,
        pv: String,
        with: Vec<String>,
    },
}

impl RaidOp {
    /// The `lvm` arguments; refuses what the command line could not mean.
    pub fn args(&self) -> Result<Vec<String>, String> {
        let s = |x: &str| x.to_string();
        let no_opt = |what: &str, v: &str| {
            if v.is_empty() || v.starts_with('-') {
                Err(format!("{what} {v:?} is not valid"))
            } else {
                Ok(())
            }
        };
        match self {
            RaidOp::Create {
                vg,
                name,
                segtype,
                size_bytes,
                stripes,
                mirrors,
                pvs,
            } => {
                no_opt("VG name", vg)?;
                no_opt("LV name", name)?;
                no_opt("segment type", segtype)?;
                if *size_bytes == 0 {
                    return Err("the size must not be 0".into());
                }
                let mut a = vec![
                    s("lvcreate"),
                    s("-y"),
                    s("--type"),
                    segtype.clone(),
                    s("-n"),
                    name.clone(),
                    s("-L"),
                    format!("{size_bytes}b"),
                ];
                if *stripes > 0 {
                    a.extend([s("-i"), stripes.to_string()]);
                }
                if *mirrors > 0 {
                    a.extend([s("-m"), mirrors.to_string()]);
                }
                a.push(vg.clone());
                for p in pvs {
                    no_opt("PV", p)?;
                    a.push(p.clone());
                }
                Ok(a)
            }
            RaidOp::Convert {
                vg,
                lv,
                segtype,
                mirrors,
                pvs,
            } => {
                no_opt("VG name", vg)?;
                no_opt("LV name", lv)?;
                let mut a = vec![s("lvconvert"), s("-y")];
                if !segtype.is_empty() {
                    no_opt("segment type", segtype)?;
                    a.extend([s("--type"), segtype.clone()]);
                }
                if let Some(m) = mirrors {
                    a.extend([s("-m"), m.to_string()]);
                }
                if segtype.is_empty() && mirrors.is_none() {
                    return Err("nothing to convert: give a segment type or a mirror count".into());
                }
                a.push(format!("{vg}/{lv}"));
                for p in pvs {
                    no_opt("PV", p)?;
                    a.push(p.clone());
                }
                Ok(a)
            }
            RaidOp::Reshape {
                vg,
                lv,
                stripes,
                stripe_size_bytes,
                force,
                pvs,
            } => {
                no_opt("VG name", vg)?;
                no_opt("LV name", lv)?;
                let mut a = vec![s("lvconvert"), s("-y")];
                if *stripes > 0 {
                    a.extend([s("--stripes"), stripes.to_string()]);
                }
                if *stripe_size_bytes > 0 {
                    a.extend([s("-I"), format!("{stripe_size_bytes}b")]);
                }
                if *force {
                    a.push(s("--force"));
                }
                if *stripes == 0 && *stripe_size_bytes == 0 {
                    return Err("nothing to reshape: give a stripe count or a stripe size \
                                (ConvertRaid to the LV's own type frees reshape space)"
                        .into());
                }
                a.push(format!("{vg}/{lv}"));
                for p in pvs {
                    no_opt("PV", p)?;
                    a.push(p.clone());
                }
                Ok(a)
            }
            RaidOp::Split {
                vg,
                lv,
                count,
                name,
                track,
            } => {
                no_opt("VG name", vg)?;
                no_opt("LV name", lv)?;
                if *count == 0 {
                    return Err("split at least one image".into());
                }
                let mut a = vec![
                    s("lvconvert"),
                    s("-y"),
                    s("--splitmirrors"),
                    count.to_string(),
                ];
                match (*track, name.is_empty()) {
                    (true, true) => a.push(s("--trackchanges")),
                    (false, false) => {
                        no_opt("LV name", name)?;
                        a.extend([s("-n"), name.clone()]);
                    }
                    (true, false) => {
                        return Err("a tracked split keeps its image's name: give no name".into())
                    }
                    (false, true) => {
                        return Err("a split without --trackchanges needs a name".into())
                    }
                }
                a.push(format!("{vg}/{lv}"));
                Ok(a)
            }
            RaidOp::Merge { vg, lv } => {
                no_opt("VG name", vg)?;
                no_opt("LV name", lv)?;
                Ok(vec![
                    s("lvconvert"),
                    s("-y"),
                    s("--merge"),
                    format!("{vg}/{lv}"),
                ])
            }
            RaidOp::Replace { vg, lv, pv, with } => {
                no_opt("VG name", vg)?;
                no_opt("LV name", lv)?;
                no_opt("PV", pv)?;
                let mut a = vec![
                    s("lvconvert"),
                    s("-y"),
                    s("--replace"),
                    pv.clone(),
                    format!("{vg}/{lv}"),
                ];
                for p in with {
                    no_opt("PV", p)?;
                    a.push(p.clone());
                }
                Ok(a)
            }
        }
    }

    /// Run it: the command's output on success, its messages as the error
    /// otherwise.
    pub async fn run(self) -> fdo::Result<String> {
        let args = self.args().map_err(fdo::Error::InvalidArgs)?;
        let lvm = lvm_binary();
        log::info!("D-Bus: running {} {}", lvm.display(), args.join(" "));
        let out = tokio::task::spawn_blocking(move || {
            command(&lvm, &args)
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", lvm.display()))
        })
        .await
        .map_err(|e| fdo::Error::Failed(e.to_string()))?
        .map_err(fdo::Error::Failed)?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(fdo::Error::Failed(format!(
                "{} (exit {})",
                err.trim(),
                out.status.code().unwrap_or(-1)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandboxed_daemon_runs_lvm_through_systemd_run() {
        let lvm = std::path::Path::new("/usr/sbin/lvm");
        let args = vec!["lvs".to_string()];
        let plain = command_in(lvm, &args, &|_| None);
        assert_eq!(plain.get_program(), "/usr/sbin/lvm");
        let env = |v: &str| match v {
            "INVOCATION_ID" => Some("0123".into()),
            "LVMETAD_SYSTEMD_RUN" => Some("/bin/true".into()),
            "LVM_SYSTEM_DIR" => Some("/etc/lvm-test".into()),
            _ => None,
        };
        let wrapped = command_in(lvm, &args, &env);
        assert_eq!(wrapped.get_program(), "/bin/true");
        let a: Vec<_> = wrapped
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(a.starts_with(&["--wait".to_string(), "--pipe".to_string()]));
        assert!(a.contains(&"--setenv=LVM_SYSTEM_DIR=/etc/lvm-test".to_string()));
        assert_eq!(&a[a.len() - 3..], ["--", "/usr/sbin/lvm", "lvs"]);
        // `none` turns the wrapper off.
        let off = |v: &str| match v {
            "LVMETAD_SYSTEMD_RUN" => Some("none".into()),
            v => env(v),
        };
        assert_eq!(command_in(lvm, &args, &off).get_program(), "/usr/sbin/lvm");
    }

    #[test]
    fn command_lines() {
        let c = RaidOp::Create {
            vg: "vg".into(),
            name: "r".into(),
            segtype: "raid1".into(),
            size_bytes: 8 << 20,
            stripes: 0,
            mirrors: 1,
            pvs: vec!["/dev/sdb".into()],
        };
        assert_eq!(
            c.args().unwrap().join(" "),
            "lvcreate -y --type raid1 -n r -L 8388608b -m 1 vg /dev/sdb"
        );
        let c = RaidOp::Reshape {
            vg: "vg".into(),
            lv: "r".into(),
            stripes: 4,
            stripe_size_bytes: 131072,
            force: true,
            pvs: vec!["/dev/sde".into()],
        };
        assert_eq!(
            c.args().unwrap().join(" "),
            "lvconvert -y --stripes 4 -I 131072b --force vg/r /dev/sde"
        );
        let none = RaidOp::Reshape {
            vg: "vg".into(),
            lv: "r".into(),
            stripes: 0,
            stripe_size_bytes: 0,
            force: false,
            pvs: vec![],
        };
        assert!(none.args().unwrap_err().contains("nothing to reshape"));
        let c = RaidOp::Split {
            vg: "vg".into(),
            lv: "r".into(),
            count: 1,
            name: String::new(),
            track: true,
        };
        assert_eq!(
            c.args().unwrap().join(" "),
            "lvconvert -y --splitmirrors 1 --trackchanges vg/r"
        );
        let c = RaidOp::Convert {
            vg: "vg".into(),
            lv: "r".into(),
            segtype: String::new(),
            mirrors: Some(2),
            pvs: vec![],
        };
        assert_eq!(c.args().unwrap().join(" "), "lvconvert -y -m 2 vg/r");
        let c = RaidOp::Replace {
            vg: "vg".into(),
            lv: "r".into(),
            pv: "/dev/sdb".into(),
            with: vec!["/dev/sdd".into()],
        };
        assert_eq!(
            c.args().unwrap().join(" "),
            "lvconvert -y --replace /dev/sdb vg/r /dev/sdd"
        );
    }

    #[test]
    fn option_injection_and_nonsense_refused() {
        let c = RaidOp::Merge {
            vg: "vg".into(),
            lv: "--force".into(),
        };
        assert!(c.args().is_err());
        let c = RaidOp::Replace {
            vg: "vg".into(),
            lv: "r".into(),
            pv: "-ff".into(),
            with: vec![],
        };
        assert!(c.args().is_err());
        let c = RaidOp::Split {
            vg: "vg".into(),
            lv: "r".into(),
            count: 1,
            name: String::new(),
            track: false,
        };
        assert!(c.args().is_err());
        let c = RaidOp::Convert {
            vg: "vg".into(),
            lv: "r".into(),
            segtype: String::new(),
            mirrors: None,
            pvs: vec![],
        };
        assert!(c.args().is_err());
    }
}
