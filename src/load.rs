//! Loaders for pin–board graphs: LightGCN adjacency lists, CSV/TSV edge lists and MovieLens.
//!
//! Every failure is a [`LoadError`] naming the file, the line (1-based, where there is one) and the
//! problem; nothing here panics on bad input.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::graph::{Categories, Features, Graph};
use crate::split::SplitConfig;
use crate::synthetic::{SyntheticConfig, generate};

/// An error while loading a graph, naming the file and, where it applies, the line.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read: {error}", path.display())]
    /// (`error` is shown in the message, so it is not also chained as the source.)
    Io { path: PathBuf, error: std::io::Error },
    #[error("{}:{line}: {problem}", path.display())]
    Line { path: PathBuf, line: usize, problem: String },
    #[error("{}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
    /// The load was cancelled through its [`LoadControl`].
    #[error("{}: loading was cancelled", path.display())]
    Cancelled { path: PathBuf },
}

impl LoadError {
    pub(crate) fn line(path: &Path, line: usize, problem: impl Into<String>) -> LoadError {
        LoadError::Line { path: path.to_path_buf(), line, problem: problem.into() }
    }
    pub(crate) fn io(path: &Path, e: std::io::Error) -> LoadError {
        LoadError::Io { path: path.to_path_buf(), error: e }
    }
    pub(crate) fn file(path: &Path, problem: impl Into<String>) -> LoadError {
        LoadError::File { path: path.to_path_buf(), problem: problem.into() }
    }
}

/// How far a load has got: bytes of the file read (or, while parsing, parsed) and lines parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadProgress {
    pub stage: LoadStage,
    pub bytes: u64,
    pub total_bytes: u64,
    pub lines: u64,
}

/// The stage a [`LoadProgress`] is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoadStage {
    /// Reading the file into memory.
    #[default]
    Reading,
    /// Parsing its lines.
    Parsing,
    /// Building the graph's arrays and splits.
    Building,
}

/// Lines parsed between two cancellation checks and progress reports.
pub const CHECK_EVERY_LINES: u64 = 16_384;
/// Bytes read between two cancellation checks and progress reports.
const READ_CHUNK: usize = 1 << 20;

type ProgressFn = Arc<dyn Fn(LoadProgress) + Send + Sync>;

/// Cancels a load from another thread and hears its progress (cheap to clone; clones share the
/// flag). The loaders check it every [`CHECK_EVERY_LINES`] lines and every MiB read, and answer
/// [`LoadError::Cancelled`] once it is set.
#[derive(Clone, Default)]
pub struct LoadControl {
    cancelled: Arc<AtomicBool>,
    progress: Option<ProgressFn>,
    /// A memory budget in bytes instead of the system's available memory (tests, a cautious user).
    pub memory_budget: Option<u64>,
}

impl std::fmt::Debug for LoadControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LoadControl(cancelled: {})", self.is_cancelled())
    }
}

