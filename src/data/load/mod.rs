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

mod edges;
mod lightgcn;
mod movielens;

use crate::synthetic::{SyntheticConfig, generate};
use edges::edge_list_with;
pub use edges::load_edge_list;
use lightgcn::lightgcn_with;
pub use lightgcn::load_lightgcn;
pub use movielens::load_movielens;
use movielens::movielens_with;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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

crate::named_enum!(Format, "format" { Auto => "auto", Lightgcn => "lightgcn", Edges => "edges", Movielens => "movielens" });

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
