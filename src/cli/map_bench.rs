//! `pinsage bench map`: t-SNE or UMAP of seeded clustered vectors (e.g. 100,000 × 64), timed by
//! stage, with peak memory, the share of each point's 10 nearest neighbours kept in the map on a
//! sample of points, and (with --recall) the approximate neighbours' recall against exact search.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use pinsage_explorer::embed_map::{MapControl, MapOptions, Method, knn_approx, project_with};

/// Options of `pinsage bench map`.
#[derive(clap::Args, Debug, Clone)]
pub struct MapBenchArgs {
    /// Vectors mapped (e.g. 1e5).
    #[arg(long, default_value = "1e5")]
    pub points: String,
    #[arg(long, default_value_t = 64)]
    pub dim: usize,
    /// Gaussian clusters the vectors are drawn around.
    #[arg(long, default_value_t = 50)]
    pub clusters: usize,
    #[arg(long, value_parser = super::named::<Method>(), default_value_t = Method::Tsne)]
    pub method: Method,
    /// Above this many points: approximate neighbours (and FIt-SNE for t-SNE).
    #[arg(long, default_value_t = pinsage_explorer::embed_map::EXACT_KNN_MAX)]
    pub exact_max: usize,
    /// Also measure the approximate neighbours' recall@15 on 500 points against exact search.
    #[arg(long)]
    pub recall: bool,
    /// Optimisation epochs instead of the defaults.
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `clusters` Gaussian blobs (centres at spread 4 per axis, unit noise) of `n` points in `dim` dimensions.
fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    let mut normal = move || {
        let mut u = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f32 / (1u64 << 53) as f32
        };
        let (u1, u2) = (u().max(1e-9), u());
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    };
    let centres: Vec<f32> = (0..clusters * dim).map(|_| 4.0 * normal()).collect();
    let mut out = Vec::with_capacity(n * dim);
    for i in 0..n {
        let c = &centres[(i % clusters) * dim..(i % clusters + 1) * dim];
        out.extend(c.iter().map(|v| v + normal()));
    }
    out
}

/// The rows of the `k` smallest distances.
fn k_smallest(rows: impl Iterator<Item = (usize, f32)>, k: usize) -> Vec<usize> {
    let mut d: Vec<(usize, f32)> = rows.collect();
    d.sort_by(|a, b| a.1.total_cmp(&b.1));
    d.into_iter().take(k).map(|(j, _)| j).collect()
}

/// Row `i`'s `k` nearest other rows of `data` (exact).
fn exact_nearest(data: &[f32], dim: usize, i: usize, k: usize) -> Vec<usize> {
    let q = &data[i * dim..(i + 1) * dim];
    let rows = data.chunks_exact(dim).enumerate().filter(|&(j, _)| j != i);
    k_smallest(rows.map(|(j, r)| (j, q.iter().zip(r).map(|(a, b)| (a - b) * (a - b)).sum())), k)
}

/// Share of each sampled row's 10 nearest neighbours in `data` (exact) among its 30 nearest in `points`.
fn kept(data: &[f32], dim: usize, points: &[[f32; 2]], sample: &[usize]) -> f64 {
    let mut sum = 0.0;
    for &i in sample {
        let high = exact_nearest(data, dim, i, 10);
        let p = points[i];
        let low = k_smallest(
            points
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, r)| (j, (p[0] - r[0]).powi(2) + (p[1] - r[1]).powi(2))),
            30,
        );
        sum += high.iter().filter(|j| low.contains(j)).count() as f64 / 10.0;
    }
    sum / sample.len().max(1) as f64
}

/// Share of each sampled row's 10 nearest in `points` that come from its own cluster (row `i` is
/// drawn around centre `i % clusters`; a random layout scores about 1 / clusters).
fn same_cluster(points: &[[f32; 2]], clusters: usize, sample: &[usize]) -> f64 {
    let mut sum = 0.0;
    for &i in sample {
        let p = points[i];
        let rows = points.iter().enumerate().filter(|&(j, _)| j != i);
        let near = k_smallest(rows.map(|(j, r)| (j, (p[0] - r[0]).powi(2) + (p[1] - r[1]).powi(2))), 10);
        sum += near.iter().filter(|&&j| j % clusters == i % clusters).count() as f64 / 10.0;
    }
    sum / sample.len().max(1) as f64
}

/// `pinsage bench map`.
pub fn bench_map_cmd(args: &MapBenchArgs) -> anyhow::Result<()> {
    let n = super::scale::whole(&args.points)? as usize;
    anyhow::ensure!(args.dim > 0 && args.clusters > 0, "--dim and --clusters must be at least 1");
    anyhow::ensure!(args.method != Method::Pca, "bench map times t-SNE or UMAP (PCA is instant)");
    let bytes = pinsage_explorer::memory::bytes(n as u64, 4 * args.dim as u64);
    pinsage_explorer::memory::check(bytes, "the benchmark's vectors")?;
    let data = clustered(n, args.dim, args.clusters, args.seed);
    let sample: Vec<usize> = (0..500.min(n)).map(|i| i * (n / 500.min(n).max(1))).collect();
    let threads = rayon::current_num_threads();
    println!(
        "{} of {n} clustered points × {} ({} clusters) on {threads} threads",
        args.method.title(),
        args.dim,
        args.clusters
    );
    if args.recall && n > 1 {
        let t = Instant::now();
        let approx = knn_approx(&data, args.dim, 15, &MapControl::default())?;
        let secs = t.elapsed().as_secs_f64();
        let mut hit = 0usize;
        for &i in &sample {
            let exact = exact_nearest(&data, args.dim, i, 15);
            hit += exact.iter().filter(|j| approx[i].iter().any(|(a, _)| a == *j)).count();
        }
        println!(
            "approximate 15-NN of all points: {secs:.1} s; recall@15 {:.4} on {} points",
            hit as f64 / (15 * sample.len()) as f64,
            sample.len()
        );
    }
    // Stage timings from the progress reports.
    let stages: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let s2 = stages.clone();
    let ctl = MapControl::with_progress(move |_, stage| {
        let mut s = s2.lock().unwrap_or_else(|e| e.into_inner());
        if s.last().is_none_or(|(last, _)| last != stage) {
            s.push((stage.to_string(), Instant::now()));
        }
    });
    let t = Instant::now();
    let opts = MapOptions { exact_knn_max: args.exact_max, epochs: args.epochs, ..MapOptions::default() };
    let map = project_with(&data, args.dim, args.method, args.seed, &ctl, &opts)?;
    let total = t.elapsed().as_secs_f64();
    let stages = stages.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for (i, (stage, at)) in stages.iter().enumerate() {
        let end = stages.get(i + 1).map_or_else(Instant::now, |s| s.1);
        println!("  {stage:<36} {:>8.1} s", (end - *at).as_secs_f64());
    }
    let kept = kept(&data, args.dim, &map.points, &sample);
    let purity = same_cluster(&map.points, args.clusters, &sample);
    println!(
        "mapped {} points in {total:.1} s; of each point's 10 nearest in the map {:.0} % from its own cluster, \
         {:.0} % of its 10 nearest kept among its 30 nearest ({} points); peak memory {}{}",
        map.mapped,
        100.0 * purity,
        100.0 * kept,
        sample.len(),
        pinsage_explorer::scale::peak_rss_bytes().map_or("?".into(), |b| format!("{:.0} MiB", b as f64 / 1048576.0)),
        map.note.as_ref().map(|n| format!("; {n}")).unwrap_or_default()
    );
    Ok(())
}