impl LoadControl {
    /// A control whose loads report progress to `f` (called on the loading thread).
    pub fn with_progress(f: impl Fn(LoadProgress) + Send + Sync + 'static) -> LoadControl {
        LoadControl::default().on_progress(f)
    }
    /// This control (its cancel flag shared with its clones) reporting progress to `f` instead.
    pub fn on_progress(mut self, f: impl Fn(LoadProgress) + Send + Sync + 'static) -> LoadControl {
        self.progress = Some(Arc::new(f));
        self
    }
    /// This control checking allocations against `bytes` instead of the available memory.
    pub fn with_memory_budget(mut self, bytes: u64) -> LoadControl {
        self.memory_budget = Some(bytes);
        self
    }
    /// Asks the load to stop at its next check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
    /// Reports progress, then fails when the load was cancelled.
    fn tick(&self, path: &Path, progress: LoadProgress) -> Result<(), LoadError> {
        if let Some(f) = &self.progress {
            f(progress);
        }
        self.check(path)
    }
    fn check(&self, path: &Path) -> Result<(), LoadError> {
        if self.is_cancelled() { Err(LoadError::Cancelled { path: path.to_path_buf() }) } else { Ok(()) }
    }
    /// Parsing progress at `line` (1-based), `pos` bytes into `total`, every [`CHECK_EVERY_LINES`].
    fn line(&self, path: &Path, line: usize, pos: u64, total: usize) -> Result<(), LoadError> {
        if !(line as u64).is_multiple_of(CHECK_EVERY_LINES) {
            return Ok(());
        }
        let p = LoadProgress { stage: LoadStage::Parsing, bytes: pos, total_bytes: total as u64, lines: line as u64 };
        self.tick(path, p)
    }
    fn building(&self, path: &Path, total: usize, lines: u64) -> Result<(), LoadError> {
        let t = total as u64;
        self.tick(path, LoadProgress { stage: LoadStage::Building, bytes: t, total_bytes: t, lines })
    }
    /// [`crate::memory::check`] against this control's budget when it has one.
    fn memory(&self, path: &Path, need: u64, what: &str) -> Result<(), LoadError> {
        match self.memory_budget {
            Some(budget) if need > budget => {
                let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
                let problem = format!(
                    "{what} needs {:.3} MiB but this load's memory budget is {:.3} MiB",
                    mib(need),
                    mib(budget)
                );
                Err(LoadError::file(path, problem))
            }
            Some(_) => Ok(()),
            None => crate::memory::check(need, what).map_err(|e| LoadError::file(path, e.to_string())),
        }
    }
}

/// The on-disk formats the loaders understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// Sniff the format from the file name and content.
    #[default]
    Auto,
    /// `board pin pin …` per line, whitespace separated (the NGCF/LightGCN `train.txt`).
    Lightgcn,
    /// `pin,board[,weight]` (comma or tab separated), optional header, any string ids.
    Edges,
    /// MovieLens `ratings.csv` (+ `movies.csv` beside it): users are boards, movies are pins.
    Movielens,
}

/// Ratings at or above this count as a "pin" of the movie to the user's board.
pub const MOVIELENS_MIN_RATING: f32 = 4.0;

/// Loads `spec`: the word `default` (the embedded synthetic graph), `synthetic:key=value,…` (the
/// generator with other parameters, e.g. `synthetic:pins=100000,boards=40000`), a directory holding
/// `train.txt` (+ `test.txt`) or `ratings.csv`, or a single file.
pub fn load_data(spec: &str, format: Format) -> Result<Graph, LoadError> {
    load_data_with(spec, format, &LoadControl::default())
}

/// [`load_data`], cancellable and reporting progress through `ctl`.
pub fn load_data_with(spec: &str, format: Format, ctl: &LoadControl) -> Result<Graph, LoadError> {
    if spec == "default" {
        return Ok(generate(&SyntheticConfig::default()));
    }
    if let Some(params) = spec.strip_prefix("synthetic:").or((spec == "synthetic").then_some("")) {
        let cfg = parse_synthetic(params)?;
        check_synthetic_memory(spec, &cfg)?;
        return Ok(generate(&cfg));
    }
    if let Some(params) = spec.strip_prefix("powerlaw:") {
        let cfg = crate::powerlaw::parse(params).map_err(|e| LoadError::file(Path::new(spec), e))?;
        return crate::powerlaw::generate(&cfg).map_err(|e| LoadError::file(Path::new(spec), e.to_string()));
    }
    load_path_with(Path::new(spec), format, ctl)
}

/// Loads `spec` as [`load_data`] does, then makes its held-out splits (see [`crate::split`]): the
/// graph every command trains and evaluates on.
pub fn load_split(spec: &str, format: Format, split: &SplitConfig) -> Result<Graph, LoadError> {
    load_split_with(spec, format, split, &LoadControl::default())
}

