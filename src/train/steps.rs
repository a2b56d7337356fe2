//! The per-model half of training: a [`Step`] prepares each epoch's batches and turns the next one
//! into a loss; the generic loop in `super` does everything else (commands, progress, the optimizer,
//! evaluation, checkpoints). PinSage samples on CPU threads into a bounded queue; LightGCN samples
//! inline.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use burn::prelude::*;
use crossbeam_channel::{Receiver, Sender, bounded};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use super::ledger::Ending;
use super::parallel::make_shards;
use super::sparse_ids::SparseIds;
use super::{INFER_CHUNK, TrainConfig, TrainError, TrainOutput};
use crate::graph::Graph;
use crate::infer::{Embeddings, InferError, embed_all};
use crate::lightgcn::{Adjacency, LightGcn};
use crate::model::PinSage;
use crate::model::losses::{DeviceBatch, UploadPlan, int_tensor, rows_loss};
use crate::model::resident::ResidentNeighbourhoods;
use crate::sampler::{
    HardPools, HostBlock, HostNodeSets, NodeNeighbourhoods, NodeSet, TrainBatch, Triplets, batch_rng, epoch_pairs,
    fill_triplets, hard_per_query, hard_pools_within, try_node_neighbourhoods,
};

/// One model's side of the training loop.
pub(super) trait Step {
    type Model: Module;
    /// Prepares `epoch`'s batches.
    fn begin_epoch(&mut self, epoch: usize) -> Result<(), TrainError>;
    /// The next batch's loss and its number of training examples; `None` when the epoch is done.
    fn next_loss(&mut self, model: &Self::Model) -> Option<(Tensor<1>, usize)>;
    /// Data-parallel runs: the next batch as one shard per model (already on `models[i]`'s device),
    /// each shard's loss weighted by its share of the batch's examples (`None` for an empty
    /// shard), and the batch's examples; `None` when the epoch is done. Only PinSage has shards
    /// (`TrainConfig::validate` refuses several devices for the others).
    fn next_shard_losses(&mut self, _models: &[&Self::Model]) -> Option<(Vec<Option<Tensor<1>>>, usize)> {
        None
    }
    /// Parameter updates the step makes itself from `grads` (PinSage's row-sparse id table),
    /// removing the gradients it used; the dense optimizer takes the rest.
    fn own_update(&mut self, model: Self::Model, _grads: &mut burn::tensor::Gradients, _lr: f64) -> Self::Model {
        model
    }
    /// Writes the optimizer state of [`Step::own_update`] into the checkpoint folder `dir`.
    fn save_state(&self, _dir: &Path) -> Result<(), TrainError> {
        Ok(())
    }
    /// Stops the epoch's producers (if any) and waits for them.
    fn end_epoch(&mut self);
    /// Batches ready and waiting.
    fn queue_depth(&self) -> usize {
        0
    }
    /// Time this epoch spent waiting for batches.
    fn waited(&self) -> Duration {
        Duration::ZERO
    }
    /// Hard negatives per query this epoch.
    fn hard_per_query(&self, _epoch: usize) -> usize {
        0
    }
    /// Every node's embedding under `model`, for evaluation.
    fn embed(&self, model: &Self::Model) -> Result<Embeddings, InferError>;
    /// The run's result from how it ended.
    fn output(self, ending: Ending<Self::Model>) -> TrainOutput;
}

