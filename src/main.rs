//! The `warest` binary; the command line is `warest::cli`.

fn main() -> std::process::ExitCode {
    warest::cli::run()
}