/// [`load_split`], cancellable and reporting progress through `ctl`.
pub fn load_split_with(spec: &str, format: Format, split: &SplitConfig, ctl: &LoadControl) -> Result<Graph, LoadError> {
    // A bad split is refused before the file is read.
    split.validate().map_err(|e| LoadError::File { path: PathBuf::from(spec), problem: e.to_string() })?;
    let g = load_data_with(spec, format, ctl)?;
    let path = PathBuf::from(&g.source);
    ctl.check(&path)?;
    let g =
        crate::split::apply(g, split).map_err(|e| LoadError::File { path: path.clone(), problem: e.to_string() })?;
    ctl.check(&path)?;
    Ok(g)
}

/// Parses `key=value,…` into a generator config; unknown keys and bad values are errors.
pub fn parse_synthetic(params: &str) -> Result<SyntheticConfig, LoadError> {
    let mut cfg = SyntheticConfig::default();
    let bad = |problem: String| LoadError::File { path: PathBuf::from(format!("synthetic:{params}")), problem };
    for item in params.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item.split_once('=').ok_or_else(|| bad(format!("`{item}` is not key=value")))?;
        let int = || value.parse::<u32>().map_err(|_| bad(format!("{key}: `{value}` is not a whole number")));
        let frac = || {
            value
                .parse::<f32>()
                .ok()
                .filter(|v| (0.0..=1.0).contains(v))
                .ok_or_else(|| bad(format!("{key}: `{value}` is not a number in [0, 1]")))
        };
        match key {
            "seed" => cfg.seed = value.parse().map_err(|_| bad(format!("seed: `{value}` is not a whole number")))?,
            "pins" => cfg.pins = int()?,
            "boards" => cfg.boards = int()?,
            "topics" => cfg.topics = int()?,
            "pins_per_board" => cfg.pins_per_board = int()?,
            "noise" => cfg.noise = frac()?,
            "colour" | "colour_informativeness" => cfg.colour_informativeness = frac()?,
            "test" | "test_fraction" => cfg.test_fraction = frac()?,
            _ => {
                return Err(bad(format!(
                    "unknown parameter `{key}` (seed, pins, boards, topics, pins_per_board, noise, colour, test)"
                )));
            }
        }
    }
    Ok(cfg)
}

/// Loads a graph from a file or a directory.
pub fn load_path(path: &Path, format: Format) -> Result<Graph, LoadError> {
    load_path_with(path, format, &LoadControl::default())
}

/// [`load_path`], cancellable and reporting progress through `ctl`.
pub fn load_path_with(path: &Path, format: Format, ctl: &LoadControl) -> Result<Graph, LoadError> {
    let meta = std::fs::metadata(path).map_err(|error| LoadError::Io { path: path.to_path_buf(), error })?;
    if meta.is_dir() {
        let train = path.join("train.txt");
        let ratings = path.join("ratings.csv");
        let edges_csv = path.join("edges.csv");
        return if train.is_file() && matches!(format, Format::Auto | Format::Lightgcn) {
            lightgcn_with(&train, Some(&path.join("test.txt")).filter(|t| t.is_file()).map(|p| p.as_path()), ctl)
        } else if ratings.is_file() && matches!(format, Format::Auto | Format::Movielens) {
            movielens_with(&ratings, ctl)
        } else if edges_csv.is_file() && matches!(format, Format::Auto | Format::Edges) {
            edge_list_with(&edges_csv, ctl)
        } else {
            Err(LoadError::file(
                path,
                "directory holds none of train.txt (LightGCN), ratings.csv (MovieLens) or edges.csv (edge list)",
            ))
        };
    }
    let format = match format {
        Format::Auto => sniff(path)?,
        f => f,
    };
    match format {
        Format::Lightgcn => {
            let test = (path.file_name().is_some_and(|n| n == "train.txt"))
                .then(|| path.with_file_name("test.txt"))
                .filter(|t| t.is_file());
            lightgcn_with(path, test.as_deref(), ctl)
        }
        Format::Edges => edge_list_with(path, ctl),
        Format::Movielens => movielens_with(path, ctl),
        Format::Auto => unreachable!("sniff never answers Auto"),
    }
}

