//! The terminal UI in a real terminal: tmux runs the binary, keys are sent,
//! the pane is captured. (scripts/test installs tmux when it is missing.)

use std::path::PathBuf;

use testkit::tmux::{Session, tmux, wait_for};

#[test]
fn the_tui_runs_answers_keys_and_restores_the_terminal() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_pricestream");
    let name = format!("pricestream-test-{}", std::process::id());
    let command = format!(
        "cd {} && {bin} run scenarios/celebrity-spike.toml --tui --policy rules --speed 3600 --duration 6h; echo EXITED; sleep 20",
        root.display()
    );
    let _guard = Session::start(&name, 100, 30, &command);
    let pane = wait_for(&name, "prices · sort trend");
    assert!(
        pane.contains("pricestream") && pane.contains("pipeline") && pane.contains("decisions"),
        "{pane}"
    );
    tmux(&["send-keys", "-t", &name, "?"]);
    wait_for(&name, "toggle the global kill switch");
    tmux(&["send-keys", "-t", &name, "x"]);
    tmux(&["send-keys", "-t", &name, "s"]);
    wait_for(&name, "sort change");
    tmux(&["send-keys", "-t", &name, " "]);
    wait_for(&name, "PAUSED");
    tmux(&["send-keys", "-t", &name, "K"]);
    wait_for(&name, "KILL SWITCH ON");
    tmux(&["send-keys", "-t", &name, "q"]);
    let after = wait_for(&name, "EXITED");
    assert!(
        after.contains("stopped at") || after.contains("policy rules"),
        "a summary after the UI:\n{after}"
    );
    assert!(
        !after.contains("prices · sort"),
        "the alternate screen is gone:\n{after}"
    );
}

/// `kill -TERM` (as a service manager or a closed terminal sends) ends the
/// UI like `q`: raw mode off and the alternate screen gone.
#[test]
fn sigterm_restores_the_terminal() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_pricestream");
    let name = format!("pricestream-term-{}", std::process::id());
    let command = format!(
        "cd {} && {bin} run scenarios/celebrity-spike.toml --tui --policy static --speed 60; \
         echo EXITED; stty -a | grep -o -- '-\\?icanon' | sed 's/^/MODE:/'; sleep 20",
        root.display()
    );
    let _guard = Session::start(&name, 100, 30, &command);
    wait_for(&name, "prices · sort trend");
    let shell = tmux(&["list-panes", "-t", &name, "-F", "#{pane_pid}"]);
    let killed = std::process::Command::new("pkill")
        .args(["-TERM", "-P", shell.trim(), "pricestream"])
        .status()
        .unwrap();
    assert!(killed.success(), "the UI process was found");
    let after = wait_for(&name, "MODE:");
    assert!(
        after.contains("MODE:icanon") && !after.contains("MODE:-icanon"),
        "canonical mode is back:\n{after}"
    );
    assert!(
        !after.contains("prices · sort"),
        "the alternate screen is gone:\n{after}"
    );
}
