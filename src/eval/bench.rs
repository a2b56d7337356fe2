//! Benchmarks behind `pinsage bench`: walk throughput and the memory system's random-read ceiling.

use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::graph::Graph;
use crate::train::sparse_ids::SparseIds;
use crate::walk::{WalkConfig, all_neighbourhoods};

/// Result of `pinsage bench walks`.
#[derive(Debug, Serialize)]
pub struct WalkBench {
    pub pins: u32,
    pub edges: usize,
    pub walks: u32,
    pub length: u32,
    pub top_k: usize,
    pub restart: f32,
    pub threads: usize,
    /// Pin-steps (pin → board → pin) per second, best of the repeats.
    pub steps_per_sec: f64,
    /// Wall time to compute the top-K neighbourhoods of every pin, best of the repeats.
    pub all_neighbourhoods_secs: f64,
    /// Pins per second for the full neighbourhood computation.
    pub pins_per_sec: f64,
    pub repeats: u32,
    /// Independent random 4-byte reads per second over a buffer the size of the adjacency, all
    /// threads, as plain loads: what the cores overlap without prefetching.
    pub random_reads_per_sec: f64,
    /// Dependent random reads a pin-step makes (pin offsets, pin's boards, board offsets, board's
    /// pins, the visit counter).
    pub reads_per_step: f64,
    /// `steps_per_sec * reads_per_step / random_reads_per_sec`: above 1 when the walks' prefetched
    /// reads overlap more than plain loads do.
    pub share_of_memory_ceiling: f64,
    /// Linux's transparent-huge-page mode (`always`, `madvise`, `never`; null where unknown).
    pub huge_page_mode: Option<String>,
    /// The process's bytes on huge pages after the walks (the adjacency's, where granted).
    pub huge_page_bytes: Option<u64>,
    /// Seconds to build every node's hard-negative pool once ([`time_hard_pools`]), when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard_pools_secs: Option<f64>,
}

/// Times all-pin neighbourhoods `repeats` times (best time kept) and measures the random-read ceiling.
pub fn bench_walks(g: &Graph, cfg: &WalkConfig, repeats: u32) -> WalkBench {
    let mut best = f64::INFINITY;
    let mut steps = 0;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let (nb, s) = all_neighbourhoods(g, cfg);
        let secs = t.elapsed().as_secs_f64();
        std::hint::black_box(&nb);
        steps = s;
        best = best.min(secs);
    }
    let steps_per_sec = steps as f64 / best;
    let random_reads_per_sec = random_read_rate(g.adjacency_bytes() / 4);
    let reads_per_step = 5.0;
    WalkBench {
        pins: g.n_pins(),
        edges: g.n_edges(),
        walks: cfg.walks,
        length: cfg.length,
        top_k: cfg.top_k,
        restart: cfg.restart,
        threads: rayon::current_num_threads(),
        steps_per_sec,
        all_neighbourhoods_secs: best,
        pins_per_sec: g.n_pins() as f64 / best,
        repeats,
        random_reads_per_sec,
        reads_per_step,
        share_of_memory_ceiling: steps_per_sec * reads_per_step / random_reads_per_sec,
        huge_page_mode: crate::huge_pages::mode(),
        huge_page_bytes: crate::huge_pages::process_bytes(),
        hard_pools_secs: None,
    }
}

/// Seconds to build the hard-negative pools of every node of `g` once, as training does before
/// epoch 2: the default band, bounds and pool size.
pub fn time_hard_pools(g: &Graph) -> f64 {
    let band = crate::sampler::default_band(g.n_pins());
    let t = Instant::now();
    let pools = crate::sampler::hard_pools(g, band, crate::defaults::HARD_POOL_SIZE, 1);
    let secs = t.elapsed().as_secs_f64();
    std::hint::black_box(&pools);
    secs
}

/// Independent random reads per second over `words` u32s, on all rayon threads, as plain loads
/// (no prefetching): what the out-of-order core overlaps on its own. The walks prefetch, so they
/// can exceed it (a share of the ceiling above 1).
fn random_read_rate(words: usize) -> f64 {
    let words = words.max(1024).next_power_of_two();
    let buf: Vec<u32> = (0..words as u32).collect();
    let per_thread = 20_000_000usize;
    let threads = rayon::current_num_threads();
    let t = Instant::now();
    let sink: u64 = (0..threads)
        .into_par_iter()
        .map(|i| {
            let mut rng = SmallRng::seed_from_u64(i as u64);
            let mask = (words - 1) as u64;
            let mut acc = 0u64;
            for _ in 0..per_thread / 2 {
                let r = rng.next_u64();
                acc = acc.wrapping_add(buf[(r & mask) as usize] as u64);
                acc = acc.wrapping_add(buf[((r >> 32) & mask) as usize] as u64);
            }
            acc
        })
        .sum();
    std::hint::black_box(sink);
    (per_thread * threads) as f64 / t.elapsed().as_secs_f64()
}