/// A headerless CSV reader over `bytes` that allows rows of any length and `#` comments, split on
/// tabs when the first non-blank line has one, else on commas; returns the delimiter too.
pub(crate) fn sniffed_csv_reader(bytes: &[u8]) -> (csv::Reader<&[u8]>, u8) {
    let first_line = bytes.split(|&b| b == b'\n').find(|l| !l.trim_ascii().is_empty()).unwrap_or(&[]);
    let delimiter = if first_line.contains(&b'\t') { b'\t' } else { b',' };
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .comment(Some(b'#'))
        .from_reader(bytes);
    (reader, delimiter)
}

/// A CSV reader's error as a `LoadError` naming the file and the line.
pub(crate) fn csv_error(path: &Path, e: csv::Error) -> LoadError {
    let line = e.position().map_or(0, |p| p.line() as usize);
    LoadError::line(path, line, format!("malformed CSV: {e}"))
}

/// Reads a whole text file, rejecting missing, empty and binary files.
pub(crate) fn read_text(path: &Path) -> Result<Vec<u8>, LoadError> {
    read_text_with(path, &LoadControl::default())
}

/// [`read_text`] a MiB at a time, checking the memory first and `ctl` after every MiB.
fn read_text_with(path: &Path, ctl: &LoadControl) -> Result<Vec<u8>, LoadError> {
    let io = |e| LoadError::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    ctl.memory(path, total, "reading the file")?;
    let mut bytes = Vec::with_capacity(total as usize);
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
        let read = bytes.len() as u64;
        ctl.tick(
            path,
            LoadProgress { stage: LoadStage::Reading, bytes: read, total_bytes: total.max(read), lines: 0 },
        )?;
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(LoadError::file(path, "file is empty"));
    }
    if let Some(pos) = memchr::memchr(0, &bytes) {
        let line = 1 + memchr::memchr_iter(b'\n', &bytes[..pos]).count();
        return Err(LoadError::line(path, line, "binary data (NUL byte), not a text graph file"));
    }
    Ok(bytes)
}

/// Iterates `(line_number, text)` over the lines of `bytes`, failing on the first non-UTF-8 line.
fn lines<'a>(path: &'a Path, bytes: &'a [u8]) -> impl Iterator<Item = Result<(usize, &'a str), LoadError>> + 'a {
    bytes.split(|&b| b == b'\n').enumerate().map(move |(i, raw)| {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        std::str::from_utf8(raw).map(|s| (i + 1, s)).map_err(|e| {
            LoadError::line(path, i + 1, format!("not valid UTF-8 text (byte {} of the line)", e.valid_up_to() + 1))
        })
    })
}

fn sniff(path: &Path) -> Result<Format, LoadError> {
    if path.file_name().is_some_and(|n| n == "ratings.csv") {
        return Ok(Format::Movielens);
    }
    // The first 64 KiB decide (whole lines only); the whole file only when they do not.
    let mut prefix = Vec::new();
    let io = |e| LoadError::io(path, e);
    std::fs::File::open(path).map_err(io)?.take(64 << 10).read_to_end(&mut prefix).map_err(io)?;
    if prefix.len() == 64 << 10 {
        if let Some(pos) = memchr::memchr(0, &prefix) {
            let line = 1 + memchr::memchr_iter(b'\n', &prefix[..pos]).count();
            return Err(LoadError::line(path, line, "binary data (NUL byte), not a text graph file"));
        }
        prefix.truncate(memchr::memrchr(b'\n', &prefix).map_or(0, |i| i + 1));
        if let Some(f) = sniff_lines(path, &prefix)? {
            return Ok(f);
        }
    }
    sniff_lines(path, &read_text(path)?)?.ok_or_else(|| LoadError::file(path, "file is empty"))
}