/// An epoch's sampler threads and the queue they fill.
struct EpochQueue {
    /// Each step's batch as one shard per device (one batch on one device), already uploaded.
    rx: Receiver<Vec<DeviceBatch>>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

/// PinSage: walk neighbourhoods, hard-negative pools (built in the background for epoch 2 on) and
/// per-epoch sampler threads.
pub(super) struct PinSageStep {
    g: Arc<Graph>,
    cfg: TrainConfig,
    nb: Arc<NodeNeighbourhoods>,
    /// Where each shard's batch goes (autodiff devices; one unless data-parallel).
    shard_devices: Arc<Vec<Device>>,
    /// Every node's neighbourhood on each shard device, when the table is small enough
    /// (`ResidentNeighbourhoods::fit`): batches then carry node sets, not gathers.
    resident: Option<Vec<ResidentNeighbourhoods>>,
    infer_device: Device,
    pools: Option<Arc<HardPools>>,
    pools_job: Option<JoinHandle<Arc<HardPools>>>,
    queue: Option<EpochQueue>,
    waited: Duration,
    /// Row-sparse Adam for the id table (`TrainConfig::sparse_ids`, one device only).
    sparse: Option<SparseIds>,
}

impl PinSageStep {
    /// `model` is the model the run starts from; `resume_dir` the run folder when resuming.
    pub(super) fn new(
        g: &Arc<Graph>,
        cfg: &TrainConfig,
        start_epoch: usize,
        devices: &[Device],
        model: &PinSage,
        resume_dir: Option<&Path>,
    ) -> Result<Self, TrainError> {
        let device = &devices[0];
        let nb = Arc::new(try_node_neighbourhoods(g, cfg.neighbourhood, &cfg.walk)?);
        // Hard-negative pools are only needed from epoch 2: build them in the background meanwhile.
        let pools_job = (cfg.hard_negatives && cfg.epochs >= 2.max(start_epoch)).then(|| {
            let g = g.clone();
            let ((band, limits), seed) = (cfg.hard_pool_bounds(g.n_pins()), cfg.seed);
            std::thread::spawn(move || {
                Arc::new(hard_pools_within(&g, band, crate::defaults::HARD_POOL_SIZE, seed, limits))
            })
        });
        let shard_devices: Vec<Device> = devices.iter().map(|d| d.clone().autodiff()).collect();
        let resident = shard_devices.iter().map(|d| ResidentNeighbourhoods::fit(&nb, d)).collect();
        let sparse = if devices.len() == 1 { SparseIds::for_model(cfg, model, device, resume_dir)? } else { None };
        Ok(PinSageStep {
            g: g.clone(),
            cfg: cfg.clone(),
            nb,
            shard_devices: Arc::new(shard_devices),
            resident,
            infer_device: device.clone(),
            pools: None,
            pools_job,
            queue: None,
            waited: Duration::ZERO,
            sparse,
        })
    }
}

impl PinSageStep {
    /// The next step's shards from the sampler queue, timing the wait.
    fn next_batch(&mut self) -> Option<Vec<DeviceBatch>> {
        let t = Instant::now();
        let shards = self.queue.as_ref()?.rx.recv().ok()?;
        self.waited += t.elapsed();
        Some(shards)
    }

    /// One batch's loss under `model` (on the batch's device, shard `shard`'s).
    fn batch_loss(&self, model: &PinSage, batch: &DeviceBatch, shard: usize) -> Tensor<1> {
        let resident = self.resident.as_ref().map(|r| &r[shard]);
        self.loss_of(model.forward(&batch.block.block(resident)), batch)
    }

    /// The loss of the batch's target embeddings `z`.
    fn loss_of(&self, z: Tensor<2>, batch: &DeviceBatch) -> Tensor<1> {
        let cfg = &self.cfg;
        rows_loss(z, &batch.rows, cfg.loss, cfg.margin, cfg.temperature())
    }
}

impl Step for PinSageStep {
    type Model = PinSage;

    fn begin_epoch(&mut self, epoch: usize) -> Result<(), TrainError> {
        let cfg = &self.cfg;
        let mut pools_wait = Duration::ZERO;
        if hard_per_query(epoch, cfg.hard_negatives, cfg.max_hard_per_query) > 0
            && self.pools.is_none()
            && let Some(job) = self.pools_job.take()
        {
            // Waiting for the pools is waiting for data: it counts in this epoch's GPU-wait share.
            let t = Instant::now();
            let pools = job.join().map_err(|_| TrainError::Device("hard-negative pool thread panicked".into()))?;
            self.pools = Some(pools);
            pools_wait = t.elapsed();
        }
        let (queue_tx, rx) = bounded::<Vec<DeviceBatch>>(cfg.queue_capacity);
        let stop = Arc::new(AtomicBool::new(false));
        // Node-set batches when the devices hold the neighbourhoods, else batches with gathers.
        let spawn = if self.resident.is_some() { spawn_samplers::<HostNodeSets> } else { spawn_samplers::<HostBlock> };
        let workers = spawn(
            (self.g.clone(), self.nb.clone(), self.pools.clone()),
            cfg,
            epoch,
            self.shard_devices.clone(),
            queue_tx,
            stop.clone(),
        );
        self.queue = Some(EpochQueue { rx, stop, workers });
        self.waited = pools_wait;
        Ok(())
    }

