//! The bipartite pin–board graph in compact CSR form, both directions, plus optional pin metadata.
//!
//! Ids are dense `u32`s: pins `0..n_pins`, boards `0..n_boards`. Duplicate edges are merged when the
//! graph is built. A graph may also carry held-out test edges (board → pins) for evaluation.

use serde::Serialize;

/// Per-pin dense feature vectors (for example a "visual" embedding), row-major `n_pins × dim`.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Features {
    /// The feature row of `pin`.
    pub fn row(&self, pin: u32) -> &[f32] {
        let start = pin as usize * self.dim;
        &self.data[start..start + self.dim]
    }
}

/// Per-pin categories (for colouring and for the embedding map), with their names.
#[derive(Clone, Debug, PartialEq)]
pub struct Categories {
    pub names: Vec<String>,
    /// `of_pin[p]` indexes `names`.
    pub of_pin: Vec<u16>,
}

/// Compressed sparse rows: `targets[offsets[i]..offsets[i+1]]` are the neighbours of row `i`, sorted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Csr {
    pub offsets: Vec<u32>,
    pub targets: Vec<u32>,
}

impl Csr {
    /// Builds a CSR with `n_rows` rows from (row, target) pairs; duplicates are merged.
    pub fn from_pairs(n_rows: usize, pairs: &[(u32, u32)]) -> Csr {
        let mut counts = vec![0u32; n_rows + 1];
        for &(r, _) in pairs {
            counts[r as usize + 1] += 1;
        }
        for i in 0..n_rows {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut targets = vec![0u32; pairs.len()];
        for &(r, t) in pairs {
            let slot = &mut fill[r as usize];
            targets[*slot as usize] = t;
            *slot += 1;
        }
        // Sort and deduplicate each row, compacting in place.
        let mut offsets = Vec::with_capacity(n_rows + 1);
        offsets.push(0u32);
        let mut write = 0usize;
        for i in 0..n_rows {
            let (start, end) = (counts[i] as usize, counts[i + 1] as usize);
            targets[start..end].sort_unstable();
            let mut last = None;
            for read in start..end {
                let t = targets[read];
                if last != Some(t) {
                    targets[write] = t;
                    write += 1;
                    last = Some(t);
                }
            }
            offsets.push(write as u32);
        }
        targets.truncate(write);
        targets.shrink_to_fit();
        Csr { offsets, targets }
    }

    /// The transpose, with `n_cols` rows; rows come out sorted because rows are visited in order.
    pub fn transpose(&self, n_cols: usize) -> Csr {
        let mut counts = vec![0u32; n_cols + 1];
        for &t in &self.targets {
            counts[t as usize + 1] += 1;
        }
        for i in 0..n_cols {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut targets = vec![0u32; self.targets.len()];
        for row in 0..self.rows() {
            for &t in self.row(row as u32) {
                let slot = &mut fill[t as usize];
                targets[*slot as usize] = row as u32;
                *slot += 1;
            }
        }
        Csr { offsets: counts, targets }
    }

    pub fn rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn nnz(&self) -> usize {
        self.targets.len()
    }

    /// Backs the rows with huge pages where the kernel allows (walks read them at random).
    pub fn advise_huge_pages(&self) {
        crate::huge_pages::advise(&self.offsets);
        crate::huge_pages::advise(&self.targets);
    }

    #[inline]
    pub fn row(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.targets[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    #[inline]
    pub fn degree(&self, i: u32) -> u32 {
        let i = i as usize;
        self.offsets[i + 1] - self.offsets[i]
    }

    fn heap_bytes(&self) -> usize {
        (self.offsets.capacity() + self.targets.capacity()) * std::mem::size_of::<u32>()
    }
}

/// A bipartite pin–board graph: training edges in both directions, optional test edges and metadata.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    n_pins: u32,
    n_boards: u32,
    /// pin → boards.
    pin_boards: Csr,
    /// board → pins.
    board_pins: Csr,
    /// Held-out board → pins (never used by walks or training).
    test: Csr,
    /// Board → pins carved from the training edges for model selection (never trained on).
    validation: Csr,
    /// Per training edge, in `board_pins` order: when it happened (seconds), where the file said.
    pub edge_times: Option<Vec<i64>>,
    pub pin_labels: Option<Vec<String>>,
    /// The pins' ids in the source file, where the labels are something else (MovieLens titles).
    pub pin_keys: Option<Vec<String>>,
    pub board_labels: Option<Vec<String>>,
    pub features: Option<Features>,
    pub categories: Option<Categories>,
    /// Where the graph came from, for display ("default (seed 7)", a path, …).
    pub source: String,
}

/// Which held-out edges an evaluation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The test edges: reported, never used to choose anything.
    #[default]
    Test,
    /// The validation edges: early stopping, model and λ selection.
    Validation,
}

/// Degree statistics of one side of the graph.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DegreeStats {
    pub min: u32,
    pub max: u32,
    pub mean: f64,
    pub median: u32,
    /// Nodes with no training edge.
    pub isolated: u32,
    /// Share of the edges on the top 1 % of nodes by degree (at least one node): how heavy the tail is.
    pub top_1pct_share: f64,
}

/// A summary of a graph, as printed by `pinsage stats`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GraphStats {
    pub source: String,
    pub pins: u32,
    pub boards: u32,
    pub edges: usize,
    pub test_edges: usize,
    pub validation_edges: usize,
    pub pin_degree: DegreeStats,
    pub board_degree: DegreeStats,
    pub feature_dim: usize,
    pub categories: usize,
    pub has_labels: bool,
    /// Heap bytes of the adjacency structure (both directions, train and test).
    pub adjacency_bytes: usize,
    /// Adjacency bytes per training edge, counting both directions.
    pub bytes_per_edge: f64,
}