/// The format the first data line of `bytes` says, if there is one.
fn sniff_lines(path: &Path, bytes: &[u8]) -> Result<Option<Format>, LoadError> {
    for item in lines(path, bytes) {
        let (_, line) = item?;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("userid,movieid") {
            return Ok(Some(Format::Movielens));
        }
        if t.contains(',') || t.contains('\t') {
            return Ok(Some(Format::Edges));
        }
        return Ok(Some(Format::Lightgcn));
    }
    Ok(None)
}

fn parse_id(path: &Path, line: usize, token: &str, what: &str) -> Result<u32, LoadError> {
    match token.parse::<u64>() {
        Ok(v) if v < u32::MAX as u64 => Ok(v as u32),
        Ok(v) => {
            Err(LoadError::line(path, line, format!("{what} id {v} does not fit in 32 bits (max {})", u32::MAX - 1)))
        }
        Err(_) => Err(LoadError::line(path, line, format!("{what} id `{token}` is not a non-negative integer"))),
    }
}

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

fn lightgcn_with(train: &Path, test: Option<&Path>, ctl: &LoadControl) -> Result<Graph, LoadError> {
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

/// Fails with a message naming the need and the budget when the graph's arrays would not fit.
fn check_graph_memory(
    path: &Path,
    n_pins: u32,
    n_boards: u32,
    edges: usize,
    ctl: &LoadControl,
) -> Result<(), LoadError> {
    // Offsets both ways, targets both ways plus the build's scratch copy, 4 bytes each.
    let need = 4 * (2 * (n_pins as u64 + n_boards as u64 + 2) + 3 * edges as u64);
    ctl.memory(path, need, "the graph's adjacency")
}

/// Fails with a message naming the need and the budget when a synthetic graph would not fit: its
/// adjacency (at most 3/2 × the mean board size per board), colour features and labels.
fn check_synthetic_memory(spec: &str, cfg: &SyntheticConfig) -> Result<(), LoadError> {
    let (pins, boards) = (cfg.pins as u64, cfg.boards as u64);
    let edges = crate::memory::bytes(boards, cfg.pins_per_board as u64 * 3 / 2 + 1);
    let adjacency = crate::memory::bytes(4, 2 * (pins + boards + 2)).saturating_add(crate::memory::bytes(12, edges));
    // Three f32 colour channels per pin and a short label per node (string header and text).
    let extras = crate::memory::bytes(pins, 12).saturating_add(crate::memory::bytes(pins + boards, 40));
    crate::memory::check(adjacency.saturating_add(extras), "the synthetic graph")
        .map_err(|e| LoadError::file(Path::new(spec), e.to_string()))
}

/// Maps string ids to dense ids in order of first appearance.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn get(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.to_string(), id);
        self.names.push(name.to_string());
        id
    }
}

fn looks_like_header(fields: &[&str]) -> bool {
    const NAMES: [&str; 12] =
        ["pin", "board", "item", "user", "weight", "source", "target", "src", "dst", "id", "time", "timestamp"];
    let named = fields.iter().any(|f| {
        let f = f.trim().to_ascii_lowercase();
        NAMES.iter().any(|n| {
            f == *n
                || f.ends_with(&format!("_{n}"))
                || f.starts_with(&format!("{n}_"))
                || f.ends_with(n) && f.len() <= 8
        })
    });
    let weight_not_number = fields.len() >= 3 && fields[2].trim().parse::<f64>().is_err();
    named || weight_not_number
}

/// Loads an edge list: `pin,board[,weight[,timestamp]]` per line (comma or tab separated, optional
/// header, which may name the columns in another order).
/// Ids may be any strings; they become the labels. Edges with weight ≤ 0 are left out.
pub fn load_edge_list(path: &Path) -> Result<Graph, LoadError> {
    edge_list_with(path, &LoadControl::default())
}

