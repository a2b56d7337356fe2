//! 2-D maps of embeddings by PCA, t-SNE (the `bhtsne` crate: Barnes-Hut, or its FFT-interpolated
//! FIt-SNE above [`EXACT_KNN_MAX`] rows) or UMAP (the `umap-rs` crate), with progress reports and a
//! cancel flag, for the embedding map and `pinsage embed --project`. Both run on k-nearest
//! neighbours: exact up to [`EXACT_KNN_MAX`] rows, from an HNSW index (USearch) above. Up to
//! [`MAX_NONLINEAR_POINTS`] rows are mapped in full; above that a seeded uniform sample is mapped
//! and the rest are left out (their points are NaN), which the result says in [`Map2d::note`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

mod knn;
use knn::HNSW_CONNECTIVITY;
pub use knn::{knn, knn_approx, neighbours};

use crate::projection::{ProjectionError, pca_2d};

/// The most rows t-SNE and UMAP map; larger inputs are subsampled to this many.
pub const MAX_NONLINEAR_POINTS: usize = 100_000;

/// Up to this many rows t-SNE and UMAP use exact nearest neighbours (and t-SNE Barnes-Hut with
/// 1,000 epochs); above, neighbours come from an HNSW index and t-SNE is FIt-SNE with
/// [`TSNE_LARGE_EPOCHS`] epochs (BENCHMARKS.md, "Embedding maps").
pub const EXACT_KNN_MAX: usize = 20_000;

/// How a map is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The two leading principal components (linear, exact, fast).
    #[default]
    Pca,
    /// t-SNE (Barnes-Hut, perplexity 30): keeps neighbours together, distorts distances.
    Tsne,
    /// UMAP (15 neighbours, min_dist 0.1): keeps neighbours together, more global structure.
    Umap,
}

crate::named_enum!(Method, "projection" { Pca => "pca", Tsne => "tsne", Umap => "umap" });

impl Method {
    pub const ALL: [Method; 3] = [Method::Pca, Method::Tsne, Method::Umap];
    pub fn title(self) -> &'static str {
        match self {
            Method::Pca => "PCA",
            Method::Tsne => "t-SNE",
            Method::Umap => "UMAP",
        }
    }
}

/// Why a map could not be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MapError {
    #[error(transparent)]
    Input(#[from] ProjectionError),
    #[error("{method} needs at least {need} rows, got {got}")]
    TooFewRows { method: &'static str, need: usize, got: usize },
    #[error("cancelled")]
    Cancelled,
    #[error("{0} failed: {1}")]
    Failed(&'static str, String),
}

/// A progress callback: the fraction done in [0, 1] and the stage ("neighbours", "optimising").
pub type ProgressFn = Arc<dyn Fn(f32, &str) + Send + Sync>;

/// A shared cancel flag and an optional progress callback, checked and called between steps.
#[derive(Clone, Default)]
pub struct MapControl {
    cancel: Arc<AtomicBool>,
    progress: Option<ProgressFn>,
}

impl MapControl {
    pub fn with_progress(f: impl Fn(f32, &str) + Send + Sync + 'static) -> MapControl {
        MapControl { cancel: Arc::default(), progress: Some(Arc::new(f)) }
    }
    /// Asks the computation to stop at its next check (it then returns [`MapError::Cancelled`]).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
    fn report(&self, fraction: f32, stage: &str) {
        if let Some(f) = &self.progress {
            f(fraction.clamp(0.0, 1.0), stage);
        }
    }
    fn check(&self) -> Result<(), MapError> {
        if self.is_cancelled() { Err(MapError::Cancelled) } else { Ok(()) }
    }
}

/// A 2-D map of the input rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map2d {
    pub method: Method,
    /// One point per input row, in input order; NaN for rows left out of a subsample.
    pub points: Vec<[f32; 2]>,
    /// How many rows were mapped (all of them unless subsampled).
    pub mapped: usize,
    /// PCA only: the share of the variance each axis explains.
    pub explained: Option<[f64; 2]>,
    /// What the reader should know (a subsample, the perplexity used).
    pub note: Option<String>,
}

/// Maps the rows of `rows` (row-major, `dim` columns) to 2-D by `method`; `seed` fixes the
/// subsample. Deterministic for PCA; t-SNE starts from the (scaled) PCA map, so it is too for a
/// fixed thread count; UMAP's negative sampling is random.
pub fn project(rows: &[f32], dim: usize, method: Method, seed: u64, ctl: &MapControl) -> Result<Map2d, MapError> {
    project_with(rows, dim, method, seed, ctl, &MapOptions::default())
}

/// Where t-SNE and UMAP change strategy (the defaults are the constants; tests lower them to run
/// the large-input path on small inputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapOptions {
    /// At most this many rows are mapped (a seeded sample above).
    pub max_points: usize,
    /// Above this many mapped rows: approximate neighbours and, for t-SNE, FIt-SNE with fewer epochs.
    pub exact_knn_max: usize,
    /// Optimisation epochs instead of the defaults (t-SNE: [`TSNE_EPOCHS`], [`TSNE_LARGE_EPOCHS`];
    /// UMAP: [`umap_epochs`]).
    pub epochs: Option<usize>,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions { max_points: MAX_NONLINEAR_POINTS, exact_knn_max: EXACT_KNN_MAX, epochs: None }
    }
}

