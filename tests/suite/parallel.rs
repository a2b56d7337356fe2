//! Data-parallel training on the CPU (two replicas on Burn's one flex device, which exercises the
//! split, the gradient bucket, the reduction and the broadcast exactly as on two GPUs): replicas
//! hold identical weights after every step, the sharded step equals the whole batch's, a run
//! trains like a one-device run on the same batches, and bad `--devices` lists are refused.

use std::process::Command;
use std::sync::Arc;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::*;
use pinsage_explorer::bench::bench_triplets;
use pinsage_explorer::graph::Graph;
use pinsage_explorer::model::PinSage;
use pinsage_explorer::model::losses::{LossRows, block_tensors, rows_loss};
use pinsage_explorer::sampler::{NodeNeighbourhoods, NodeSet, TrainBatch, Triplets, node_neighbourhoods};
use pinsage_explorer::synthetic::{SyntheticConfig, generate};
use pinsage_explorer::train::parallel::{DataParallel, make_shards, open_devices, parse_devices, split_triplets};
use pinsage_explorer::train::{self, DeviceChoice, Mode, RunOptions, TrainConfig, TrainEvent};

use crate::training::{cpu_config, cpu_config_from, epoch_losses};

/// Every float parameter's values, in visiting order.
fn weights(m: &PinSage) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.extend(param.val().into_data().try_to_vec::<f32>().expect("f32 weights"));
        }
    }
    let mut c = Collect(Vec::new());
    m.visit(&mut c);
    c.0
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn max_abs(a: &[f32]) -> f32 {
    a.iter().map(|x| x.abs()).fold(0.0, f32::max)
}

/// `shards`' losses under `models` (shard i on model i), each weighted by its share of the queries.
fn shard_losses(models: &[&PinSage], shards: &[TrainBatch], cfg: &TrainConfig, dev: &Device) -> Vec<Option<Tensor<1>>> {
    let total: usize = shards.iter().map(|s| s.query_rows.len()).sum();
    shards
        .iter()
        .zip(models)
        .map(|(b, m)| {
            let loss = rows_loss(
                m.forward(&block_tensors(&b.block, dev)),
                &LossRows::new(b, dev),
                cfg.loss,
                cfg.margin,
                cfg.temperature(),
            );
            (!b.query_rows.is_empty()).then(|| loss * (b.query_rows.len() as f32 / total as f32))
        })
        .collect()
}

/// The synthetic graph, a CPU config with `batch_size`, the neighbourhoods and reusable node
/// sets, and a freshly initialised model on the flex device.
struct Fixture {
    g: Graph,
    cfg: TrainConfig,
    nb: NodeNeighbourhoods,
    sets: [NodeSet; 2],
    targets: NodeSet,
    dev: Device,
    model: PinSage,
}

impl Fixture {
    fn new(batch_size: usize) -> Fixture {
        let g = generate(&SyntheticConfig::default());
        let cfg = TrainConfig { batch_size, ..cpu_config(1) };
        let nb = node_neighbourhoods(&g, cfg.neighbourhood, &cfg.walk);
        let n_nodes = (g.n_pins() + g.n_boards()) as usize;
        let dev = Device::flex().autodiff();
        dev.seed(cfg.seed);
        let model = cfg.model_config(&g).init(&dev);
        Fixture {
            sets: [NodeSet::new(n_nodes), NodeSet::new(n_nodes)],
            targets: NodeSet::new(n_nodes),
            g,
            cfg,
            nb,
            dev,
            model,
        }
    }

    /// `t` as `parts` shards (one whole batch for 1).
    fn shards(&mut self, t: &Triplets, parts: usize) -> Vec<TrainBatch> {
        make_shards(&self.nb, t, self.g.features.as_ref(), parts, false, &mut self.sets, &mut self.targets)
    }

    /// Step `step`'s triplets: the benchmark batch under seed `step`.
    fn triplets(&self, step: u64) -> Triplets {
        bench_triplets(&self.g, &TrainConfig { seed: step, ..self.cfg.clone() })
    }
}