fn edge_list_with(path: &Path, ctl: &LoadControl) -> Result<Graph, LoadError> {
    let bytes = read_text_with(path, ctl)?;
    let (mut reader, delimiter) = sniffed_csv_reader(&bytes);
    let mut pins = Interner::default();
    let mut boards = Interner::default();
    let mut pairs = Vec::new();
    let mut times: Vec<i64> = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    // Columns by position (pin, board, weight, time) unless a header names them.
    let mut cols = EdgeColumns { pin: 0, board: 1, weight: Some(2), time: Some(3) };
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| csv_error(path, e))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        ctl.line(path, line, record.position().map_or(0, |p| p.byte()), bytes.len())?;
        let mut fields = Vec::with_capacity(4);
        for (i, f) in record.iter().enumerate() {
            let s = std::str::from_utf8(f)
                .map_err(|_| LoadError::line(path, line, format!("field {} is not valid UTF-8 text", i + 1)))?;
            fields.push(s);
        }
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue;
        }
        if first {
            first = false;
            if looks_like_header(&fields) {
                cols = EdgeColumns::from_header(&fields);
                continue;
            }
        }
        if !(2..=4).contains(&fields.len()) {
            let sep = if delimiter == b'\t' { "tab" } else { "comma" };
            return Err(LoadError::line(
                path,
                line,
                format!(
                    "expected 2 to 4 {sep}-separated fields (pin, board[, weight[, timestamp]]), found {}",
                    fields.len()
                ),
            ));
        }
        let field = |i: usize| fields.get(i).map(|f| f.trim());
        let (Some(pin), Some(board)) = (field(cols.pin), field(cols.board)) else {
            return Err(LoadError::line(
                path,
                line,
                format!("missing the pin or board field (columns {} and {})", cols.pin + 1, cols.board + 1),
            ));
        };
        if pin.is_empty() || board.is_empty() {
            return Err(LoadError::line(path, line, "empty pin or board id"));
        }
        if let Some(w) = cols.weight.and_then(field) {
            let w: f32 = w.parse().map_err(|_| LoadError::line(path, line, format!("weight `{w}` is not a number")))?;
            if !w.is_finite() {
                return Err(LoadError::line(path, line, format!("weight {w} is not finite")));
            }
            if w <= 0.0 {
                continue;
            }
        }
        let time =
            match cols.time.and_then(field) {
                Some(t) => Some(parse_time(t).ok_or_else(|| {
                    LoadError::line(path, line, format!("timestamp `{t}` is not a number of seconds"))
                })?),
                None => None,
            };
        if !times.is_empty() || (pairs.is_empty() && time.is_some()) {
            times.push(time.ok_or_else(|| LoadError::line(path, line, "missing timestamp (earlier lines have one)"))?);
        }
        pairs.push((boards.get(board), pins.get(pin)));
    }
    if pairs.is_empty() {
        return Err(LoadError::file(path, "no edges found"));
    }
    check_graph_memory(path, pins.names.len() as u32, boards.names.len() as u32, pairs.len(), ctl)?;
    ctl.building(path, bytes.len(), pairs.len() as u64)?;
    let mut g = Graph::from_edges(pins.names.len() as u32, boards.names.len() as u32, &pairs, &[]);
    ctl.check(path)?;
    if times.len() == pairs.len() {
        attach_times(&mut g, &pairs, &times);
    }
    g.pin_labels = Some(pins.names);
    g.board_labels = Some(boards.names);
    g.source = path.display().to_string();
    Ok(g)
}

/// Which field of an edge-list line holds what.
struct EdgeColumns {
    pin: usize,
    board: usize,
    weight: Option<usize>,
    time: Option<usize>,
}

impl EdgeColumns {
    /// Columns named by a header (pin/item/target, board/user/source, weight/rating, time/timestamp/ts),
    /// falling back to positions for the ones it does not name.
    fn from_header(fields: &[&str]) -> EdgeColumns {
        let find = |names: &[&str]| {
            fields.iter().position(|f| {
                let f = f.trim().to_ascii_lowercase();
                names.iter().any(|n| {
                    f == *n
                        || f.ends_with(&format!("_{n}"))
                        || f.ends_with(&format!("{n}id"))
                        || f.ends_with(&format!("{n}_id"))
                })
            })
        };
        let pin = find(&["pin", "item", "target", "dst", "movie"]).unwrap_or(0);
        let board = find(&["board", "user", "source", "src"]).unwrap_or(1);
        let time = find(&["timestamp", "time", "ts", "date"]);
        let weight =
            find(&["weight", "rating", "count", "score"]).or_else(|| (2..fields.len()).find(|&i| Some(i) != time));
        EdgeColumns { pin, board, weight, time }
    }
}

