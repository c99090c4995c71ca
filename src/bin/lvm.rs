//! `lvm`: the multi-call command binary (`lvm pvs`, or a symlink `pvs`).

fn main() {
    let code = lvmetad::cli::main(std::env::args_os().collect());
    std::process::exit(code);
}
