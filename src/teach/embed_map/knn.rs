//! k-nearest-neighbour lists for t-SNE and UMAP: exact (blocked, in parallel) or from an HNSW
//! index (USearch) for large inputs, both checking the map's cancel flag.

use rayon::prelude::*;

use super::{MapControl, MapError, Neighbours};

/// Each row's `k` nearest other rows by Euclidean distance, nearest first (exact, in parallel;
/// ties by index), checking the cancel flag between blocks of rows.
pub fn knn(data: &[f32], dim: usize, k: usize, ctl: &MapControl) -> Result<Neighbours, MapError> {
    let n = data.len() / dim;
    let k = k.min(n.saturating_sub(1));
    let norms: Vec<f32> = data.chunks_exact(dim).map(|r| r.iter().map(|x| x * x).sum()).collect();
    let mut out = Vec::with_capacity(n);
    const BLOCK: usize = 512;
    for start in (0..n).step_by(BLOCK) {
        ctl.check()?;
        ctl.report(0.3 * start as f32 / n as f32, "nearest neighbours");
        let end = (start + BLOCK).min(n);
        let block: Vec<Vec<(usize, f32)>> = (start..end)
            .into_par_iter()
            .map(|i| {
                let q = &data[i * dim..(i + 1) * dim];
                let d: Vec<(usize, f32)> = data
                    .chunks_exact(dim)
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(j, r)| {
                        let dot: f32 = q.iter().zip(r).map(|(a, b)| a * b).sum();
                        (j, (norms[i] + norms[j] - 2.0 * dot).max(0.0))
                    })
                    .collect();
                nearest_sorted(d, k)
            })
            .collect();
        out.extend(block);
    }
    Ok(out)
}

/// Each row's `k` nearest other rows: exact, or from an HNSW index when `approximate` (the
/// returned note then says so).
pub fn neighbours(
    data: &[f32],
    dim: usize,
    k: usize,
    approximate: bool,
    ctl: &MapControl,
) -> Result<(Neighbours, Option<String>), MapError> {
    if !approximate {
        return Ok((knn(data, dim, k, ctl)?, None));
    }
    Ok((knn_approx(data, dim, k, ctl)?, Some("approximate neighbours (HNSW index)".into())))
}

/// Links per node of the HNSW index behind [`knn_approx`].
pub(super) const HNSW_CONNECTIVITY: usize = 16;

/// Each row's `k` nearest other rows by Euclidean distance, nearest first, from an HNSW index
/// (USearch, squared L2) built and searched in parallel, checking the cancel flag between blocks.
/// A row the index returns too few neighbours for is searched exactly.
pub fn knn_approx(data: &[f32], dim: usize, k: usize, ctl: &MapControl) -> Result<Neighbours, MapError> {
    use usearch::{Index, IndexOptions, MetricKind, ScalarKind};
    let failed = |e: &dyn std::fmt::Display| MapError::Failed("the neighbour index", e.to_string());
    let n = data.len() / dim.max(1);
    let k = k.min(n.saturating_sub(1));
    let options = IndexOptions {
        dimensions: dim,
        metric: MetricKind::L2sq,
        quantization: ScalarKind::F32,
        connectivity: HNSW_CONNECTIVITY,
        expansion_add: 96,
        expansion_search: (2 * k).max(64),
        multi: false,
    };
    let index = Index::new(&options).map_err(|e| failed(&e))?;
    index.reserve_capacity_and_threads(n.max(1), rayon::current_num_threads()).map_err(|e| failed(&e))?;
    const BLOCK: usize = 4096;
    for start in (0..n).step_by(BLOCK) {
        ctl.check()?;
        ctl.report(0.15 * start as f32 / n as f32, "neighbour index");
        let end = (start + BLOCK).min(n);
        (start..end)
            .into_par_iter()
            .try_for_each(|i| index.add(i as u64, &data[i * dim..(i + 1) * dim]))
            .map_err(|e| failed(&e))?;
    }
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(BLOCK) {
        ctl.check()?;
        ctl.report(0.15 + 0.15 * start as f32 / n as f32, "nearest neighbours (approximate)");
        let end = (start + BLOCK).min(n);
        let block: Vec<Vec<(usize, f32)>> = (start..end)
            .into_par_iter()
            .map(|i| {
                let q = &data[i * dim..(i + 1) * dim];
                let found = index.search(q, k + 1).map_err(|e| failed(&e))?;
                let row: Vec<(usize, f32)> = found
                    .keys
                    .iter()
                    .zip(&found.distances)
                    .filter(|&(&j, _)| j as usize != i)
                    .take(k)
                    .map(|(&j, &d2)| (j as usize, d2.max(0.0).sqrt()))
                    .collect();
                Ok(if row.len() == k { row } else { exact_row(data, dim, i, k) })
            })
            .collect::<Result<_, MapError>>()?;
        out.extend(block);
    }
    Ok(out)
}

/// Row `i`'s `k` nearest other rows by exact search, nearest first (ties by index).
fn exact_row(data: &[f32], dim: usize, i: usize, k: usize) -> Vec<(usize, f32)> {
    let q = &data[i * dim..(i + 1) * dim];
    let d: Vec<(usize, f32)> = data
        .chunks_exact(dim)
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(j, r)| (j, q.iter().zip(r).map(|(a, b)| (a - b) * (a - b)).sum::<f32>()))
        .collect();
    nearest_sorted(d, k)
}

/// The `k` smallest of (row, squared distance) pairs, nearest first (ties by row), as distances,
/// in a vector of their own size.
fn nearest_sorted(mut d: Vec<(usize, f32)>, k: usize) -> Vec<(usize, f32)> {
    if d.is_empty() {
        return d;
    }
    let kk = k.max(1).min(d.len());
    d.select_nth_unstable_by(kk - 1, |a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    d.truncate(kk);
    d.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    // A new vector of `kk`: collecting `d` in place would keep its capacity of n, and n rows of
    // those are n² (6 GB at 20,000 rows).
    let mut out = Vec::with_capacity(kk);
    out.extend(d.iter().map(|&(j, d2)| (j, d2.sqrt())));
    out
}