    fn next_loss(&mut self, model: &PinSage) -> Option<(Tensor<1>, usize)> {
        let batch = self.next_batch()?.swap_remove(0);
        let Some(sparse) = self.sparse.as_mut() else {
            return Some((self.batch_loss(model, &batch, 0), batch.queries));
        };
        // The batch's id rows come in as a leaf of their own, for the row-sparse update.
        let z = sparse.forward(model, &batch.block.block(self.resident.as_ref().map(|r| &r[0])));
        Some((self.loss_of(z, &batch), batch.queries))
    }

    fn own_update(&mut self, model: PinSage, grads: &mut burn::tensor::Gradients, lr: f64) -> PinSage {
        match self.sparse.as_mut() {
            Some(sparse) => sparse.update(model, grads, lr),
            None => model,
        }
    }

    fn save_state(&self, dir: &Path) -> Result<(), TrainError> {
        self.sparse.as_ref().map_or(Ok(()), |s| s.save(dir))
    }

    fn next_shard_losses(&mut self, models: &[&PinSage]) -> Option<(Vec<Option<Tensor<1>>>, usize)> {
        // Each shard was uploaded to its model's device by the sampler threads.
        let shards = self.next_batch()?;
        let total: usize = shards.iter().map(|b| b.queries).sum();
        let losses = (shards.iter().zip(models))
            .enumerate()
            .map(|(shard, (batch, model))| {
                let share = batch.queries as f32 / total.max(1) as f32;
                (batch.queries > 0).then(|| self.batch_loss(model, batch, shard) * share)
            })
            .collect();
        Some((losses, total))
    }

    fn end_epoch(&mut self) {
        if let Some(EpochQueue { rx, stop, workers }) = self.queue.take() {
            stop.store(true, Ordering::Relaxed);
            drop(rx);
            for w in workers {
                let _ = w.join();
            }
        }
    }

    fn queue_depth(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| q.rx.len())
    }

    fn waited(&self) -> Duration {
        self.waited
    }

    fn hard_per_query(&self, epoch: usize) -> usize {
        let cfg = &self.cfg;
        if self.pools.is_some() { hard_per_query(epoch, cfg.hard_negatives, cfg.max_hard_per_query) } else { 0 }
    }

    fn embed(&self, model: &PinSage) -> Result<Embeddings, InferError> {
        embed_all(model, &self.nb, self.g.features.as_ref(), &self.infer_device, INFER_CHUNK, |_, _| {})
    }

    fn output(self, ending: Ending<PinSage>) -> TrainOutput {
        TrainOutput {
            model: ending.model,
            neighbourhoods: self.nb.clone(),
            embeddings: ending.embeddings,
            epochs_done: ending.epochs_done,
        }
    }
}

/// Samples one epoch's batches on `threads` CPU workers as plan `B` (gathers or node sets),
/// uploads each shard to its device and queues them (bounded). Each batch's content depends only
/// on (seed, epoch, batch index), not on which worker built it.
fn spawn_samplers<B: UploadPlan>(
    (g, nb, pools): (Arc<Graph>, Arc<NodeNeighbourhoods>, Option<Arc<HardPools>>),
    cfg: &TrainConfig,
    epoch: usize,
    devices: Arc<Vec<Device>>,
    queue: Sender<Vec<DeviceBatch>>,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    let pairs = Arc::new(epoch_pairs(&g, cfg.pair_sampling, cfg.board_query_share, cfg.seed, epoch));
    let n_batches = pairs.len().div_ceil(cfg.batch_size);
    let h = if pools.is_some() { hard_per_query(epoch, cfg.hard_negatives, cfg.max_hard_per_query) } else { 0 };
    let threads = cfg.sampler_threads.max(1);
    let shards = cfg.devices.as_ref().map_or(1, Vec::len);
    (0..threads)
        .map(|w| {
            let (g, nb, pools, pairs, queue, stop) =
                (g.clone(), nb.clone(), pools.clone(), pairs.clone(), queue.clone(), stop.clone());
            let devices = devices.clone();
            let (batch_size, negatives, seed) = (cfg.batch_size, cfg.negatives, cfg.seed);
            let exclude = cfg.exclude_positive_edges;
            std::thread::Builder::new()
                .name(format!("pinsage-sampler-{w}"))
                .spawn(move || {
                    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
                    let mut sets = [NodeSet::new(n_nodes), NodeSet::new(n_nodes)];
                    let mut targets = NodeSet::new(n_nodes);
                    let mut t = Triplets::default();
                    for i in (w..n_batches).step_by(threads) {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let chunk = &pairs[i * batch_size..((i + 1) * batch_size).min(pairs.len())];
                        let mut rng = batch_rng(seed, epoch, i);
                        fill_triplets(&g, chunk, negatives, pools.as_deref().map(|p| (p, h)), &mut rng, &mut t);
                        let batch: Vec<TrainBatch<B>> =
                            make_shards(&nb, &t, g.features.as_ref(), shards, exclude, &mut sets, &mut targets);
                        let uploaded =
                            batch.iter().zip(devices.iter()).map(|(b, d)| DeviceBatch::upload(b, d)).collect();
                        if queue.send(uploaded).is_err() {
                            return;
                        }
                    }
                })
                .expect("spawning a sampler thread")
        })
        .collect()
}