#[test]
fn devices_lists_are_parsed_and_bad_ones_refused_by_name() {
    assert_eq!(parse_devices("0,1").unwrap(), vec![0, 1]);
    assert_eq!(parse_devices(" 1 , 0 ").unwrap(), vec![1, 0]);
    for (text, says) in [
        ("", "empty"),
        ("  ", "empty"),
        ("0,,1", "empty entry"),
        ("0,0", "listed twice"),
        ("0,a", "`a` is not a device index"),
        ("-1", "`-1` is not a device index"),
    ] {
        let e = parse_devices(text).expect_err(text).to_string();
        assert!(e.contains("devices") && e.contains(says), "{text:?}: {e}");
    }
    // An index past the CPU's replicas is refused when the devices are opened.
    let e = open_devices(DeviceChoice::Cpu, &[0, 100_000]).expect_err("no such replica").to_string();
    assert!(e.contains("100000") && e.contains("does not exist"), "{e}");
    assert_eq!(open_devices(DeviceChoice::Cpu, &[1, 0]).map(|(d, _)| d.len()).ok(), Some(2));
    // The config refuses the same lists, and several devices for LightGCN.
    let bad = |devices: Vec<usize>, mode: Mode| {
        TrainConfig { devices: Some(devices), mode, ..TrainConfig::default() }.validate()
    };
    assert!(bad(vec![], Mode::Pinsage).is_err());
    assert!(bad(vec![2, 2], Mode::Pinsage).is_err());
    assert!(bad(vec![0, 1], Mode::Lightgcn).is_err());
    assert!(bad(vec![0, 1], Mode::Pinsage).is_ok());
}

#[test]
fn bad_devices_flags_exit_with_a_message_not_a_panic() {
    for devices in ["", "0,0", "zero", "0,99999"] {
        let out = Command::new(env!("CARGO_BIN_EXE_pinsage"))
            .args(["train", "--device", "cpu", "--epochs", "1", "--devices", devices])
            .output()
            .expect("runs pinsage");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{devices:?} was accepted");
        assert!(err.contains("devices") && !err.contains("panicked"), "{devices:?}: {err}");
    }
}

#[test]
fn shards_divide_the_queries_and_keep_the_shared_negatives() {
    let t = Triplets {
        queries: vec![10, 11, 12, 13, 14],
        positives: vec![20, 21, 22, 23, 24],
        negatives: vec![1, 2, 3],
        hard: vec![30, 31, 40, 41, 50, 51, 60, 61, 70, 71],
        hard_per_query: 2,
    };
    let s = split_triplets(&t, 2);
    assert_eq!(s.len(), 2);
    // 5 queries in 2 parts: ⌊5·1/2⌋ = 2 and 3.
    assert_eq!((s[0].queries.clone(), s[1].queries.clone()), (vec![10, 11], vec![12, 13, 14]));
    assert_eq!((s[0].positives.clone(), s[1].positives.clone()), (vec![20, 21], vec![22, 23, 24]));
    assert_eq!((s[0].hard.clone(), s[1].hard.clone()), (vec![30, 31, 40, 41], vec![50, 51, 60, 61, 70, 71]));
    assert!(s.iter().all(|p| p.negatives == t.negatives && p.hard_per_query == 2));
    // More parts than queries: some shards are empty, none is lost.
    let s = split_triplets(&t, 7);
    assert_eq!(s.iter().map(|p| p.queries.len()).sum::<usize>(), 5);
    assert_eq!(s.iter().flat_map(|p| p.queries.clone()).collect::<Vec<_>>(), t.queries);
}

/// Plain SGD moves each weight by lr × its gradient, so comparing weights after each step compares
/// the sharded gradient (two halves' gradients weighted by ½) with the whole batch's. They are the
/// same per-query terms summed in another order: f32 rounding only (observed ~3e-8 after 10
/// steps), so 1e-5 of the largest weight is a generous bound that a wrong weighting (a factor 2)
/// or a lost shard would exceed by orders of magnitude.
#[test]
fn sharded_steps_equal_whole_batch_steps() {
    // The paper's setup: max-margin loss, shared negatives and one hard negative per query.
    let mut f = Fixture::new(96);
    let (cfg, dev) = (f.cfg.clone(), f.dev.clone());
    let mut single = f.model.clone();
    let mut sharded = single.clone();
    let (mut sgd_single, mut sgd_sharded) = (SgdConfig::new().init(), SgdConfig::new().init());
    let mut dp = DataParallel::new(vec![Device::flex(), Device::flex()], &sharded);
    let lr = 0.5;
    for step in 0..10 {
        let t = f.triplets(step);
        assert!(t.hard_per_query == 1 && t.queries.len() == 96);
        let whole = f.shards(&t, 1).remove(0);
        let shards = f.shards(&t, 2);
        assert_eq!(shards.iter().map(|s| s.query_rows.len()).collect::<Vec<_>>(), vec![48, 48]);

        let before = weights(&single);
        let loss = rows_loss(
            single.forward(&block_tensors(&whole.block, &dev)),
            &LossRows::new(&whole, &dev),
            cfg.loss,
            cfg.margin,
            cfg.temperature(),
        );
        let whole_loss = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &single);
        single = sgd_single.step(lr, single, grads);

        let models: Vec<&PinSage> = std::iter::once(&sharded).chain(dp.replicas()).collect();
        let losses = shard_losses(&models, &shards, &cfg, &dev);
        let (stepped, dp_loss) = dp.step(sharded, losses, &mut sgd_sharded, lr);
        sharded = stepped;

        let (w_single, w_sharded) = (weights(&single), weights(&sharded));
        assert!(max_abs_diff(&before, &w_single) > 1e-5, "step {step} moved the weights");
        let diff = max_abs_diff(&w_single, &w_sharded);
        assert!(diff <= 1e-5 * max_abs(&before), "step {step}: sharded vs whole batch differ by {diff:e}");
        let dp_loss = dp_loss.into_scalar::<f32>();
        assert!((dp_loss - whole_loss).abs() <= 1e-5 * whole_loss.abs(), "step {step}: loss {dp_loss} vs {whole_loss}");
        // And the replica holds the stepped weights, bit for bit.
        assert_eq!(weights(&dp.replicas()[0]), w_sharded);
    }
}

