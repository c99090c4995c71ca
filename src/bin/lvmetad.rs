//! lvmetad: the LVM metadata cache daemon. Normally started by systemd
//! through lvmetad.socket; `lvmetad --socket PATH` runs it by hand.

use clap::Parser;
use lvmetad::daemon::Args;

fn main() {
    let args = Args::parse();
    lvmetad::daemon::init_logging(args.debug);
    // listenfd reads and clears LISTEN_* before any thread exists.
    let listener = match lvmetad::daemon::systemd::listener(&args.socket_path()) {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            std::process::exit(1);
        }
    };
    let code = match lvmetad::daemon::run(listener, args.max_message) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("{e}");
            1
        }
    };
    std::process::exit(code);
}
