//! LightGCN adjacency lists: `board pin pin …` per line (`train.txt`, optionally `test.txt`).

use std::path::Path;

use super::*;

/// (board, pin) pairs, max pin + 1, max board + 1.
type Adjacency = (Vec<(u32, u32)>, u32, u32);

/// Parses `board pin pin …` lines into (board, pin) pairs; returns (pairs, max pin + 1, max board + 1).
fn parse_adjacency(path: &Path, ctl: &LoadControl) -> Result<Adjacency, LoadError> {
    let bytes = read_text_with(path, ctl)?;
    let mut pairs = Vec::with_capacity(bytes.len() / 6);
    let (mut n_pins, mut n_boards) = (0u32, 0u32);
    for item in lines(path, &bytes) {
        let (no, line) = item?;
        ctl.line(path, no, (line.as_ptr() as usize - bytes.as_ptr() as usize) as u64, bytes.len())?;
        let mut tokens = line.split_ascii_whitespace();
        let Some(first) = tokens.next() else { continue };
        if first.starts_with('#') {
            continue;
        }
        if line.contains(',') {
            return Err(LoadError::line(
                path,
                no,
                "found a comma: LightGCN lines are `board pin pin …` separated by spaces",
            ));
        }
        let board = parse_id(path, no, first, "board")?;
        n_boards = n_boards.max(board + 1);
        for tok in tokens {
            let pin = parse_id(path, no, tok, "pin")?;
            n_pins = n_pins.max(pin + 1);
            pairs.push((board, pin));
        }
    }
    Ok((pairs, n_pins, n_boards))
}

/// Loads a LightGCN `train.txt` and, optionally, its `test.txt`.
pub fn load_lightgcn(train: &Path, test: Option<&Path>) -> Result<Graph, LoadError> {
    lightgcn_with(train, test, &LoadControl::default())
}

pub(super) fn lightgcn_with(train: &Path, test: Option<&Path>, ctl: &LoadControl) -> Result<Graph, LoadError> {
    let (mut train_pairs, mut n_pins, mut n_boards) = parse_adjacency(train, ctl)?;
    if train_pairs.is_empty() {
        return Err(LoadError::file(train, "no edges: every line has a board id but no pins"));
    }
    let mut test_pairs = Vec::new();
    if let Some(test) = test {
        let (pairs, p, b) = parse_adjacency(test, ctl)?;
        n_pins = n_pins.max(p);
        n_boards = n_boards.max(b);
        test_pairs = pairs;
    }
    // Sparse or huge ids (say one line `4000000000 1 2`) are interned rather than sized by the
    // largest id: no allocation ever follows a raw id. The original ids become the labels.
    let (pin_map, board_map) = (
        Sparse::of(&train_pairs, &test_pairs, |e| e.1, n_pins),
        Sparse::of(&train_pairs, &test_pairs, |e| e.0, n_boards),
    );
    for pairs in [&mut train_pairs, &mut test_pairs] {
        for e in pairs.iter_mut() {
            *e = (board_map.dense(e.0), pin_map.dense(e.1));
        }
    }
    let edges = train_pairs.len() + test_pairs.len();
    check_graph_memory(train, pin_map.len(n_pins), board_map.len(n_boards), edges, ctl)?;
    ctl.building(train, 0, edges as u64)?;
    let mut g = Graph::from_edges(pin_map.len(n_pins), board_map.len(n_boards), &train_pairs, &test_pairs);
    ctl.check(train)?;
    g.pin_labels = pin_map.labels("pin ");
    g.board_labels = board_map.labels("board ");
    g.source = match test {
        Some(t) => format!("{} + {}", train.display(), t.display()),
        None => train.display().to_string(),
    };
    Ok(g)
}

/// The distinct ids of one side of a LightGCN file when they are sparse (the id space far larger
/// than the number of ids); `None` keeps dense ids as they are.
struct Sparse(Option<Vec<u32>>);

impl Sparse {
    fn of(train: &[(u32, u32)], test: &[(u32, u32)], side: impl Fn(&(u32, u32)) -> u32, id_space: u32) -> Sparse {
        let mut ids: Vec<u32> = train.iter().chain(test).map(&side).collect();
        ids.sort_unstable();
        ids.dedup();
        // Dense enough: up to half the id space unused (and small spaces always) stays as it is.
        if (id_space as u64) <= 2 * ids.len() as u64 + 4096 { Sparse(None) } else { Sparse(Some(ids)) }
    }
    fn dense(&self, id: u32) -> u32 {
        match &self.0 {
            Some(ids) => ids.binary_search(&id).unwrap_or(0) as u32,
            None => id,
        }
    }
    fn len(&self, id_space: u32) -> u32 {
        self.0.as_ref().map_or(id_space, |ids| ids.len() as u32)
    }
    fn labels(&self, prefix: &str) -> Option<Vec<String>> {
        self.0.as_ref().map(|ids| ids.iter().map(|id| format!("{prefix}{id}")).collect())
    }
}
