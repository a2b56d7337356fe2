//! Approximate nearest neighbours over pin embeddings (USearch's HNSW, inner product on unit
//! vectors): building an index in parallel, searching it, and a checked file format around
//! USearch's own bytes (magic, sizes, a checksum, and a fingerprint of the embeddings it indexes),
//! so a missing, truncated, corrupt or stale index is an error naming the file, never a crash.
//! Below [`ANN_MIN_PINS`] pins exact search is fast enough and is the default.

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::graph::{Graph, Split};
use crate::infer::Embeddings;
use crate::recommend::{Query, Recommendations};

/// From this many pins up, `recommend` and `embed` use an index when one is there; below, exact search.
pub const ANN_MIN_PINS: usize = 200_000;

/// The index file's name inside a run folder.
pub const INDEX_FILE: &str = "pins.ann";

const MAGIC: &[u8; 8] = b"PSANN\x001\n";
const HEADER_BYTES: usize = 8 + 5 * 8;

/// HNSW parameters: links per node, and the candidate lists kept while adding and searching.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct AnnConfig {
    pub connectivity: usize,
    pub expansion_add: usize,
    pub expansion_search: usize,
}

impl Default for AnnConfig {
    /// Chosen with `pinsage bench ann` on random 64-d unit vectors (the hardest case: no low
    /// intrinsic dimension), BENCHMARKS.md: the denser graph (48 links, 256 candidates while
    /// adding, against 32 and 128) costs about 1.4× the build, and 768 search candidates reach
    /// recall@20 0.989 at 1 M vectors (0.9998 at 100 k); the old 32/128/160 gave 0.59 at 1 M.
    fn default() -> Self {
        AnnConfig { connectivity: 48, expansion_add: 256, expansion_search: 768 }
    }
}

/// Why an index could not be built, read or searched.
#[derive(Debug, thiserror::Error)]
pub enum AnnError {
    #[error("{}: cannot read the index: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
    #[error("the nearest-neighbour index failed: {0}")]
    Index(String),
    #[error(transparent)]
    Memory(#[from] crate::memory::OutOfMemory),
}

fn index_err(e: impl std::fmt::Display) -> AnnError {
    AnnError::Index(e.to_string())
}

/// An HNSW index over `n` vectors of `dim` floats, keyed by row number.
pub struct AnnIndex {
    index: Index,
    pub n: usize,
    pub dim: usize,
    /// [`fingerprint`] of the vectors it was built from.
    pub fingerprint: u64,
}

impl std::fmt::Debug for AnnIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnnIndex {{ n: {}, dim: {} }}", self.n, self.dim)
    }
}

fn options(dim: usize, cfg: &AnnConfig) -> IndexOptions {
    IndexOptions {
        dimensions: dim,
        metric: MetricKind::IP,
        quantization: ScalarKind::F32,
        connectivity: cfg.connectivity,
        expansion_add: cfg.expansion_add,
        expansion_search: cfg.expansion_search,
        multi: false,
    }
}