/// LightGCN: every training edge once per epoch as (board, pin, random non-pin) BPR triples.
/// Sampling is a few random numbers per triple, so it runs inline rather than on sampler threads.
pub(super) struct LightGcnStep {
    g: Arc<Graph>,
    cfg: TrainConfig,
    train_device: Device,
    adj: Adjacency,
    eval_adj: Adjacency,
    rng: SmallRng,
    pairs: Vec<(u32, u32)>,
    next: usize,
}

impl LightGcnStep {
    pub(super) fn new(g: &Arc<Graph>, cfg: &TrainConfig, device: &Device) -> LightGcnStep {
        let train_device = device.clone().autodiff();
        LightGcnStep {
            g: g.clone(),
            cfg: cfg.clone(),
            adj: Adjacency::new(g, &train_device),
            eval_adj: Adjacency::new(g, device),
            train_device,
            rng: SmallRng::seed_from_u64(cfg.seed),
            pairs: Vec::new(),
            next: 0,
        }
    }
}

impl Step for LightGcnStep {
    type Model = LightGcn;

    fn begin_epoch(&mut self, epoch: usize) -> Result<(), TrainError> {
        let cfg = &self.cfg;
        self.rng = SmallRng::seed_from_u64(cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // (board node, pin) pairs: every board is the query (share 1).
        self.pairs = epoch_pairs(&self.g, cfg.pair_sampling, 1.0, cfg.seed, epoch);
        self.next = 0;
        Ok(())
    }

    fn next_loss(&mut self, model: &LightGcn) -> Option<(Tensor<1>, usize)> {
        let end = (self.next + self.cfg.batch_size).min(self.pairs.len());
        let chunk = self.pairs.get(self.next..end).filter(|c| !c.is_empty())?;
        self.next = end;
        let (g, n_pins) = (&self.g, self.g.n_pins());
        let (mut bs, mut ps, mut ns) =
            (Vec::with_capacity(chunk.len()), Vec::with_capacity(chunk.len()), Vec::with_capacity(chunk.len()));
        for &(b, p) in chunk {
            let pins = g.pins_of(b - n_pins);
            let mut n = self.rng.random_range(0..n_pins);
            while pins.binary_search(&n).is_ok() {
                n = self.rng.random_range(0..n_pins);
            }
            bs.push(b);
            ps.push(p);
            ns.push(n);
        }
        let d = &self.train_device;
        let loss = model.loss(&self.adj, int_tensor(&bs, d), int_tensor(&ps, d), int_tensor(&ns, d), self.cfg.l2);
        Some((loss, chunk.len()))
    }

    fn end_epoch(&mut self) {}

    fn embed(&self, model: &LightGcn) -> Result<Embeddings, InferError> {
        model.embeddings(&self.eval_adj, self.g.n_pins() as usize)
    }

    fn output(self, ending: Ending<LightGcn>) -> TrainOutput {
        TrainOutput {
            model: None,
            neighbourhoods: Arc::new(NodeNeighbourhoods::default()),
            embeddings: ending.embeddings,
            epochs_done: ending.epochs_done,
        }
    }
}
