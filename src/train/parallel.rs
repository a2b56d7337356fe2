//! Data-parallel training over several devices: one model replica per device, each step's batch
//! split between them (the shared random negatives go to every shard, the queries are divided),
//! the shards' gradients summed on device 0 in one flat bucket, one optimizer step there, and the
//! updated parameters broadcast to the other replicas in one flat bucket. Every replica therefore
//! holds exactly device 0's weights after every step.
//!
//! Burn 0.22's all-reduce needs a device transport (only its CUDA runtime has one); on wgpu a
//! tensor moves between devices through the host, one blocking read per tensor. Packing all the
//! gradients (and the step's loss, so it needs no read of its own) into one tensor makes that one
//! read per replica per step, and the parameters one more. See ARCHITECTURE.md.

use std::time::{Duration, Instant};

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use super::{DeviceChoice, TrainError};
use crate::sampler::{
    BlockPlan, NodeNeighbourhoods, NodeSet, TrainBatch, Triplets, exclude_positive_edges, make_plan_batch,
};
use crate::walk::ParamError;

/// Parses a `--devices` list such as `0,1`: comma-separated device indices, at least one, no
/// repeats. Whether the indices exist is checked when the devices are opened ([`open_devices`]).
pub fn parse_devices(text: &str) -> Result<Vec<usize>, ParamError> {
    let err = |reason: String| Err(ParamError { field: "devices", reason });
    if text.trim().is_empty() {
        return err("the list is empty; give at least one device index such as 0 or 0,1".into());
    }
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            return err(format!("`{text}` has an empty entry; give device indices such as 0,1"));
        }
        let Ok(i) = part.parse::<usize>() else {
            return err(format!("`{part}` is not a device index (a number such as 0 or 1)"));
        };
        out.push(i);
    }
    validate_devices(&out)?;
    Ok(out)
}

/// Rejects an empty list and repeated indices.
pub fn validate_devices(indices: &[usize]) -> Result<(), ParamError> {
    let err = |reason: String| Err(ParamError { field: "devices", reason });
    if indices.is_empty() {
        return err("the list is empty; give at least one device index such as 0".into());
    }
    for (n, i) in indices.iter().enumerate() {
        if indices[..n].contains(i) {
            return err(format!("device {i} is listed twice; each device holds one replica"));
        }
    }
    Ok(())
}

/// How many CPU replicas `--device cpu --devices …` may name: one per core. Burn's flex backend
/// has a single device, so CPU replicas share it (which still exercises the split, the reduction
/// and the broadcast).
pub fn cpu_replica_limit() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Opens the devices `indices` names on `choice`'s backend (GPU i is wgpu's discrete GPU i, in
/// the adapter order wgpu reports), plus a name for the run's events. A device that cannot be
/// opened is an error naming it (no silent fallback: the user asked for these devices).
pub fn open_devices(choice: DeviceChoice, indices: &[usize]) -> Result<(Vec<Device>, String), TrainError> {
    validate_devices(indices)?;
    let list = indices.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    match choice {
        DeviceChoice::Cpu => {
            let limit = cpu_replica_limit();
            if let Some(i) = indices.iter().find(|&&i| i >= limit) {
                return Err(TrainError::Param(ParamError {
                    field: "devices",
                    reason: format!(
                        "CPU replica {i} does not exist: this machine has {limit} cores, so CPU replicas are 0..{}",
                        limit - 1
                    ),
                }));
            }
            Ok((vec![Device::flex(); indices.len()], format!("cpu (flex) × {} replicas [{list}]", indices.len())))
        }
        DeviceChoice::Gpu => {
            let devices = indices.iter().map(|&i| gpu_device(i)).collect::<Result<Vec<_>, _>>()?;
            Ok((devices, format!("gpu (wgpu) × {} [discrete GPUs {list}]", indices.len())))
        }
    }
}

/// wgpu's discrete GPU `index` (Vulkan on Linux, as [`super::select_device`]); opened once per
/// process and reused, since wgpu refuses to initialise the same adapter twice.
fn gpu_device(index: usize) -> Result<Device, TrainError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static OPENED: OnceLock<Mutex<HashMap<usize, Device>>> = OnceLock::new();
    let mut opened = OPENED.get_or_init(|| Mutex::new(HashMap::new())).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(d) = opened.get(&index) {
        return Ok(d.clone());
    }
    let options = super::headless_wgpu_options().device_kind(burn::tensor::DeviceKind::DiscreteGpu(index));
    let device = options
        .init()
        .map_err(|e| TrainError::Device(format!("--devices: discrete GPU {index} could not be opened ({e})")))?;
    opened.insert(index, device.clone());
    Ok(device)
}

