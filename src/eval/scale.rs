//! The cost curve behind `pinsage bench scale` (one graph size per process, so peak memory does
//! not mix) and `pinsage bench ann`: generate a power-law graph, compute every node's walk
//! neighbourhood, time training steps, embed every node layer-wise, and retrieve top-20 exactly
//! and through the nearest-neighbour index, reading the peak resident memory after each stage.

use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::ann::{AnnConfig, AnnIndex, recall};
use crate::powerlaw::PowerLawConfig;
use crate::train::TrainConfig;

/// Peak resident memory of this process so far (`VmHWM` in /proc/self/status), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// One size's costs. Stages that were not reached stay `None`; `peak_rss_*` is the process's
/// peak after that stage (cumulative, so the last is the size's peak).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScaleRow {
    pub edges: u64,
    pub pins: u32,
    pub boards: u32,
    pub device: String,
    pub threads: usize,
    pub generate_secs: Option<f64>,
    /// Heap bytes of the adjacency (both directions) per training edge.
    pub adjacency_bytes_per_edge: Option<f64>,
    pub peak_rss_after_generate_bytes: Option<u64>,
    /// Every pin's top-K walk neighbourhood and every board's, as training and inference use them.
    pub walk_secs: Option<f64>,
    pub walk_top_k: usize,
    /// Width of the id embeddings: 64, or the widest power of two whose table one GPU tensor
    /// holds (`train::check_table_fits_device`).
    pub input_dim: usize,
    pub peak_rss_after_walks_bytes: Option<u64>,
    pub train_steps: usize,
    pub ms_per_step: Option<f64>,
    pub triplets_per_sec: Option<f64>,
    pub peak_rss_after_train_bytes: Option<u64>,
    /// Layer-wise embedding of every node (`infer::embed_all`), untrained weights.
    pub infer_secs: Option<f64>,
    pub peak_rss_after_infer_bytes: Option<u64>,
    pub retrieval_boards: usize,
    /// Exact top-20 for the sampled boards (all pins scored in blocks on the device).
    pub exact_top20_secs: Option<f64>,
    pub ann_build_secs: Option<f64>,
    /// Top-20 for the same boards through the index.
    pub ann_top20_secs: Option<f64>,
    pub ann_recall_at_20: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    /// Peak RSS divided by the edges.
    pub peak_bytes_per_edge: Option<f64>,
    /// Why the row stopped early, if it did.
    pub error: Option<String>,
}

/// What a scale run measures besides the size.
#[derive(Clone, Debug)]
pub struct ScaleOptions {
    pub seed: u64,
    pub train_steps: usize,
    pub retrieval_boards: usize,
    pub top_k: usize,
    pub ann: AnnConfig,
}

/// Runs every stage for `edges` edges, calling `report` with the row after each stage (so a
/// caller that is killed part-way still has the stages before).
pub fn run_size(
    edges: u64,
    opts: &ScaleOptions,
    device: &burn::prelude::Device,
    device_name: &str,
    mut report: impl FnMut(&ScaleRow),
) -> ScaleRow {
    let mut row = ScaleRow {
        edges,
        device: device_name.to_string(),
        threads: rayon::current_num_threads(),
        walk_top_k: opts.top_k,
        train_steps: opts.train_steps,
        ..ScaleRow::default()
    };
    if let Err(e) = stages(&mut row, opts, device, device_name, &mut report) {
        row.error = Some(e);
    }
    row.peak_rss_bytes = peak_rss_bytes();
    row.peak_bytes_per_edge = row.peak_rss_bytes.map(|b| b as f64 / edges as f64);
    report(&row);
    row
}

