//! The man pages in man/ are generated from the clap definitions; this test
//! fails when they drift. Regenerate with `UPDATE_MAN=1 cargo test --test man_pages`.

use std::path::Path;

use clap::CommandFactory;
use lvmetad::cli::Cli;

fn render(cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .section("8")
        .date("lvmetad")
        .render(&mut out)
        .unwrap();
    out
}

#[test]
fn man_pages_match_the_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("UPDATE_MAN").is_some();
    let top = Cli::command();
    let mut pages = vec![("lvm.8".to_string(), render(top.clone()))];
    for sub in top.get_subcommands() {
        let name = sub.get_name().to_string();
        let cmd = sub.clone().bin_name(name.clone());
        pages.push((format!("{name}.8"), render(cmd)));
    }
    pages.push((
        "lvmetad.8".to_string(),
        render(lvmetad::daemon::Args::command()),
    ));
    let mut stale = Vec::new();
    for (file, text) in &pages {
        let path = dir.join(file);
        if update {
            std::fs::write(&path, text).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
            stale.push(file.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "man pages out of date: {stale:?}; run UPDATE_MAN=1 cargo test --test man_pages"
    );
    // every command has a page and there is no page for a removed command
    // (the hand-written overview lvmetad-overview.7 is not generated).
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".8") {
            assert!(
                pages.iter().any(|(f, _)| *f == name),
                "man/{name} has no command"
            );
        }
    }
}
