//! Output files that are written whole or not at all: each is written to a
//! temporary file beside its path and renamed over it only when the command
//! succeeds, so a failed run (a typo in an input path, a bad scenario) leaves
//! the previous results as they were. `-` is stdout.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::error::CliError;

/// Large writes: outputs are written once, start to end.
const WRITE_BUFFER: usize = 256 << 10;

/// Where one output goes.
pub enum Sink {
    Stdout(BufWriter<io::Stdout>),
    File {
        tmp: BufWriter<NamedTempFile>,
        path: PathBuf,
    },
}

impl Sink {
    /// `-` for stdout; otherwise a temporary file in `path`'s directory, which
    /// must exist and be writable (checked now, before any work is done).
    pub fn create(path: &Path) -> Result<Sink, CliError> {
        if path == Path::new("-") {
            return Ok(Sink::Stdout(BufWriter::with_capacity(
                WRITE_BUFFER,
                io::stdout(),
            )));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = NamedTempFile::new_in(dir)
            .map_err(|e| CliError::input(format!("cannot create {}: {e}", path.display())))?;
        Ok(Sink::File {
            tmp: BufWriter::with_capacity(WRITE_BUFFER, tmp),
            path: path.to_path_buf(),
        })
    }

    /// Flushes and, for a file, puts it in place of `path`.
    pub fn commit(self) -> Result<(), CliError> {
        match self {
            Sink::Stdout(mut w) => w.flush().map_err(CliError::output),
            Sink::File { tmp, path } => {
                let tmp = tmp
                    .into_inner()
                    .map_err(|e| CliError::output(e.into_error()))?;
                tmp.persist(&path).map_err(|e| {
                    CliError::runtime(format!("cannot write {}: {}", path.display(), e.error))
                })?;
                Ok(())
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(w) => w.write(buf),
            Sink::File { tmp, .. } => tmp.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(w) => w.write_all(buf),
            Sink::File { tmp, .. } => tmp.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::File { tmp, .. } => tmp.flush(),
        }
    }
}

/// Creates `dir` (and its parents) if needed and checks that files can be
/// written in it, naming it if not — before a long run, not after.
pub fn ensure_dir(dir: &Path) -> Result<(), CliError> {
    let fail = |e: io::Error| CliError::input(format!("cannot write into {}: {e}", dir.display()));
    fs::create_dir_all(dir).map_err(fail)?;
    NamedTempFile::new_in(dir).map(drop).map_err(fail)
}
