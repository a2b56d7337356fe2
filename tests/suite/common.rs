//! Helpers shared by the tests.

use std::path::PathBuf;

use pinsage_explorer::graph::Graph;

/// The Gowalla split that ships in ../shared.
pub fn gowalla_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/gowalla")
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