fn stages(
    row: &mut ScaleRow,
    opts: &ScaleOptions,
    device: &burn::prelude::Device,
    device_name: &str,
    report: &mut impl FnMut(&ScaleRow),
) -> Result<(), String> {
    let pl = PowerLawConfig { seed: opts.seed, ..PowerLawConfig::with_edges(row.edges) };
    (row.pins, row.boards) = (pl.pins, pl.boards);
    let t = Instant::now();
    let g = crate::powerlaw::generate(&pl).map_err(|e| e.to_string())?;
    row.generate_secs = Some(t.elapsed().as_secs_f64());
    row.adjacency_bytes_per_edge = Some(g.stats().bytes_per_edge);
    row.peak_rss_after_generate_bytes = peak_rss_bytes();
    report(row);

    let mut cfg = TrainConfig { seed: opts.seed, ..TrainConfig::default() };
    cfg.walk.top_k = opts.top_k;
    while cfg.input_dim > 8 && crate::train::check_table_fits_device(&cfg, &g, device).is_err() {
        cfg.input_dim /= 2;
    }
    row.input_dim = cfg.input_dim;
    let t = Instant::now();
    let nb = crate::sampler::try_node_neighbourhoods(&g, cfg.neighbourhood, &cfg.walk).map_err(|e| e.to_string())?;
    row.walk_secs = Some(t.elapsed().as_secs_f64());
    row.peak_rss_after_walks_bytes = peak_rss_bytes();
    report(row);

    if opts.train_steps > 0 {
        crate::memory::check(crate::train::model_bytes(&cfg, &g, true), "the model and its optimizer state")
            .map_err(|e| e.to_string())?;
        let r = crate::bench::bench_train_step_with(
            &g,
            &nb,
            &cfg,
            device,
            device_name,
            opts.train_steps,
            &Default::default(),
        )
        .map_err(|e| e.to_string())?;
        row.ms_per_step = Some(r.ms_per_step);
        row.triplets_per_sec = Some(r.triplets_per_sec);
        row.peak_rss_after_train_bytes = peak_rss_bytes();
        report(row);
    }

    device.seed(opts.seed);
    let model = cfg.model_config(&g).init(device);
    let t = Instant::now();
    let emb = crate::infer::embed_all(&model, &nb, g.features.as_ref(), device, crate::train::INFER_CHUNK, |_, _| {})
        .map_err(|e| e.to_string())?;
    row.infer_secs = Some(t.elapsed().as_secs_f64());
    drop((model, nb));
    row.peak_rss_after_infer_bytes = peak_rss_bytes();
    report(row);

    let n = opts.retrieval_boards.min(g.n_boards() as usize).max(1);
    let step = (g.n_boards() as usize / n).max(1);
    let boards: Vec<u32> = (0..n).map(|i| (i * step) as u32).collect();
    row.retrieval_boards = boards.len();
    let t = Instant::now();
    let exact = crate::retrieval::top_k_for_boards(&emb, &g, &boards, 20, 1024, device).map_err(|e| e.to_string())?;
    row.exact_top20_secs = Some(t.elapsed().as_secs_f64());
    report(row);

    let t = Instant::now();
    let index = AnnIndex::build(emb.pins(), emb.dim, &opts.ann).map_err(|e| e.to_string())?;
    row.ann_build_secs = Some(t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut approx = Vec::with_capacity(boards.len());
    for &b in &boards {
        let r = index.recommend(&g, &emb, crate::recommend::Query::Board(b), 20).map_err(|e| e.to_string())?;
        approx.push(r.items.into_iter().map(|(p, _)| p).collect::<Vec<u32>>());
    }
    row.ann_top20_secs = Some(t.elapsed().as_secs_f64());
    row.ann_recall_at_20 = Some(recall(&approx, &exact));
    Ok(())
}

/// Result of `pinsage bench ann`: build time, query latency and recall@k against exact search
/// for random unit vectors.
#[derive(Clone, Debug, Serialize)]
pub struct AnnBench {
    pub pins: usize,
    pub dim: usize,
    pub k: usize,
    pub threads: usize,
    pub config: AnnConfig,
    pub build_secs: f64,
    pub index_bytes: u64,
    pub queries: usize,
    /// Per expansion_search tried: (expansion, recall@k, mean single-query latency in µs).
    pub sweep: Vec<AnnPoint>,
    pub exact_query_us: f64,
    pub peak_rss_bytes: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AnnPoint {
    pub expansion_search: usize,
    pub recall_at_k: f64,
    pub query_us: f64,
}

/// `n` random unit vectors of `dim` floats, row-major, deterministic by seed.
pub fn random_unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    use rayon::prelude::*;
    let mut v = vec![0f32; n * dim];
    v.par_chunks_mut(dim * 4096).enumerate().for_each(|(c, chunk)| {
        let mut rng = SmallRng::seed_from_u64(seed ^ (c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for row in chunk.chunks_mut(dim) {
            // Sum of uniforms is close enough to Gaussian for directions (and cheap).
            for x in row.iter_mut() {
                *x = (0..4).map(|_| rng.random::<f32>()).sum::<f32>() - 2.0;
            }
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|x| *x /= norm);
        }
    });
    v
}

/// Exact top-`k` rows by dot product for one query, best first.
pub fn exact_top_k(vectors: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<u32> {
    let scores: Vec<f32> = vectors.chunks(dim).map(|r| r.iter().zip(query).map(|(a, b)| a * b).sum()).collect();
    crate::eval::top_k(&scores, k)
}

/// Builds an index over `pins` random unit vectors, then measures recall@k against exact search
/// for `queries` random query vectors at each expansion in `expansions`.
pub fn bench_ann(
    pins: usize,
    dim: usize,
    k: usize,
    queries: usize,
    cfg: &AnnConfig,
    expansions: &[usize],
    seed: u64,
) -> Result<AnnBench, crate::ann::AnnError> {
    use rayon::prelude::*;
    crate::memory::check(crate::memory::bytes(pins as u64, 4 * dim as u64), "the benchmark's vectors")?;
    let vectors = random_unit_vectors(pins, dim, seed);
    let qs = random_unit_vectors(queries, dim, seed ^ 0xABCD);
    let t = Instant::now();
    let index = AnnIndex::build(&vectors, dim, cfg)?;
    let build_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let exact: Vec<Vec<u32>> = qs.par_chunks(dim).map(|q| exact_top_k(&vectors, dim, q, k)).collect();
    let exact_query_us = 1e6 * t.elapsed().as_secs_f64() * rayon::current_num_threads() as f64 / queries as f64;
    let mut sweep = Vec::new();
    for &e in expansions {
        index.set_expansion_search(e);
        let t = Instant::now();
        let mut approx = Vec::with_capacity(queries);
        for q in qs.chunks(dim) {
            approx.push(index.search(q, k)?.into_iter().map(|(p, _)| p).collect::<Vec<u32>>());
        }
        let query_us = 1e6 * t.elapsed().as_secs_f64() / queries as f64;
        sweep.push(AnnPoint { expansion_search: e, recall_at_k: recall(&approx, &exact), query_us });
    }
    Ok(AnnBench {
        pins,
        dim,
        k,
        threads: rayon::current_num_threads(),
        config: *cfg,
        build_secs,
        index_bytes: crate::ann::index_bytes(pins, dim, cfg),
        queries,
        sweep,
        exact_query_us,
        peak_rss_bytes: peak_rss_bytes(),
    })
}