/// FNV-1a over bytes.
fn fnv(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// A cheap fingerprint of a vector set (its size and up to 4,096 rows spread over it), to tell an
/// index built from other embeddings.
pub fn fingerprint(vectors: &[f32], dim: usize) -> u64 {
    let n = vectors.len() / dim.max(1);
    let step = (n / 4096).max(1);
    let mut h = fnv(&(n as u64).to_le_bytes()) ^ (dim as u64).rotate_left(17);
    for r in (0..n).step_by(step) {
        h = h.rotate_left(5) ^ fnv(bytemuck::cast_slice(&vectors[r * dim..(r + 1) * dim]));
    }
    h
}

/// Bytes an index of `n` vectors of `dim` floats holds (vectors plus about 1.5 × `connectivity`
/// links of 4 bytes on the base level, and the upper levels).
pub fn index_bytes(n: usize, dim: usize, cfg: &AnnConfig) -> u64 {
    crate::memory::bytes(n as u64, 4 * dim as u64 + 8 * cfg.connectivity as u64 + 64)
}

impl AnnIndex {
    /// Builds an index of the rows of `vectors` (row-major, `dim` each) on all rayon threads.
    pub fn build(vectors: &[f32], dim: usize, cfg: &AnnConfig) -> Result<AnnIndex, AnnError> {
        if dim == 0 || !vectors.len().is_multiple_of(dim) {
            return Err(AnnError::Index(format!("{} floats are not rows of {dim}", vectors.len())));
        }
        let n = vectors.len() / dim;
        crate::memory::check(index_bytes(n, dim, cfg), "the nearest-neighbour index")?;
        let index = Index::new(&options(dim, cfg)).map_err(index_err)?;
        index.reserve_capacity_and_threads(n.max(1), rayon::current_num_threads()).map_err(index_err)?;
        vectors.par_chunks(dim).enumerate().try_for_each(|(i, row)| index.add(i as u64, row)).map_err(index_err)?;
        Ok(AnnIndex { index, n, dim, fingerprint: fingerprint(vectors, dim) })
    }

    /// Changes the candidate list kept while searching (recall against speed).
    pub fn set_expansion_search(&self, expansion: usize) {
        self.index.change_expansion_search(expansion);
    }

    /// The `k` rows nearest `query` by inner product, best first, with their dot products.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(u32, f32)>, AnnError> {
        if query.len() != self.dim {
            return Err(AnnError::Index(format!("a query of {} floats for an index of {}", query.len(), self.dim)));
        }
        let m = self.index.search(query, k.min(self.n)).map_err(index_err)?;
        Ok(m.keys.iter().zip(&m.distances).map(|(&key, &d)| (key as u32, 1.0 - d)).collect())
    }

    /// Writes the index to `path` atomically: header (magic, rows, dim, fingerprint, payload
    /// length, payload checksum), then USearch's bytes.
    pub fn save(&self, path: &Path) -> Result<(), AnnError> {
        let io = |e| AnnError::Io { path: path.to_path_buf(), error: e };
        let mut payload = vec![0u8; self.index.serialized_length()];
        self.index.save_to_buffer(&mut payload).map_err(index_err)?;
        crate::export::create_parent(path).map_err(io)?;
        let tmp = path.with_extension("ann.tmp");
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
        f.write_all(MAGIC).map_err(io)?;
        for v in [self.n as u64, self.dim as u64, self.fingerprint, payload.len() as u64, fnv(&payload)] {
            f.write_all(&v.to_le_bytes()).map_err(io)?;
        }
        f.write_all(&payload).map_err(io)?;
        f.into_inner().map_err(|e| io(e.into_error()))?.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads an index written by [`AnnIndex::save`]; every check happens before USearch sees a byte.
    pub fn load(path: &Path, cfg: &AnnConfig) -> Result<AnnIndex, AnnError> {
        let bad = |problem: String| AnnError::File { path: path.to_path_buf(), problem };
        let bytes = std::fs::read(path).map_err(|e| AnnError::Io { path: path.to_path_buf(), error: e })?;
        if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
            return Err(bad(
                "not a pinsage nearest-neighbour index (bad header); rebuild it with `pinsage index`".into()
            ));
        }
        let word = |i: usize| u64::from_le_bytes(bytes[8 + 8 * i..16 + 8 * i].try_into().unwrap_or([0; 8]));
        let (n, dim, fingerprint, len, sum) = (word(0), word(1), word(2), word(3), word(4));
        let payload = &bytes[HEADER_BYTES..];
        if payload.len() as u64 != len {
            return Err(bad(format!("truncated or padded: {} payload bytes, the header says {len}", payload.len())));
        }
        if fnv(payload) != sum {
            return Err(bad("corrupt: the checksum does not match; rebuild it with `pinsage index`".into()));
        }
        let dim = usize::try_from(dim)
            .ok()
            .filter(|&d| d > 0 && d <= 1 << 16)
            .ok_or_else(|| bad(format!("bad dim {dim}")))?;
        let index = Index::new(&options(dim, cfg)).map_err(index_err)?;
        index.load_from_buffer(payload).map_err(|e| bad(format!("USearch refused it: {e}")))?;
        if index.size() as u64 != n || index.dimensions() != dim {
            return Err(bad(format!(
                "holds {} rows of {}, the header says {n} of {dim}",
                index.size(),
                index.dimensions()
            )));
        }
        index.change_expansion_search(cfg.expansion_search);
        Ok(AnnIndex { index, n: n as usize, dim, fingerprint })
    }

    /// Fails unless this index was built from `emb`'s pins.
    pub fn check_matches(&self, emb: &Embeddings, path: &Path) -> Result<(), AnnError> {
        if self.n != emb.n_pins || self.dim != emb.dim || self.fingerprint != fingerprint(emb.pins(), emb.dim) {
            return Err(AnnError::File {
                path: path.to_path_buf(),
                problem: format!(
                    "stale: built from other embeddings ({} pins × {}; these are {} × {}); rebuild it with `pinsage index`",
                    self.n, self.dim, emb.n_pins, emb.dim
                ),
            });
        }
        Ok(())
    }

    /// The top `k` pins for `query` from the index: a board's known pins (training and
    /// validation) or the query pin itself left out, as [`crate::recommend::recommend`] does.
    pub fn recommend(&self, g: &Graph, emb: &Embeddings, query: Query, k: usize) -> Result<Recommendations, AnnError> {
        let (node, title, known) = match query {
            Query::Board(b) if b < g.n_boards() => {
                let mut known = Vec::new();
                g.known_pins_of(b, Split::Test, &mut known);
                (emb.n_pins as u32 + b, g.board_label(b), known)
            }
            Query::Pin(p) if p < g.n_pins() => (p, g.pin_label(p), vec![p]),
            _ => return Ok(Recommendations { query, title: String::new(), excluded: 0, items: Vec::new() }),
        };
        let items = self.search_excluding(emb.row(node), k, &known)?;
        Ok(Recommendations { query, title, excluded: known.len(), items })
    }

    /// The top `k` rows for `query` leaving out `excluded` (sorted or not).
    fn search_excluding(&self, query: &[f32], k: usize, excluded: &[u32]) -> Result<Vec<(u32, f32)>, AnnError> {
        let mut found = self.search(query, k + excluded.len())?;
        found.retain(|(p, _)| !excluded.contains(p));
        found.truncate(k);
        Ok(found)
    }

    /// Each pin's top `k` other pins, in parallel.
    pub fn top_k_for_pins(&self, emb: &Embeddings, pins: &[u32], k: usize) -> Result<Vec<Vec<(u32, f32)>>, AnnError> {
        pins.par_iter().map(|&p| self.search_excluding(emb.row(p), k, &[p])).collect()
    }
}

/// Which nearest-neighbour search a command uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SearchKind {
    /// The index when the run has one and at least [`ANN_MIN_PINS`] pins, else exact.
    #[default]
    Auto,
    /// Exact search over every pin.
    Exact,
    /// The index (built in memory when the run has none).
    Ann,
}

crate::named_enum!(SearchKind, "search" { Auto => "auto", Exact => "exact", Ann => "ann" });

/// Share of `exact`'s items that `approx` also found, per list, averaged (recall@k of the index).
pub fn recall(approx: &[Vec<u32>], exact: &[Vec<u32>]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0;
    for (a, e) in approx.iter().zip(exact) {
        if e.is_empty() {
            continue;
        }
        sum += e.iter().filter(|p| a.contains(p)).count() as f64 / e.len() as f64;
        n += 1;
    }
    if n == 0 { 1.0 } else { sum / n as f64 }
}
