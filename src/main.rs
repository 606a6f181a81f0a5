//! The `pricestream` binary; the command line is in `cli`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
