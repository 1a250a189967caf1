//! The `embedscope` binary: subcommands run headless; with no subcommand the desktop app opens
//! (built with the `gui` feature).

mod cli;

fn main() {
    std::process::exit(cli::run());
}