/// [`project`] with explicit [`MapOptions`].
pub fn project_with(
    rows: &[f32],
    dim: usize,
    method: Method,
    seed: u64,
    ctl: &MapControl,
    opts: &MapOptions,
) -> Result<Map2d, MapError> {
    if method == Method::Pca {
        ctl.report(0.0, "PCA");
        let p = pca_2d(rows, dim)?;
        ctl.report(1.0, "PCA");
        return Ok(Map2d {
            method,
            mapped: p.points.len(),
            points: p.points,
            explained: Some(p.explained),
            note: None,
        });
    }
    // Validate the input the way PCA does (dimension, whole rows, finite values).
    if dim == 0 {
        return Err(ProjectionError::ZeroDim.into());
    }
    if !rows.len().is_multiple_of(dim) {
        return Err(ProjectionError::Ragged { len: rows.len(), dim }.into());
    }
    if let Some(i) = rows.iter().position(|x| !x.is_finite()) {
        return Err(ProjectionError::NotFinite(i / dim).into());
    }
    let n = rows.len() / dim;
    let need = 8;
    if n < need {
        return Err(MapError::TooFewRows { method: method.title(), need, got: n });
    }
    let sample = subsample(n, opts.max_points.max(need), seed);
    let data: Vec<f32> = sample.iter().flat_map(|&i| rows[i * dim..(i + 1) * dim].iter().copied()).collect();
    let m = sample.len();
    let mut notes = Vec::new();
    if m < n {
        notes.push(format!("a random sample of {m} of {n} points (at most {} are mapped)", opts.max_points));
    }
    let large = m > opts.exact_knn_max;
    crate::memory::check(map_bytes(m, dim, method, large), &format!("the {} map", method.title()))
        .map_err(|e| MapError::Failed(method.title(), e.to_string()))?;
    let init = pca_2d(&data, dim)?.points;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match method {
        Method::Tsne => tsne(&data, dim, &init, large, opts.epochs, ctl, &mut notes),
        _ => umap(&data, dim, &init, large, opts.epochs, ctl, &mut notes),
    }));
    let mapped = match result {
        Ok(r) => r?,
        Err(payload) if payload.is::<CancelUnwind>() => return Err(MapError::Cancelled),
        Err(payload) => {
            let why = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unexpected error".into());
            return Err(MapError::Failed(method.title(), why.trim().to_string()));
        }
    };
    let mut points = vec![[f32::NAN; 2]; n];
    for (&i, p) in sample.iter().zip(mapped) {
        points[i] = p;
    }
    ctl.report(1.0, "done");
    Ok(Map2d { method, points, mapped: m, explained: None, note: (!notes.is_empty()).then(|| notes.join("; ")) })
}

/// Each row's nearest other rows as (row, Euclidean distance), nearest first.
pub type Neighbours = Vec<Vec<(usize, f32)>>;

/// Unwinds out of t-SNE's epoch loop when cancelled (never reaches the panic hook).
struct CancelUnwind;