/// A timestamp in seconds (integer or decimal).
fn parse_time(t: &str) -> Option<i64> {
    t.parse::<i64>().ok().or_else(|| t.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v as i64))
}

/// Sets the graph's per-edge times from (board, pin) pairs and their times; a repeated edge keeps
/// its latest time.
fn attach_times(g: &mut Graph, pairs: &[(u32, u32)], times: &[i64]) {
    let offsets = &g.board_pins().offsets;
    let mut out = vec![i64::MIN; g.n_edges()];
    for (&(b, p), &t) in pairs.iter().zip(times) {
        if let Ok(i) = g.pins_of(b).binary_search(&p) {
            let slot = &mut out[offsets[b as usize] as usize + i];
            *slot = (*slot).max(t);
        }
    }
    g.edge_times = Some(out);
}

/// Loads MovieLens `ratings.csv` (users → boards, movies → pins, ratings ≥ [`MOVIELENS_MIN_RATING`]);
/// with `movies.csv` beside it, titles become labels and genres become features and categories.
pub fn load_movielens(ratings: &Path) -> Result<Graph, LoadError> {
    movielens_with(ratings, &LoadControl::default())
}

fn movielens_with(ratings: &Path, ctl: &LoadControl) -> Result<Graph, LoadError> {
    let bytes = read_text_with(ratings, ctl)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(|e| LoadError::line(ratings, 1, format!("malformed header: {e}")))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let (Some(user_col), Some(movie_col), Some(rating_col)) = (col("userId"), col("movieId"), col("rating")) else {
        return Err(LoadError::line(ratings, 1, "header must name userId, movieId and rating"));
    };
    let time_col = col("timestamp");
    let mut users = Interner::default();
    let mut movies = Interner::default();
    let mut pairs = Vec::new();
    let mut times = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(ratings, e))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        ctl.line(ratings, line, rec.position().map_or(0, |p| p.byte()), bytes.len())?;
        let field = |i: usize| {
            rec.get(i)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| LoadError::line(ratings, line, format!("missing field {} ({})", i + 1, &headers[i])))
        };
        let (user, movie, rating) = (field(user_col)?, field(movie_col)?, field(rating_col)?);
        let rating: f32 =
            rating.parse().map_err(|_| LoadError::line(ratings, line, format!("rating `{rating}` is not a number")))?;
        if rating >= MOVIELENS_MIN_RATING {
            if let Some(c) = time_col {
                let t = field(c)?;
                times.push(parse_time(t).ok_or_else(|| {
                    LoadError::line(ratings, line, format!("timestamp `{t}` is not a number of seconds"))
                })?);
            }
            pairs.push((users.get(user), movies.get(movie)));
        }
    }
    if pairs.is_empty() {
        return Err(LoadError::file(ratings, format!("no ratings ≥ {MOVIELENS_MIN_RATING}")));
    }
    let n_pins = movies.names.len() as u32;
    check_graph_memory(ratings, n_pins, users.names.len() as u32, pairs.len(), ctl)?;
    ctl.building(ratings, bytes.len(), pairs.len() as u64)?;
    let mut g = Graph::from_edges(n_pins, users.names.len() as u32, &pairs, &[]);
    ctl.check(ratings)?;
    if times.len() == pairs.len() {
        attach_times(&mut g, &pairs, &times);
    }
    g.board_labels = Some(users.names.iter().map(|u| format!("user {u}")).collect());
    let movies_csv = ratings.with_file_name("movies.csv");
    if movies_csv.is_file() {
        attach_movies(&mut g, &movies_csv, &movies)?;
    } else {
        g.pin_labels = Some(movies.names.iter().map(|m| format!("movie {m}")).collect());
    }
    g.source = ratings.display().to_string();
    Ok(g)
}