#[test]
fn replicas_hold_identical_weights_after_every_step() {
    let mut f = Fixture::new(64);
    let (cfg, dev) = (f.cfg.clone(), f.dev.clone());
    let mut model = f.model.clone();
    let mut optim = cfg.optimizer();
    let mut dp = DataParallel::new(vec![Device::flex(); 3], &model);
    for step in 0..4 {
        // A different batch each step (three shards of uneven size: 64 = 21 + 21 + 22).
        let shards = f.shards(&f.triplets(step), 3);
        let models: Vec<&PinSage> = std::iter::once(&model).chain(dp.replicas()).collect();
        let losses = shard_losses(&models, &shards, &cfg, &dev);
        let before = weights(&model);
        model = dp.step(model, losses, &mut optim, cfg.learning_rate).0;
        let after = weights(&model);
        assert!(max_abs_diff(&before, &after) > 0.0, "step {step} moved the weights");
        for (i, r) in dp.replicas().iter().enumerate() {
            assert_eq!(weights(r), after, "replica {} after step {step}", i + 1);
        }
    }
}

/// A two-replica run against a one-device run on the same batches (one sampler thread, so the
/// batch order is fixed), with the real-data defaults (sampled softmax, no hard negatives, Adam):
/// the same epoch losses and nearly the same model. The gradients differ by f32 rounding only (see
/// above); Adam divides each by its running RMS, which keeps a rounding-level difference at the
/// 1e-5 level here (observed ≤ 3e-5 after 20 steps), so 1e-3 (a fifth of one Adam step at this
/// learning rate) bounds it. The bound is for a short run: ReLUs (and the max-margin hinge) make
/// training chaotic, and Adam amplifies a rounding-level difference where a gradient is near zero,
/// so longer runs drift apart by up to ~lr per step, equally good, as any change of summation
/// order on one device would make them. Replicas update the id table densely, so the one-device
/// run does too (`sparse_ids: false`).
#[test]
fn two_replicas_train_like_one_device_on_the_same_batches() {
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let base = TrainConfig { sparse_ids: Some(false), ..TrainConfig::default() };
    let cfg = TrainConfig { sampler_threads: 1, eval_each_epoch: false, ..cpu_config_from(2, base) };
    let run = |devices: Option<Vec<usize>>| {
        let handle = train::spawn(g.clone(), TrainConfig { devices, ..cfg.clone() }, RunOptions::default());
        let events: Vec<TrainEvent> = handle.events.iter().collect();
        let out = handle.join().expect("training succeeds");
        let losses = epoch_losses(&events);
        let waits = events.iter().find_map(|e| match e {
            TrainEvent::Progress { device_wait_shares, .. } => Some(device_wait_shares.len()),
            _ => None,
        });
        (weights(&out.model.expect("a PinSage model")), losses, waits)
    };
    let (w1, l1, waits1) = run(None);
    let (w2, l2, waits2) = run(Some(vec![0, 1]));
    assert_eq!((waits1, waits2), (Some(0), Some(2)), "per-device wait shares only for the replicas");
    assert_eq!(l1.len(), 2);
    for (a, b) in l1.iter().zip(&l2) {
        assert!((a - b).abs() <= 1e-4 * a.abs(), "epoch losses {l1:?} vs {l2:?}");
    }
    let diff = max_abs_diff(&w1, &w2);
    assert!(diff <= 1e-3, "max weight difference {diff:e}");
}
