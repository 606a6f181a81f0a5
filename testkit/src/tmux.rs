//! Driving the binary in a real terminal: tmux runs it, keys are sent, the
//! pane is captured. (scripts/test installs tmux when it is missing.)

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux session, killed when dropped.
pub struct Session(pub String);

impl Session {
    /// Starts `command` in a detached session `name` of `width` × `height`.
    pub fn start(name: &str, width: u16, height: u16, command: &str) -> Session {
        let (w, h) = (width.to_string(), height.to_string());
        tmux(&["new-session", "-d", "-s", name, "-x", &w, "-y", &h, command]);
        Session(name.to_string())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

pub fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is installed (scripts/test installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The pane once it shows `needle` (fails after 20 s).
pub fn wait_for(session: &str, needle: &str) -> String {
    wait_for_within(session, needle, 20)
}

/// The pane once it shows `needle` (fails after `secs`).
pub fn wait_for_within(session: &str, needle: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let pane = tmux(&["capture-pane", "-t", session, "-p"]);
        if pane.contains(needle) {
            return pane;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} never appeared:\n{pane}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