/// `cap` indices of `0..n`, sorted, chosen by a seeded hash (all of them when `n <= cap`).
pub fn subsample(n: usize, cap: usize, seed: u64) -> Vec<usize> {
    if n <= cap {
        return (0..n).collect();
    }
    let mut keyed: Vec<(u64, usize)> = (0..n).map(|i| (splitmix(seed ^ (i as u64).wrapping_mul(0x9E37)), i)).collect();
    keyed.select_nth_unstable(cap - 1);
    let mut out: Vec<usize> = keyed[..cap].iter().map(|&(_, i)| i).collect();
    out.sort_unstable();
    out
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Bytes a t-SNE or UMAP map of `n` rows of `dim` floats needs at its peak, roughly: the copied
/// rows, the neighbour lists (twice while they are converted), the index when `approximate`, and
/// the optimiser's per-point state.
pub fn map_bytes(n: usize, dim: usize, method: Method, approximate: bool) -> u64 {
    let k: u64 = match method {
        Method::Pca => 0,
        Method::Tsne => 91,
        Method::Umap => 15,
    };
    let index = if approximate { 4 * dim as u64 + 8 * HNSW_CONNECTIVITY as u64 + 64 } else { 0 };
    crate::memory::bytes(n as u64, 8 * dim as u64 + 2 * 16 * k + 16 * k + index + 256)
}

/// `init` scaled so that its first coordinate has standard deviation `std`.
fn scaled(init: &[[f32; 2]], std: f32) -> Vec<f32> {
    let n = init.len().max(1) as f32;
    let mean = init.iter().map(|p| p[0]).sum::<f32>() / n;
    let sd = (init.iter().map(|p| (p[0] - mean).powi(2)).sum::<f32>() / n).sqrt().max(1e-12);
    init.iter().flat_map(|p| [p[0] / sd * std, p[1] / sd * std]).collect()
}

/// t-SNE's epochs up to [`EXACT_KNN_MAX`] rows.
pub const TSNE_EPOCHS: usize = 1000;
/// t-SNE's epochs above [`EXACT_KNN_MAX`] rows (FIt-SNE; 250 of them exaggerated).
pub const TSNE_LARGE_EPOCHS: usize = 500;

fn tsne(
    data: &[f32],
    dim: usize,
    init: &[[f32; 2]],
    large: bool,
    epochs: Option<usize>,
    ctl: &MapControl,
    notes: &mut Vec<String>,
) -> Result<Vec<[f32; 2]>, MapError> {
    let n = data.len() / dim;
    // bhtsne needs n - 1 >= 3 · perplexity.
    let perplexity = 30f32.min(((n - 1) / 3) as f32).max(1.0);
    if perplexity < 30.0 {
        notes.push(format!("perplexity {perplexity} (few points)"));
    }
    let k = (3.0 * perplexity) as usize;
    let (lists, note) = neighbours(data, dim, k, large, ctl)?;
    notes.extend(note);
    let neighbours: Vec<Vec<bhtsne::Neighbor<f32>>> = lists
        .into_iter()
        .map(|row| row.into_iter().map(|(index, distance)| bhtsne::Neighbor { index, distance }).collect())
        .collect();
    ctl.check()?;
    let vectors: Vec<&[f32]> = data.chunks_exact(dim).collect();
    let epochs = epochs.unwrap_or(if large { TSNE_LARGE_EPOCHS } else { TSNE_EPOCHS }).max(1);
    if large {
        notes.push(format!("FIt-SNE, {epochs} epochs"));
    }
    let mut t: bhtsne::tSNE<f32, &[f32]> = bhtsne::tSNE::new(&vectors);
    t.perplexity(perplexity).epochs(epochs).initial_embedding(scaled(init, 1e-4)).epoch_callback(|epoch, _| {
        if ctl.is_cancelled() {
            std::panic::resume_unwind(Box::new(CancelUnwind));
        }
        if epoch % 10 == 0 {
            ctl.report(0.3 + 0.7 * epoch as f32 / epochs as f32, "t-SNE optimising");
        }
    });
    if large {
        t.fit_sne_with_neighbors(&neighbours);
    } else {
        t.barnes_hut_with_neighbors(0.5, &neighbours);
    }
    Ok(t.embedding().chunks_exact(2).map(|c| [c[0], c[1]]).collect())
}

/// UMAP's epochs for `n` rows: umap-learn's 500 up to 10,000 rows, 200 above, and above 50,000
/// rows as many as keep epochs × rows at 10 M (100 at 100,000): umap-rs's optimiser takes about
/// 1.5 s an epoch at 100,000 rows on 2 cores, and 100 epochs keep the clusters (BENCHMARKS.md).
pub fn umap_epochs(n: usize) -> usize {
    if n <= 10_000 { 500 } else { (10_000_000 / n).clamp(100, 200) }
}

fn umap(
    data: &[f32],
    dim: usize,
    init: &[[f32; 2]],
    large: bool,
    epochs: Option<usize>,
    ctl: &MapControl,
    notes: &mut Vec<String>,
) -> Result<Vec<[f32; 2]>, MapError> {
    use ndarray::Array2;
    let n = data.len() / dim;
    let k = 15.min(n - 1);
    if k < 15 {
        notes.push(format!("{k} neighbours (few points)"));
    }
    // umap-learn's convention: each row's list starts with the row itself at distance 0.
    let (lists, note) = neighbours(data, dim, k - 1, large, ctl)?;
    notes.extend(note);
    let mut idx = Array2::<u32>::zeros((n, k));
    let mut dist = Array2::<f32>::zeros((n, k));
    for (i, row) in lists.iter().enumerate() {
        idx[[i, 0]] = i as u32;
        for (c, &(j, d)) in row.iter().enumerate() {
            idx[[i, c + 1]] = j as u32;
            dist[[i, c + 1]] = d;
        }
    }
    ctl.check()?;
    let config = umap_rs::UmapConfig {
        n_components: 2,
        graph: umap_rs::GraphParams { n_neighbors: k, ..Default::default() },
        ..Default::default()
    };
    let x = Array2::from_shape_vec((n, dim), data.to_vec()).map_err(|e| MapError::Failed("UMAP", e.to_string()))?;
    let init =
        Array2::from_shape_vec((n, 2), scaled(init, 1.0)).map_err(|e| MapError::Failed("UMAP", e.to_string()))?;
    let u = umap_rs::Umap::new(config.clone());
    ctl.report(0.3, "UMAP fuzzy graph");
    let manifold = u.learn_manifold(x.view(), idx.view(), dist.view());
    let epochs = epochs.unwrap_or_else(|| umap_epochs(n)).max(1);
    let metric = umap_rs::EuclideanMetric;
    // The generic optimiser path: umap-rs 0.4.5's parallel Euclidean one loses the neighbourhoods
    // (about 15 % of the 10 nearest kept on clustered data against over 60 % here).
    let mut opt = umap_rs::Optimizer::new(manifold, init, epochs, &config, umap_rs::MetricType::Generic);
    while opt.remaining_epochs() > 0 {
        ctl.check()?;
        ctl.report(0.35 + 0.65 * opt.current_epoch() as f32 / epochs as f32, "UMAP optimising");
        opt.step_epochs(10.min(opt.remaining_epochs()), &metric);
    }
    Ok(opt.embedding().rows().into_iter().map(|r| [r[0], r[1]]).collect())
}

/// The 2-D map of every node of `emb` (pins then boards), written as CSV `row,kind,id,label,x,y`
/// (x and y empty for a node left out of a subsample).
pub fn write_map_csv(
    path: &std::path::Path,
    g: &crate::graph::Graph,
    map: &Map2d,
) -> Result<(), crate::export::ExportError> {
    crate::export::atomically(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(["row", "kind", "id", "label", "x", "y"])?;
        for (row, p) in map.points.iter().enumerate() {
            let (kind, id, label) = if row < g.n_pins() as usize {
                ("pin", row as u32, g.pin_label(row as u32))
            } else {
                let b = (row - g.n_pins() as usize) as u32;
                ("board", b, g.board_label(b))
            };
            let coord = |v: f32| if v.is_finite() { v.to_string() } else { String::new() };
            csv.write_record([row.to_string(), kind.into(), id.to_string(), label, coord(p[0]), coord(p[1])])?;
        }
        csv.flush()
    })
}
