//! Log output for the service and the Lambda.

/// Structured logs on stderr: `text` or `json` (one object per line);
/// `RUST_LOG` filters (default `info`).
pub fn init_logs(format: &str) {
    init_logs_to(format, std::io::stderr);
}

/// Like [`init_logs`], to another writer (a file while the terminal UI runs).
pub fn init_logs_to<W>(format: &str, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
