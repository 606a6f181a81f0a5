//! One error type for every command: what went wrong, once, and the exit
//! code — 2 when the user's input or configuration is at fault (fix it and
//! run again), 1 when something failed at run time, 0 for a closed pipe
//! (`pricestream audit | head` is a normal end).

use std::fmt::Display;
use std::io;
use std::process::ExitCode;

#[derive(Debug)]
pub struct CliError {
    code: u8,
    message: String,
}

impl CliError {
    /// Bad input, arguments or configuration: exit 2.
    pub fn input(message: impl Display) -> CliError {
        CliError {
            code: 2,
            message: message.to_string(),
        }
    }

    /// A failure at run time (I/O, a service): exit 1.
    pub fn runtime(message: impl Display) -> CliError {
        CliError {
            code: 1,
            message: message.to_string(),
        }
    }

    /// An error that knows its own exit code (the crates' `exit_code()`).
    pub fn with_code(code: i32, message: impl Display) -> CliError {
        CliError {
            code: u8::try_from(code).unwrap_or(1),
            message: message.to_string(),
        }
    }

    /// Writing output failed: a closed pipe ends the command quietly.
    pub fn output(e: io::Error) -> CliError {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return CliError {
                code: 0,
                message: String::new(),
            };
        }
        CliError::runtime(format!("writing output: {e}"))
    }

    /// Prints the error (if any) and gives the exit code.
    pub fn report(self) -> ExitCode {
        if !self.message.is_empty() {
            eprintln!("error: {}", self.message);
        }
        ExitCode::from(self.code)
    }
}

/// A service error exits by its fault domain: 2 when the operator has to fix
/// something (configuration, a missing table, credentials), else 1.
impl From<service::error::Error> for CliError {
    fn from(e: service::error::Error) -> CliError {
        CliError::with_code(e.exit_code(), e)
    }
}

pub type CliResult = Result<(), CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_a_quiet_success_and_other_write_errors_fail() {
        let e = CliError::output(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!((e.code, e.message.as_str()), (0, ""));
        let e = CliError::output(io::Error::other("disk full"));
        assert_eq!(e.code, 1);
        assert!(e.message.contains("disk full"));
        assert_eq!(CliError::input("x").code, 2);
        assert_eq!(CliError::with_code(7, "x").code, 7);
        assert_eq!(CliError::with_code(-1, "x").code, 1);
    }
}