impl Graph {
    /// Builds a graph from training and test (board, pin) pairs. Duplicate edges are merged; a test
    /// edge that is also a training edge stays in both (callers decide whether that is an error).
    pub fn from_edges(n_pins: u32, n_boards: u32, train: &[(u32, u32)], test: &[(u32, u32)]) -> Graph {
        let board_pins = Csr::from_pairs(n_boards as usize, train);
        let pin_boards = board_pins.transpose(n_pins as usize);
        let test = Csr::from_pairs(n_boards as usize, test);
        pin_boards.advise_huge_pages();
        board_pins.advise_huge_pages();
        Graph {
            n_pins,
            n_boards,
            pin_boards,
            board_pins,
            test,
            validation: Csr::from_pairs(n_boards as usize, &[]),
            ..Graph::default()
        }
    }

    /// Builds a graph from its board → pin rows (each sorted, without duplicates) with no edge list:
    /// the pin → board direction is their transpose. No test or validation edges.
    pub fn from_board_pins(n_pins: u32, board_pins: Csr) -> Graph {
        let n_boards = board_pins.rows();
        let pin_boards = board_pins.transpose(n_pins as usize);
        pin_boards.advise_huge_pages();
        board_pins.advise_huge_pages();
        Graph {
            n_pins,
            n_boards: n_boards as u32,
            pin_boards,
            board_pins,
            test: Csr::from_pairs(n_boards, &[]),
            validation: Csr::from_pairs(n_boards, &[]),
            ..Graph::default()
        }
    }

    pub fn n_pins(&self) -> u32 {
        self.n_pins
    }
    pub fn n_boards(&self) -> u32 {
        self.n_boards
    }
    /// Number of distinct training edges.
    pub fn n_edges(&self) -> usize {
        self.board_pins.nnz()
    }
    pub fn n_test_edges(&self) -> usize {
        self.test.nnz()
    }
    pub fn pin_boards(&self) -> &Csr {
        &self.pin_boards
    }
    pub fn board_pins(&self) -> &Csr {
        &self.board_pins
    }
    pub fn test(&self) -> &Csr {
        &self.test
    }
    /// Number of validation edges (carved from the training edges).
    pub fn n_validation_edges(&self) -> usize {
        self.validation.nnz()
    }
    pub fn validation(&self) -> &Csr {
        &self.validation
    }
    /// Validation pins of a board, sorted.
    pub fn validation_pins_of(&self, board: u32) -> &[u32] {
        if self.validation.rows() == 0 { &[] } else { self.validation.row(board) }
    }
    /// The held-out pins of `board` in `split`.
    pub fn held_out_pins_of(&self, board: u32, split: Split) -> &[u32] {
        match split {
            Split::Test => self.test_pins_of(board),
            Split::Validation => self.validation_pins_of(board),
        }
    }
    /// Pins a ranking for `board` on `split` must leave out because they are already known: the
    /// training pins, and for the test split also the validation pins.
    pub fn known_pins_of(&self, board: u32, split: Split, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(self.pins_of(board));
        if split == Split::Test {
            out.extend_from_slice(self.validation_pins_of(board));
        }
    }
    /// Replaces the validation edges (board, pin); the caller has removed them from training.
    pub fn set_validation(&mut self, pairs: &[(u32, u32)]) {
        self.validation = Csr::from_pairs(self.n_boards as usize, pairs);
    }
    /// Boards of a pin (training edges), sorted.
    pub fn boards_of(&self, pin: u32) -> &[u32] {
        self.pin_boards.row(pin)
    }
    /// Pins of a board (training edges), sorted.
    pub fn pins_of(&self, board: u32) -> &[u32] {
        self.board_pins.row(board)
    }
    /// Held-out pins of a board, sorted.
    pub fn test_pins_of(&self, board: u32) -> &[u32] {
        self.test.row(board)
    }