/// Result of `pinsage bench train-step`: the device step alone, on one fixed batch.
#[derive(Debug, Serialize)]
pub struct StepBench {
    pub device: String,
    pub steps: usize,
    pub ms_per_step: f64,
    pub triplets_per_sec: f64,
    pub queries: usize,
    pub targets: usize,
    /// Rows of layer 1 (S¹) and of the input layer (S⁰).
    pub layer1_nodes: usize,
    pub input_nodes: usize,
    pub k: usize,
    pub negatives: usize,
    pub hard_per_query: usize,
    /// Whether pooling ran as the fused kernels rather than Burn's composed ops.
    pub fused_pool: bool,
    /// Whether the L2 normalisations ran as the fused kernels.
    pub fused_norm: bool,
    /// Whether this was the reference implementation (`StepBenchOptions::reference`).
    pub reference: bool,
    /// Whether the id table was updated row-sparsely (`TrainConfig::uses_sparse_ids`).
    pub sparse_ids: bool,
    /// Whether batches were node sets over neighbourhoods held on the device (as training does
    /// when they fit) rather than gathers.
    pub node_sets: bool,
    /// Building one batch on the CPU (triplets, then the block's index arrays), one thread.
    pub sample_ms_per_batch: f64,
    /// The loss of every timed step (read back once, after the timing).
    pub losses: Vec<f32>,
}

/// What else [`bench_train_step`] does besides timing.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepBenchOptions<'a> {
    /// Write the batch's index arrays here as .npy (plus meta.json) for the PyTorch reference.
    pub dump: Option<&'a std::path::Path>,
    /// Pool with Burn's composed ops whatever the config says.
    pub composed_pool: bool,
    /// Normalise with Burn's composed ops whatever the config says.
    pub composed_norm: bool,
    /// Plain `Linear` dense layers and composed pooling: the step as it was before issue 15.
    pub reference: bool,
    /// Upload each step's batch in the timed loop instead of all before it.
    pub upload_each_step: bool,
    /// Batches carry their gathers even when the neighbourhoods would fit on the device.
    pub gathers: bool,
    /// Cycle through this many different batches (as training does) instead of one (0 = 1).
    pub distinct_batches: usize,
}

/// Times `steps` training steps (forward, loss, backward, Adam) on one batch sampled from `g`,
/// after 5 warm-up steps, syncing the device only at the ends. With `dump`, the batch's index
/// arrays are written there as .npy (plus meta.json) for the PyTorch reference (bench/).
pub fn bench_train_step(
    g: &Graph,
    cfg: &crate::train::TrainConfig,
    device: &burn::prelude::Device,
    device_name: &str,
    steps: usize,
    opts: &StepBenchOptions,
) -> Result<StepBench, crate::train::TrainError> {
    let nb = crate::sampler::try_node_neighbourhoods(g, cfg.neighbourhood, &cfg.walk)?;
    bench_train_step_with(g, &nb, cfg, device, device_name, steps, opts)
}

/// One step on a block and its loss rows as the trainer takes it (the id rows through `sparse`,
/// the row-sparse update, when given); the loss goes onto `losses`, unread.
fn train_step(
    model: crate::model::PinSage,
    (block, rows): (&crate::model::Block, &crate::model::losses::LossRows),
    mut sparse: Option<&mut SparseIds>,
    optim: &mut burn::optim::ModuleOptimizer,
    cfg: &crate::train::TrainConfig,
    losses: &mut Vec<burn::prelude::Tensor<1>>,
) -> crate::model::PinSage {
    let z = sparse.as_mut().map_or_else(|| model.forward(block), |s| s.forward(&model, block));
    let loss = crate::train::rows_loss(z, rows, cfg.loss, cfg.margin, cfg.temperature());
    losses.push(loss.clone().inner());
    let mut grads = loss.backward();
    let model = if let Some(s) = sparse { s.update(model, &mut grads, cfg.learning_rate) } else { model };
    let grads = burn::optim::GradientsParams::from_grads(grads, &model);
    optim.step(cfg.learning_rate, model, grads)
}

