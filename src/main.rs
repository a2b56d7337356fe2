//! `pinsage`: the explorer app (no subcommand) and the headless CLI (stats, bench, train, eval, embed).

mod cli;
mod cli_scale;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Burn stages a loaded optimizer state (`--resume`) on its default device and moves it to the
    // model's device at the first step. Left alone, that default is an automatically chosen wgpu
    // adapter, whose probe also tries OpenGL and prints EGL errors on a headless server, even for
    // `--device cpu`. The CPU stages it just as well. Nothing here asks for the default otherwise.
    if std::env::var_os("BURN_DEVICE").is_none() {
        // SAFETY: the first statement of main, before any thread exists.
        unsafe { std::env::set_var("BURN_DEVICE", "flex") };
    }
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