    /// A pin's display label: its title when the data has one, else `pin N`.
    pub fn pin_label(&self, pin: u32) -> String {
        match &self.pin_labels {
            Some(labels) => labels[pin as usize].clone(),
            None => format!("pin {pin}"),
        }
    }

    /// A board's display label.
    pub fn board_label(&self, board: u32) -> String {
        match &self.board_labels {
            Some(labels) => labels[board as usize].clone(),
            None => format!("board {board}"),
        }
    }

    /// Finds a pin by numeric id or by (case-insensitive) label substring; exact matches first.
    pub fn find_pins(&self, query: &str, limit: usize) -> Vec<u32> {
        let q = query.trim();
        if q.is_empty() {
            return Vec::new();
        }
        let mut found = Vec::new();
        if let Ok(id) = q.parse::<u32>()
            && id < self.n_pins
        {
            found.push(id);
        }
        if let Some(labels) = &self.pin_labels {
            let lower = q.to_lowercase();
            for (i, l) in labels.iter().enumerate() {
                if found.len() >= limit {
                    break;
                }
                if l.to_lowercase().contains(&lower) && !found.contains(&(i as u32)) {
                    found.push(i as u32);
                }
            }
        }
        found.truncate(limit);
        found
    }

    /// Heap bytes of the adjacency (train both ways, and test).
    pub fn adjacency_bytes(&self) -> usize {
        self.pin_boards.heap_bytes()
            + self.board_pins.heap_bytes()
            + self.test.heap_bytes()
            + self.validation.heap_bytes()
    }

    /// Counts, degree statistics and memory use.
    pub fn stats(&self) -> GraphStats {
        let train_bytes = self.pin_boards.heap_bytes() + self.board_pins.heap_bytes();
        GraphStats {
            source: self.source.clone(),
            pins: self.n_pins,
            boards: self.n_boards,
            edges: self.n_edges(),
            test_edges: self.n_test_edges(),
            validation_edges: self.n_validation_edges(),
            pin_degree: degree_stats(&self.pin_boards),
            board_degree: degree_stats(&self.board_pins),
            feature_dim: self.features.as_ref().map_or(0, |f| f.dim),
            categories: self.categories.as_ref().map_or(0, |c| c.names.len()),
            has_labels: self.pin_labels.is_some(),
            adjacency_bytes: self.adjacency_bytes(),
            bytes_per_edge: if self.n_edges() == 0 { 0.0 } else { train_bytes as f64 / self.n_edges() as f64 },
        }
    }
}

fn degree_stats(csr: &Csr) -> DegreeStats {
    let mut degrees: Vec<u32> = (0..csr.rows() as u32).map(|i| csr.degree(i)).collect();
    if degrees.is_empty() {
        return DegreeStats { min: 0, max: 0, mean: 0.0, median: 0, isolated: 0, top_1pct_share: 0.0 };
    }
    let isolated = degrees.iter().filter(|&&d| d == 0).count() as u32;
    let mean = csr.nnz() as f64 / degrees.len() as f64;
    let mid = degrees.len() / 2;
    let (_, median, _) = degrees.select_nth_unstable(mid);
    let median = *median;
    let top = degrees.len().div_ceil(100);
    degrees.select_nth_unstable_by(top - 1, |a, b| b.cmp(a));
    let top_edges: u64 = degrees[..top].iter().map(|&d| d as u64).sum();
    DegreeStats {
        top_1pct_share: if csr.nnz() == 0 { 0.0 } else { top_edges as f64 / csr.nnz() as f64 },
        min: *degrees.iter().min().unwrap_or(&0),
        max: *degrees.iter().max().unwrap_or(&0),
        mean,
        median,
        isolated,
    }
}