/// Splits `t` into `parts` shards of consecutive queries (sizes differ by at most one; a shard
/// may be empty when there are fewer queries than parts). Every shard keeps all the shared random
/// negatives; each query keeps its own hard negatives. Every loss is a mean over queries of a
/// per-query term that sees the same negatives, so the shards' losses weighted by their share of
/// the queries sum to the whole batch's loss, and so do their gradients.
pub fn split_triplets(t: &Triplets, parts: usize) -> Vec<Triplets> {
    let parts = parts.max(1);
    let (n, h) = (t.queries.len(), t.hard_per_query);
    (0..parts)
        .map(|i| {
            let (a, b) = (i * n / parts, (i + 1) * n / parts);
            Triplets {
                queries: t.queries[a..b].to_vec(),
                positives: t.positives[a..b].to_vec(),
                negatives: t.negatives.clone(),
                hard: t.hard.get(a * h..b * h).map_or_else(Vec::new, <[u32]>::to_vec),
                hard_per_query: h,
            }
        })
        .collect()
}

/// One step's shards: `parts` batches from [`split_triplets`] (one whole batch when `parts` is 1),
/// each with its pairs' positive edges left out of their queries' neighbourhoods when `exclude`
/// (see [`exclude_positive_edges`]).
pub fn make_shards<B: BlockPlan>(
    nb: &NodeNeighbourhoods,
    t: &Triplets,
    features: Option<&crate::graph::Features>,
    parts: usize,
    exclude: bool,
    sets: &mut [NodeSet; 2],
    targets: &mut NodeSet,
) -> Vec<TrainBatch<B>> {
    let mut shard = |s: &Triplets| {
        let mut batch = make_plan_batch(nb, s, features, sets, targets);
        if exclude {
            exclude_positive_edges(&mut batch, nb, s);
        }
        batch
    };
    if parts <= 1 {
        return vec![shard(t)];
    }
    split_triplets(t, parts).iter().map(shard).collect()
}

/// The replicas of a data-parallel run: device 0 holds the model the optimizer steps (the caller
/// keeps it); this holds the devices and the other replicas.
pub struct DataParallel<M: Module> {
    /// Autodiff devices, one per replica; `[0]` is the model's.
    devices: Vec<Device>,
    /// Replicas 1.. (replica 0 is the caller's model).
    replicas: Vec<M>,
    /// Per device: time the trainer blocked reading its bucket back.
    waited: Vec<Duration>,
}

impl<M: Module> DataParallel<M> {
    /// Replicas of `model` (on `devices[0]`, autodiff) on the other devices.
    pub fn new(devices: Vec<Device>, model: &M) -> DataParallel<M> {
        let devices: Vec<Device> = devices.into_iter().map(Device::autodiff).collect();
        let replicas = devices[1..].iter().map(|d| model.clone().fork(d)).collect();
        let waited = vec![Duration::ZERO; devices.len()];
        DataParallel { devices, replicas, waited }
    }

    /// Replicas 1.. (replica 0 is the caller's model).
    pub fn replicas(&self) -> &[M] {
        &self.replicas
    }

    /// Per device, the time the trainer blocked on its transfers since the last reset.
    pub fn waited(&self) -> &[Duration] {
        &self.waited
    }

    pub fn reset_waited(&mut self) {
        self.waited.iter_mut().for_each(|w| *w = Duration::ZERO);
    }

