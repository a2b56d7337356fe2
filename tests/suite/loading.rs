//! Loading large files: progress (bytes read, lines parsed), cancellation between lines, memory
//! checks against a budget, and bad splits refused before the file is read.

use std::path::Path;
use std::sync::{Arc, Mutex};

use pinsage_explorer::load::{
    CHECK_EVERY_LINES, Format, LoadControl, LoadError, LoadProgress, LoadStage, load_path, load_path_with,
    load_split_with,
};
use pinsage_explorer::split::SplitConfig;

/// An edge list of `lines` lines `pN,bM` (N = i mod 997, M = i mod 389, so every pair is distinct
/// while i < 997 · 389), with a header.
pub(crate) fn write_edges(path: &Path, lines: usize) {
    let mut s = String::with_capacity(lines * 12 + 16);
    s.push_str("pin,board\n");
    for i in 0..lines {
        s.push_str(&format!("p{},b{}\n", i % 997, i % 389));
    }
    std::fs::write(path, s).unwrap();
}

fn recorder() -> (LoadControl, Arc<Mutex<Vec<LoadProgress>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    (LoadControl::with_progress(move |p| s2.lock().unwrap().push(p)), seen)
}

#[test]
fn progress_counts_bytes_then_lines_and_the_graph_matches_a_plain_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edges.csv");
    let lines = 150_000;
    write_edges(&path, lines);
    let size = std::fs::metadata(&path).unwrap().len();
    let (ctl, seen) = recorder();
    let g = load_path_with(&path, Format::Auto, &ctl).expect("loads");
    let plain = load_path(&path, Format::Auto).unwrap();
    assert_eq!((g.n_pins(), g.n_boards(), g.n_edges()), (plain.n_pins(), plain.n_boards(), plain.n_edges()));
    assert_eq!((g.n_pins(), g.n_boards(), g.n_edges()), (997, 389, lines));

    let seen = seen.lock().unwrap();
    let reading: Vec<&LoadProgress> = seen.iter().filter(|p| p.stage == LoadStage::Reading).collect();
    // One report per MiB read (the last one partial), every one against the file's size.
    assert_eq!(reading.len() as u64, size.div_ceil(1 << 20));
    assert!(reading.iter().all(|p| p.total_bytes == size));
    assert_eq!(reading.last().unwrap().bytes, size, "the whole file was read");
    assert!(reading.windows(2).all(|w| w[0].bytes < w[1].bytes));
    // Parsing reports every CHECK_EVERY_LINES lines (line 1 is the header).
    let parsing: Vec<u64> = seen.iter().filter(|p| p.stage == LoadStage::Parsing).map(|p| p.lines).collect();
    let want: Vec<u64> = (1..=(lines as u64 + 1) / CHECK_EVERY_LINES).map(|i| i * CHECK_EVERY_LINES).collect();
    assert_eq!(parsing, want);
    let building: Vec<&LoadProgress> = seen.iter().filter(|p| p.stage == LoadStage::Building).collect();
    assert_eq!(building.len(), 1);
    assert_eq!(building[0].lines, lines as u64, "the edges built");
    // Stages in order: reading, parsing, building.
    let order: Vec<LoadStage> = seen.iter().map(|p| p.stage).collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|s| *s as u8);
    assert_eq!(order, sorted);
}

#[test]
fn a_cancelled_load_stops_at_the_next_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edges.csv");
    write_edges(&path, 100_000);
    // Cancelled as soon as parsing reports: the load stops there, not at the end.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s2, flag) = (seen.clone(), LoadControl::default());
    let canceller = flag.clone();
    let ctl2 = flag.on_progress(move |p| {
        s2.lock().unwrap().push(p);
        if p.stage == LoadStage::Parsing {
            canceller.cancel();
        }
    });
    let err = load_path_with(&path, Format::Auto, &ctl2).expect_err("cancelled");
    assert!(matches!(&err, LoadError::Cancelled { path: p } if p == &path), "{err:?}");
    assert!(err.to_string().contains("cancelled") && err.to_string().contains("edges.csv"), "{err}");
    assert!(ctl2.is_cancelled());
    let last = *seen.lock().unwrap().last().unwrap();
    assert_eq!((last.stage, last.lines), (LoadStage::Parsing, CHECK_EVERY_LINES), "stopped at the first check");

    // Cancelled before it starts: the first MiB read is the last.
    let ctl3 = LoadControl::default();
    ctl3.cancel();
    assert!(matches!(load_path_with(&path, Format::Auto, &ctl3), Err(LoadError::Cancelled { .. })));
}

#[test]
fn memory_budget_and_bad_splits_fail_with_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edges.csv");
    write_edges(&path, 2_000);
    let size = std::fs::metadata(&path).unwrap().len();
    // A budget below the file's size: refused before reading, naming the need and the budget.
    let ctl = LoadControl::default().with_memory_budget(1 << 10);
    let err = load_path_with(&path, Format::Auto, &ctl).expect_err("over budget").to_string();
    let want =
        format!("reading the file needs {:.3} MiB but this load's memory budget is 0.001 MiB", size as f64 / 1048576.0);
    assert!(err.contains("edges.csv") && err.contains(&want), "{err}");
    // Enough for the file (a few KiB) but not for the graph's arrays (4 bytes × (2·(pins+boards+2) + 3·edges)).
    let need = 4 * (2 * (997 + 389 + 2) + 3 * 2_000);
    assert!(size < need - 1, "the file ({size} bytes) fits where the graph does not");
    let ctl = LoadControl::default().with_memory_budget(need - 1);
    let err = load_path_with(&path, Format::Auto, &ctl).expect_err("graph over budget").to_string();
    assert!(err.contains("the graph's adjacency needs"), "{err}");
    let ctl = LoadControl::default().with_memory_budget(need);
    assert_eq!(load_path_with(&path, Format::Auto, &ctl).expect("fits exactly").n_edges(), 2_000);
    // A share outside [0, 1) is refused before anything is read (even a missing file).
    let bad = SplitConfig { holdout: 1.5, ..SplitConfig::default() };
    let err = load_split_with("/no/such/file.csv", Format::Auto, &bad, &LoadControl::default()).expect_err("bad split");
    assert!(err.to_string().contains("holdout must be in [0, 1), got 1.5"), "{err}");
}
