//! Helpers shared by the tests.

use std::path::PathBuf;

use pinsage_explorer::graph::Graph;

/// The Gowalla split that ships in ../shared, or `None` (with a message saying the test is
/// skipped) on a checkout without it. `PINSAGE_REQUIRE_GOWALLA=1` (set by `.ci/run` when the folder
/// is there) turns a missing folder into a failure, so CI cannot skip silently.
pub fn gowalla_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/gowalla");
    if dir.join("train.txt").is_file() {
        return Some(dir);
    }
    assert!(std::env::var_os("PINSAGE_REQUIRE_GOWALLA").is_none(), "{} is missing", dir.display());
    eprintln!("skipped: the Gowalla split is not at {}", dir.display());
    None
}

/// Writes `contents` to `name` in a fresh temp dir; returns (dir guard, path).
pub fn temp_file(name: &str, contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write temp file");
    (dir, path)
}

/// A tiny hand-checkable graph: board 0 = {0, 1}, board 1 = {0, 2, 3}, board 2 = {3, 4}.
pub fn tiny() -> Graph {
    Graph::from_edges(5, 3, &[(0, 0), (0, 1), (1, 0), (1, 2), (1, 3), (2, 3), (2, 4)], &[])
}

/// Steps the app's frames (sleeping briefly, as background jobs run on their own threads) until
/// `done` holds; fails after `limit_secs`.
pub fn wait_for_app(
    h: &mut egui_kittest::Harness<'_, pinsage_explorer::app::ExplorerApp>,
    what: &str,
    limit_secs: u64,
    mut done: impl FnMut(&pinsage_explorer::app::ExplorerApp) -> bool,
) {
    let t = std::time::Instant::now();
    while !done(h.state()) {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(limit_secs),
            "timed out waiting for {what}; errors: {:?}",
            h.state().state.errors
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.step();
}

/// Runs the ignored test `name` (its full path, e.g. `ui_stress::stress_loop_alone_in_its_process`)
/// alone in a child process of this test binary, one thread, and asserts that it ran and passed:
/// for tests that need the process to themselves (its RSS, or flex's one seeded random stream,
/// which the suite's other tests reseed and draw from).
pub fn run_alone(name: &str) {
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args([name, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .output()
        .expect("run the test binary");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{stderr}");
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("test result: ok. 1 passed"), "{name} did not run:\n{stdout}");
}