/// [`bench_train_step`] with the node neighbourhoods already computed.
pub fn bench_train_step_with(
    g: &Graph,
    nb: &crate::sampler::NodeNeighbourhoods,
    cfg: &crate::train::TrainConfig,
    device: &burn::prelude::Device,
    device_name: &str,
    steps: usize,
    opts: &StepBenchOptions,
) -> Result<StepBench, crate::train::TrainError> {
    use crate::model::losses::DeviceBatch;
    use crate::model::resident::ResidentNeighbourhoods;
    use crate::sampler::{NodeSet, make_batch};
    use crate::train::TrainError;

    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
    let train_device = device.clone().autodiff();
    // As training does: the neighbourhoods on the device and node-set batches when they fit
    // (not for the reference, which predates them, or with `gathers`).
    let resident = (!opts.reference && !opts.gathers).then(|| ResidentNeighbourhoods::fit(nb, &train_device)).flatten();
    let triplets = bench_triplet_batches(g, cfg, opts.distinct_batches);
    let sampling = Instant::now();
    let host = host_batches(g, nb, &triplets, resident.is_some());
    let sample_ms_per_batch = 1e3 * sampling.elapsed().as_secs_f64() / host.len() as f64;
    let mut sets = [NodeSet::new(n_nodes), NodeSet::new(n_nodes)];
    let mut targets = NodeSet::new(n_nodes);
    // The first batch with its gathers, for the figures and the dump.
    let batch = make_batch(nb, &triplets[0], g.features.as_ref(), &mut sets, &mut targets);
    if let Some(dir) = opts.dump {
        dump_batch(dir, &batch, cfg, n_nodes).map_err(|e| TrainError::Io(format!("{}: {e}", dir.display())))?;
    }
    device.seed(cfg.seed);
    let fused_pool = !opts.reference && !opts.composed_pool && cfg.fused_pool;
    let fused_norm = !opts.reference && !opts.composed_norm && cfg.fused_norm;
    let mut model = cfg
        .model_config(g)
        .with_fused_pool(fused_pool)
        .with_fused_norm(fused_norm)
        .with_split_dense(!opts.reference)
        .init(&train_device);
    let mut optim = cfg.optimizer();
    let upload = |b: &HostBatch| match b {
        HostBatch::Gathers(b) => DeviceBatch::upload(b, &train_device),
        HostBatch::NodeSets(b) => DeviceBatch::upload(b, &train_device),
    };
    // The batches are uploaded once, before the timing (as the PyTorch reference does), unless
    // `upload_each_step`; `pinsage train` uploads each on the sampler threads.
    let device_batches: Vec<DeviceBatch> =
        if opts.upload_each_step { Vec::new() } else { host.iter().map(upload).collect() };
    let mut losses = Vec::with_capacity(steps);
    let mut next = 0usize;
    // The id table's row-sparse update, as training does it (not for the reference).
    let mut sparse = if opts.reference { None } else { SparseIds::for_model(cfg, &model, device, None)? };
    let sparse_ids = sparse.is_some();
    let mut step = |model: crate::model::PinSage, losses: &mut Vec<burn::prelude::Tensor<1>>| {
        let uploaded;
        let b = match device_batches.get(next % host.len()) {
            Some(b) => b,
            None => {
                uploaded = upload(&host[next % host.len()]);
                &uploaded
            }
        };
        next += 1;
        train_step(model, (&b.block.block(resident.as_ref()), &b.rows), sparse.as_mut(), &mut optim, cfg, losses)
    };
    for _ in 0..5 {
        model = step(model, &mut Vec::new());
    }
    device.sync().map_err(|e| TrainError::Device(e.to_string()))?;
    let start = Instant::now();
    for _ in 0..steps {
        model = step(model, &mut losses);
    }
    device.sync().map_err(|e| TrainError::Device(e.to_string()))?;
    let secs = start.elapsed().as_secs_f64();
    let losses = read_losses(losses)?;
    Ok(StepBench {
        device: device_name.to_string(),
        steps,
        ms_per_step: 1e3 * secs / steps as f64,
        triplets_per_sec: (batch.query_rows.len() * steps) as f64 / secs,
        queries: batch.query_rows.len(),
        targets: batch.block.n_targets,
        layer1_nodes: batch.block.layers[0].self_idx.len(),
        input_nodes: batch.block.input_nodes.len(),
        k: nb.k,
        negatives: batch.negative_rows.len(),
        hard_per_query: batch.hard_per_query,
        // What ran: the CPU composes whatever the flags say.
        fused_pool: fused_pool && crate::model::fused_pool::runs_kernels(device),
        fused_norm: fused_norm && crate::model::fused_pool::runs_kernels(device),
        reference: opts.reference,
        sparse_ids,
        node_sets: resident.is_some(),
        sample_ms_per_batch,
        losses,
    })
}

/// The losses of the timed steps, read back at once.
fn read_losses(losses: Vec<burn::prelude::Tensor<1>>) -> Result<Vec<f32>, crate::train::TrainError> {
    if losses.is_empty() {
        return Ok(Vec::new());
    }
    let all = burn::prelude::Tensor::cat(losses, 0);
    all.try_into_vec_as::<f32>().map_err(|e| crate::train::TrainError::Device(format!("{e:?}")))
}

/// A bench batch on the host: with its gathers, or its node sets only.
enum HostBatch {
    Gathers(crate::sampler::TrainBatch),
    NodeSets(crate::sampler::TrainBatch<crate::sampler::HostNodeSets>),
}