fn attach_movies(g: &mut Graph, path: &Path, movies: &Interner) -> Result<(), LoadError> {
    let bytes = read_text(path)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes.as_slice());
    let n = g.n_pins() as usize;
    let mut titles: Vec<Option<String>> = vec![None; n];
    let mut genres_of: Vec<Vec<u16>> = vec![Vec::new(); n];
    let mut genre_names: Vec<String> = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        if rec.len() < 3 {
            return Err(LoadError::line(
                path,
                line,
                format!("expected movieId,title,genres, found {} fields", rec.len()),
            ));
        }
        let Some(&pin) = movies.ids.get(rec[0].trim()) else { continue };
        titles[pin as usize] = Some(rec[1].trim().to_string());
        for genre in rec[2].split('|').map(str::trim).filter(|s| !s.is_empty()) {
            let gi = match genre_names.iter().position(|g| g == genre) {
                Some(i) => i,
                None => {
                    genre_names.push(genre.to_string());
                    genre_names.len() - 1
                }
            };
            genres_of[pin as usize].push(gi as u16);
        }
    }
    g.pin_keys = Some(movies.names.clone());
    g.pin_labels =
        Some(titles.into_iter().zip(&movies.names).map(|(t, id)| t.unwrap_or_else(|| format!("movie {id}"))).collect());
    let titles: Vec<String> = g.pin_labels.clone().unwrap_or_default();
    if !genre_names.is_empty() {
        // Features: genres, the release decade and hashed title words, each group of unit length.
        let genres = genre_names.len();
        let dim = genres + MOVIE_DECADES + MOVIE_TITLE_BUCKETS;
        let mut data = vec![0f32; n * dim];
        let unknown = genre_names.len() as u16;
        let mut of_pin = Vec::with_capacity(n);
        for (p, gs) in genres_of.iter().enumerate() {
            let row = &mut data[p * dim..(p + 1) * dim];
            let w = if gs.is_empty() { 0.0 } else { 1.0 / (gs.len() as f32).sqrt() };
            for &gi in gs {
                row[gi as usize] = w;
            }
            of_pin.push(gs.first().copied().unwrap_or(unknown));
            let title = titles.get(p).map_or("", String::as_str);
            if let Some(year) = title_year(title) {
                row[genres + ((year.clamp(1920, 2029) - 1920) / 10) as usize] = 1.0;
            }
            let words = &mut row[genres + MOVIE_DECADES..];
            let mut count = 0.0f32;
            for word in title.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2 && w.parse::<u32>().is_err())
            {
                let h = word
                    .to_lowercase()
                    .bytes()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
                words[(h % MOVIE_TITLE_BUCKETS as u64) as usize] += 1.0;
                count += 1.0;
            }
            let norm = words.iter().map(|x| x * x).sum::<f32>().sqrt();
            if count > 0.0 && norm > 0.0 {
                words.iter_mut().for_each(|x| *x /= norm);
            }
        }
        let mut names = genre_names;
        names.push("(unknown)".to_string());
        g.features = Some(Features { dim, data });
        g.categories = Some(Categories { names, of_pin });
    }
    Ok(())
}

/// Release decades as MovieLens features: the 1920s (and before) to the 2020s.
const MOVIE_DECADES: usize = 11;
/// Hashed buckets for the words of MovieLens titles.
const MOVIE_TITLE_BUCKETS: usize = 32;

/// The year in a MovieLens title such as `Heat (1995)`.
fn title_year(title: &str) -> Option<u32> {
    let open = title.trim_end().rfind('(')?;
    let inner = title[open + 1..].trim_end().strip_suffix(')')?;
    inner.trim().parse::<u32>().ok().filter(|y| (1800..=2100).contains(y))
}