    /// One data-parallel step. `losses[i]` is replica i's shard loss on its device, already
    /// weighted by the shard's share of the batch (`None` for an empty shard). Backward on every
    /// replica, the gradients and the losses summed on device 0 (in replica order), one optimizer
    /// step, the new parameters broadcast. Returns the stepped model and the batch's loss on
    /// device 0 (not read back).
    pub fn step(
        &mut self,
        model: M,
        losses: Vec<Option<Tensor<1>>>,
        optim: &mut ModuleOptimizer,
        learning_rate: f64,
    ) -> (M, Tensor<1>) {
        // All backward passes are queued before anything blocks, so the devices work together.
        let grads: Vec<(usize, GradientsParams, Tensor<1>)> = losses
            .into_iter()
            .enumerate()
            .filter_map(|(i, loss)| {
                let loss = loss?;
                let grads = match i {
                    0 => GradientsParams::from_grads(loss.backward(), &model),
                    _ => GradientsParams::from_grads(loss.backward(), &self.replicas[i - 1]),
                };
                Some((i, grads, loss.inner()))
            })
            .collect();
        // Parameters with a gradient on some replica (one without is left alone, as the optimizer
        // leaves it on a single device).
        let mut presence = Presence { grads: grads.iter().map(|(_, g, _)| g).collect(), present: Vec::new() };
        model.visit(&mut presence);
        let present = presence.present;
        let base0 = self.devices[0].clone().inner();
        let mut total: Option<Tensor<1>> = None;
        for (i, mut g, loss) in grads {
            let device = self.devices[i].clone().inner();
            let mut bucket =
                Bucket { grads: &mut g, slots: Slots { present: &present, next: 0 }, device, parts: Vec::new() };
            model.visit(&mut bucket);
            let mut parts = bucket.parts;
            parts.push(loss);
            let bucket = Tensor::cat(parts, 0);
            let t = Instant::now();
            let bucket = bucket.to_device(&base0);
            self.waited[i] += t.elapsed();
            total = Some(match total {
                Some(acc) => acc + bucket,
                None => bucket,
            });
        }
        let Some(total) = total else { return (model, Tensor::zeros([1], &base0)) };
        let mut unbucket = Unbucket {
            flat: total.clone(),
            offset: 0,
            slots: Slots { present: &present, next: 0 },
            out: GradientsParams::new(),
        };
        model.visit(&mut unbucket);
        let (summed, offset) = (unbucket.out, unbucket.offset);
        let loss = total.narrow(0, offset, 1);
        let model = optim.step(learning_rate, model, summed);
        if !self.replicas.is_empty() {
            let params = Tensor::cat(flat_params(&model), 0);
            for (i, replica) in self.replicas.iter_mut().enumerate() {
                let t = Instant::now();
                let copy = params.clone().to_device(&self.devices[i + 1].clone().inner());
                self.waited[0] += t.elapsed();
                *replica = replica.clone().map(&mut LoadFlat { flat: copy, offset: 0 });
            }
        }
        (model, loss)
    }
}

/// Every trainable float parameter's value, flattened, in visiting order (without autodiff).
fn flat_params<M: Module>(model: &M) -> Vec<Tensor<1>> {
    struct Flat(Vec<Tensor<1>>);
    impl ModuleVisitor for Flat {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.is_require_grad() {
                let v = param.val().inner();
                let n = v.shape().num_elements();
                self.0.push(v.reshape([n]));
            }
        }
    }
    let mut v = Flat(Vec::new());
    model.visit(&mut v);
    v.0
}

/// Replaces every trainable float parameter with the next slice of `flat` (a fresh leaf that
/// requires its gradient, on `flat`'s device).
struct LoadFlat {
    flat: Tensor<1>,
    offset: usize,
}

impl ModuleMapper for LoadFlat {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !param.is_require_grad() {
            return param;
        }
        let shape = param.lazy_shape();
        let n = shape.num_elements();
        let slice = self.flat.clone().narrow(0, self.offset, n);
        self.offset += n;
        param.map(|_| Tensor::from_inner(slice.reshape(shape)).require_grad())
    }
}

/// Per trainable parameter (visiting order): whether any replica has its gradient.
struct Presence<'a> {
    grads: Vec<&'a GradientsParams>,
    present: Vec<bool>,
}

impl ModuleVisitor for Presence<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if param.is_require_grad() {
            self.present.push(self.grads.iter().any(|g| g.get::<D>(param.id).is_some()));
        }
    }
}

/// One replica's gradients of the present parameters, flattened in visiting order (zeros where
/// this replica has none).
struct Bucket<'a> {
    grads: &'a mut GradientsParams,
    slots: Slots<'a>,
    device: Device,
    parts: Vec<Tensor<1>>,
}

impl ModuleVisitor for Bucket<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !self.slots.in_bucket(param.is_require_grad()) {
            return;
        }
        let n = param.lazy_shape().num_elements();
        self.parts.push(match self.grads.remove::<D>(param.id) {
            Some(g) => g.reshape([n]),
            None => Tensor::zeros([n], &self.device),
        });
    }
}

/// The summed bucket back into per-parameter gradients.
struct Unbucket<'a> {
    flat: Tensor<1>,
    offset: usize,
    slots: Slots<'a>,
    out: GradientsParams,
}

/// Walks the trainable parameters in visiting order, saying which are in the bucket.
struct Slots<'a> {
    present: &'a [bool],
    next: usize,
}

impl Slots<'_> {
    /// Whether the next visited parameter (trainable or not) has a place in the bucket.
    fn in_bucket(&mut self, trainable: bool) -> bool {
        if !trainable {
            return false;
        }
        self.next += 1;
        self.present[self.next - 1]
    }
}