/// The batches of `triplets`, as node sets when `node_sets`, else with their gathers.
fn host_batches(
    g: &Graph,
    nb: &crate::sampler::NodeNeighbourhoods,
    triplets: &[crate::sampler::Triplets],
    node_sets: bool,
) -> Vec<HostBatch> {
    use crate::sampler::{NodeSet, make_batch, make_plan_batch};
    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
    let mut sets = [NodeSet::new(n_nodes), NodeSet::new(n_nodes)];
    let mut targets = NodeSet::new(n_nodes);
    let f = g.features.as_ref();
    (triplets.iter())
        .map(|t| match node_sets {
            true => HostBatch::NodeSets(make_plan_batch(nb, t, f, &mut sets, &mut targets)),
            false => HostBatch::Gathers(make_batch(nb, t, f, &mut sets, &mut targets)),
        })
        .collect()
}

/// The benchmarks' one fixed batch: the first `batch_size` pairs of epoch 1, with one hard
/// negative per query when the config uses them.
pub fn bench_triplets(g: &Graph, cfg: &crate::train::TrainConfig) -> crate::sampler::Triplets {
    bench_triplet_batches(g, cfg, 1).pop().unwrap_or_default()
}

/// The first `count` batches of epoch 1 (round again past its end), each made as
/// [`bench_triplets`] makes the first; the epoch's pairs and the hard-negative pools are built once.
pub fn bench_triplet_batches(
    g: &Graph,
    cfg: &crate::train::TrainConfig,
    count: usize,
) -> Vec<crate::sampler::Triplets> {
    use crate::sampler::{Triplets, epoch_pairs, fill_triplets};
    let pairs = epoch_pairs(g, cfg.pair_sampling, cfg.board_query_share, cfg.seed, 1);
    let batches = pairs.len().div_ceil(cfg.batch_size.max(1)).max(1);
    let h = if cfg.hard_negatives { 1 } else { 0 };
    let pools = (h > 0).then(|| {
        let (band, limits) = cfg.hard_pool_bounds(g.n_pins());
        crate::sampler::hard_pools_within(g, band, 4, cfg.seed, limits)
    });
    (0..count.max(1))
        .map(|index| {
            let start = (index % batches) * cfg.batch_size;
            let chunk = &pairs[start.min(pairs.len())..(start + cfg.batch_size).min(pairs.len())];
            let mut rng = SmallRng::seed_from_u64(cfg.seed);
            let mut t = Triplets::default();
            fill_triplets(g, chunk, cfg.negatives, pools.as_ref().map(|p| (p, h)), &mut rng, &mut t);
            t
        })
        .collect()
}

fn dump_batch(
    dir: &std::path::Path,
    b: &crate::sampler::TrainBatch,
    cfg: &crate::train::TrainConfig,
    n_nodes: usize,
) -> std::io::Result<()> {
    use npyz::WriterBuilder;
    std::fs::create_dir_all(dir)?;
    let write_u32 = |name: &str, v: &[u32]| -> std::io::Result<()> {
        let f = std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{name}.npy")))?);
        let mut w = npyz::WriteOptions::new().default_dtype().shape(&[v.len() as u64]).writer(f).begin_nd()?;
        w.extend(v.iter().map(|&x| x as i64))?;
        w.finish()
    };
    let write_f32 = |name: &str, v: &[f32]| -> std::io::Result<()> {
        let f = std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{name}.npy")))?);
        let mut w = npyz::WriteOptions::new().default_dtype().shape(&[v.len() as u64]).writer(f).begin_nd()?;
        w.extend(v.iter().copied())?;
        w.finish()
    };
    write_u32("input_nodes", &b.block.input_nodes)?;
    for (i, l) in b.block.layers.iter().enumerate() {
        write_u32(&format!("l{i}_self"), &l.self_idx)?;
        write_u32(&format!("l{i}_nbr"), &l.nbr_idx)?;
        write_f32(&format!("l{i}_w"), &l.weights)?;
    }
    write_u32("query_rows", &b.query_rows)?;
    write_u32("positive_rows", &b.positive_rows)?;
    write_u32("negative_rows", &b.negative_rows)?;
    write_u32("hard_rows", &b.hard_rows)?;
    let meta = serde_json::json!({
        "n_nodes": n_nodes, "k": b.block.layers[0].k, "input_dim": cfg.input_dim, "hidden_dim": cfg.hidden_dim,
        "hard_per_query": b.hard_per_query, "margin": cfg.margin, "learning_rate": cfg.learning_rate,
        "loss": cfg.loss, "temperature": cfg.temperature(), "skip": cfg.skip,
    });
    std::fs::write(dir.join("meta.json"), serde_json::to_string_pretty(&meta)?)
}