impl ModuleVisitor for Unbucket<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !self.slots.in_bucket(param.is_require_grad()) {
            return;
        }
        let shape = param.lazy_shape();
        let n = shape.num_elements();
        let g: Tensor<D> = self.flat.clone().narrow(0, self.offset, n).reshape(shape);
        self.out.register::<D>(param.id, g);
        self.offset += n;
    }
}

/// One device count's row of `pinsage bench train-step --devices`.
#[derive(Debug, serde::Serialize)]
pub struct ParallelStepRow {
    pub devices: usize,
    pub ms_per_step: f64,
    pub triplets_per_sec: f64,
    /// Triplets/s over the one-device row's.
    pub speedup: f64,
    /// Per device: the share of the timed steps the trainer blocked on its transfers.
    pub device_wait_shares: Vec<f64>,
}

/// Times `steps` training steps on one fixed batch (after 5 warm-up steps, syncing every device
/// only at the ends) on the first 1, 2, … of `devices` (base devices): one device steps as
/// `pinsage train` does on one device; several split the batch and go through [`DataParallel`].
pub fn bench_step(
    g: &crate::graph::Graph,
    cfg: &super::TrainConfig,
    devices: &[Device],
    steps: usize,
) -> Result<Vec<ParallelStepRow>, TrainError> {
    use crate::model::losses::{LossRows, block_tensors, rows_loss};
    let nb = crate::sampler::try_node_neighbourhoods(g, cfg.neighbourhood, &cfg.walk)?;
    let t = crate::bench::bench_triplets(g, cfg);
    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
    let mut sets = [NodeSet::new(n_nodes), NodeSet::new(n_nodes)];
    let mut targets = NodeSet::new(n_nodes);
    let sync = |devices: &[Device]| -> Result<(), TrainError> {
        devices.iter().try_for_each(|d| d.sync().map_err(|e| TrainError::Device(e.to_string())))
    };
    let mut rows: Vec<ParallelStepRow> = Vec::new();
    for k in 1..=devices.len() {
        let shards: Vec<TrainBatch> =
            make_shards(&nb, &t, g.features.as_ref(), k, cfg.exclude_positive_edges, &mut sets, &mut targets);
        let train_devices: Vec<Device> = devices[..k].iter().cloned().map(Device::autodiff).collect();
        devices[0].seed(cfg.seed);
        let mut model = cfg.model_config(g).init(&train_devices[0]);
        let mut optim = cfg.optimizer();
        let mut dp = DataParallel::new(devices[..k].to_vec(), &model);
        // Each shard is uploaded once, to its device (as bench_train_step does).
        let uploaded: Vec<_> = (shards.iter().zip(&train_devices))
            .map(|(b, d)| (block_tensors(&b.block, d), LossRows::new(b, d), b.query_rows.len()))
            .collect();
        let total: usize = uploaded.iter().map(|u| u.2).sum();
        let mut step = |model: crate::model::PinSage, dp: &mut DataParallel<crate::model::PinSage>| {
            let models: Vec<&crate::model::PinSage> = std::iter::once(&model).chain(dp.replicas()).collect();
            let losses: Vec<Option<Tensor<1>>> = (uploaded.iter().zip(models))
                .map(|((block, rows, n), m)| {
                    let loss = rows_loss(m.forward(block), rows, cfg.loss, cfg.margin, cfg.temperature());
                    (*n > 0).then(|| loss * (*n as f32 / total.max(1) as f32))
                })
                .collect();
            if k == 1 {
                let loss = losses.into_iter().flatten().next();
                match loss {
                    Some(loss) => {
                        let grads = GradientsParams::from_grads(loss.backward(), &model);
                        optim.step(cfg.learning_rate, model, grads)
                    }
                    None => model,
                }
            } else {
                dp.step(model, losses, &mut optim, cfg.learning_rate).0
            }
        };
        for _ in 0..5 {
            model = step(model, &mut dp);
        }
        sync(&devices[..k])?;
        dp.reset_waited();
        let start = Instant::now();
        for _ in 0..steps {
            model = step(model, &mut dp);
        }
        sync(&devices[..k])?;
        let secs = start.elapsed().as_secs_f64();
        let triplets_per_sec = (total * steps) as f64 / secs;
        rows.push(ParallelStepRow {
            devices: k,
            ms_per_step: 1e3 * secs / steps.max(1) as f64,
            triplets_per_sec,
            speedup: rows.first().map_or(1.0, |r| triplets_per_sec / r.triplets_per_sec),
            device_wait_shares: if k == 1 {
                Vec::new()
            } else {
                dp.waited().iter().map(|w| w.as_secs_f64() / secs).collect()
            },
        });
    }
    Ok(rows)
}
