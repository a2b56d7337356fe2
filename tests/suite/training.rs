//! Short CPU trainings on the synthetic graph: the loss falls, held-out pins rank higher, runs
//! write their folder, resume, obey commands and reject bad configs.

use std::sync::Arc;

use pinsage_explorer::eval::{EmbeddingScorer, PopularityScorer, evaluate, pair_ranks, pin_pairs};
use pinsage_explorer::graph::Graph;
use pinsage_explorer::infer::{embed_all, embed_all_in_blocks};
use pinsage_explorer::sampler::{PairSampling, epoch_pairs, node_neighbourhoods};
use pinsage_explorer::synthetic::{SyntheticConfig, generate};
use pinsage_explorer::train::{self, DeviceChoice, EndReason, Mode, RunOptions, TrainCommand, TrainConfig, TrainEvent};

pub fn cpu_config(epochs: usize) -> TrainConfig {
    cpu_config_from(epochs, TrainConfig::paper())
}

/// `base` made small and quick for the CPU: `epochs` epochs, batch 128, 64 negatives, 32-d.
pub fn cpu_config_from(epochs: usize, base: TrainConfig) -> TrainConfig {
    TrainConfig {
        epochs,
        device: DeviceChoice::Cpu,
        batch_size: 128,
        negatives: 64,
        input_dim: 32,
        hidden_dim: 32,
        learning_rate: 5e-3,
        log_every_steps: 5,
        ..base
    }
}

/// Each epoch's mean loss, from a run's events.
pub fn epoch_losses(events: &[TrainEvent]) -> Vec<f32> {
    events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::EpochEnd { loss, .. } => Some(*loss),
            _ => None,
        })
        .collect()
}

fn mean_rank(g: &Graph, emb: &pinsage_explorer::infer::Embeddings) -> f64 {
    let pairs = pin_pairs(g, 2000, 9);
    let ranks = pair_ranks(g, &EmbeddingScorer { emb }, &pairs);
    ranks.iter().sum::<usize>() as f64 / ranks.len() as f64
}

#[test]
fn training_lowers_loss_and_ranks_held_out_pins_higher() {
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let cfg = cpu_config(6);
    // Before: the freshly initialised model (same seed, same device).
    let (dev, _, _) = train::select_device(DeviceChoice::Cpu);
    dev.seed(cfg.seed);
    let untrained = cfg.model_config(&g).init(&dev);
    let nb = node_neighbourhoods(&g, cfg.neighbourhood, &cfg.walk);
    let before = embed_all(&untrained, &nb, g.features.as_ref(), &dev, 4096, |_, _| {}).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let handle = train::spawn(
        g.clone(),
        cfg.clone(),
        RunOptions { out: Some(dir.path().to_path_buf()), ..RunOptions::default() },
    );
    let events: Vec<TrainEvent> = handle.events.iter().collect();
    let out = handle.join().expect("training succeeds");
    assert_eq!(out.epochs_done, 6);
    let epoch_losses = epoch_losses(&events);
    assert_eq!(epoch_losses.len(), 6);
    // Hard negatives join from epoch 2 and raise the loss, so compare like with like: epoch 1 vs the
    // first steps, and the last epoch vs epoch 2.
    let first_progress = events.iter().find_map(|e| match e {
        TrainEvent::Progress { loss, .. } => Some(*loss),
        _ => None,
    });
    assert!(epoch_losses[0] < first_progress.unwrap(), "{epoch_losses:?} vs first {first_progress:?}");
    assert!(epoch_losses[5] < epoch_losses[1], "{epoch_losses:?}");
    let hard: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::EpochEnd { hard_per_query, .. } => Some(*hard_per_query),
            _ => None,
        })
        .collect();
    assert_eq!(hard, vec![0, 1, 2, 3, 4, 5], "curriculum: n−1 hard negatives in epoch n");

    let after = out.embeddings.expect("final embeddings");
    let (rb, ra) = (mean_rank(&g, &before), mean_rank(&g, &after));
    assert!(ra < rb * 0.6, "held-out co-board pins rank higher after training: {ra} vs {rb}");
    let m = evaluate(&g, &EmbeddingScorer { emb: &after }, 10, 5000, 1);
    let pop = evaluate(&g, &PopularityScorer::new(&g), 10, 5000, 1);
    assert!(m.recall_at_20 > pop.recall_at_20, "beats MostPopular: {} vs {}", m.recall_at_20, pop.recall_at_20);

    // The run folder.
    for f in ["config.json", "metrics.jsonl", "checkpoint.bpk", "model.bpk", "state.json", "model_config.json"] {
        assert!(dir.path().join(f).is_file(), "{f} written");
    }
    let lines = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let want: Vec<String> = events.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    assert_eq!(lines.lines().collect::<Vec<_>>(), want, "metrics.jsonl holds every event, in order");
    for l in lines.lines() {
        serde_json::from_str::<TrainEvent>(l).expect("each line parses back as an event");
    }
    // The saved model reproduces the final embeddings.
    let (_, loaded) = train::load_model(dir.path(), &g, &dev).unwrap();
    let again = embed_all(&loaded, &out.neighbourhoods, g.features.as_ref(), &dev, 4096, |_, _| {}).unwrap();
    let max_diff = again.data.iter().zip(&after.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(max_diff < 1e-4, "{max_diff}");
}

#[test]
fn resume_continues_from_the_checkpoint() {
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let opts = || RunOptions { out: Some(dir.path().to_path_buf()), ..RunOptions::default() };
    let cfg = TrainConfig { eval_each_epoch: false, ..cpu_config(1) };
    train::spawn(g.clone(), cfg.clone(), opts()).join().unwrap();
    let resumed = train::spawn(g.clone(), TrainConfig { epochs: 2, ..cfg }, RunOptions { resume: true, ..opts() });
    let events: Vec<TrainEvent> = resumed.events.iter().collect();
    let out = resumed.join().unwrap();
    assert_eq!(out.epochs_done, 2);
    assert!(matches!(events[0], TrainEvent::Started { start_epoch: 2, epochs: 2, .. }), "{:?}", events[0]);
    let jsonl = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(jsonl.lines().filter(|l| l.contains("\"epoch_end\"")).count(), 2, "both runs append to one log");
}

#[test]
fn resuming_restores_adams_moments_so_a_split_run_equals_an_unbroken_one() {
    // LightGCN's sampling is seeded per epoch, so 1 epoch + resume must land exactly where 2
    // straight epochs do — but only if Adam's moments come back with the weights.
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let cfg = TrainConfig { mode: Mode::Lightgcn, eval_each_epoch: false, batch_size: 64, ..cpu_config(2) };
    let straight = train::spawn(g.clone(), cfg.clone(), RunOptions::default()).join().unwrap().embeddings.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = || RunOptions { out: Some(dir.path().to_path_buf()), ..RunOptions::default() };
    train::spawn(g.clone(), TrainConfig { epochs: 1, ..cfg.clone() }, opts()).join().unwrap();
    assert!(dir.path().join("optimizer.bpk").is_file(), "the checkpoint saves the optimizer");
    let split =
        train::spawn(g.clone(), cfg.clone(), RunOptions { resume: true, ..opts() }).join().unwrap().embeddings.unwrap();
    let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(diff(&straight.data, &split.data) < 1e-5, "resumed run drifted by {}", diff(&straight.data, &split.data));
    // Without the moments (an old checkpoint), the second epoch starts Adam afresh and lands elsewhere.
    std::fs::remove_file(dir.path().join("optimizer.bpk")).unwrap();
    train::spawn(g.clone(), TrainConfig { epochs: 1, ..cfg.clone() }, opts()).join().unwrap();
    std::fs::remove_file(dir.path().join("optimizer.bpk")).unwrap();
    let fresh = train::spawn(g, cfg, RunOptions { resume: true, ..opts() }).join().unwrap().embeddings.unwrap();
    assert!(diff(&straight.data, &fresh.data) > 1e-4, "fresh moments should change the second epoch");
}

#[test]
fn stop_command_ends_the_run_and_keeps_the_checkpoint() {
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig { eval_each_epoch: false, ..cpu_config(50) };
    let h = train::spawn(g, cfg, RunOptions { out: Some(dir.path().to_path_buf()), ..RunOptions::default() });
    let mut saw_checkpoint = false;
    let mut paused = false;
    for ev in h.events.iter() {
        match ev {
            TrainEvent::Checkpoint { .. } if !paused => {
                saw_checkpoint = true;
                h.commands.send(TrainCommand::Pause).unwrap();
                paused = true;
            }
            TrainEvent::Paused => {
                h.commands.send(TrainCommand::Resume).unwrap();
                h.commands.send(TrainCommand::Stop).unwrap();
            }
            TrainEvent::Finished { reason, epochs_done, .. } => {
                assert_eq!(reason, EndReason::Stopped);
                assert!(epochs_done < 50);
            }
            _ => {}
        }
    }
    assert!(saw_checkpoint);
    let out = h.join().unwrap();
    assert!(out.epochs_done >= 1 && out.epochs_done < 50);
    assert!(dir.path().join("checkpoint.bpk").is_file());
    assert!(!dir.path().join("model.bpk").exists(), "a stopped run has no final model");
}

#[test]
fn invalid_configs_name_the_field() {
    for (cfg, field) in [
        (TrainConfig { epochs: 0, ..TrainConfig::default() }, "epochs"),
        (TrainConfig { learning_rate: -1.0, ..TrainConfig::default() }, "learning_rate"),
        (TrainConfig { adam_epsilon: 0.0, ..TrainConfig::default() }, "adam_epsilon"),
        (TrainConfig { board_query_share: 2.0, ..TrainConfig::default() }, "board_query_share"),
        (TrainConfig { hard_band: Some((50, 10)), ..TrainConfig::default() }, "hard_band"),
        (
            TrainConfig {
                hard_spread: Some(pinsage_explorer::sampler::SpreadLimits { fanout: 0, reads: 10 }),
                ..TrainConfig::default()
            },
            "hard_spread",
        ),
    ] {
        let e = cfg.validate().unwrap_err();
        assert_eq!(e.field, field);
    }
    // Through the thread too: a Failed event, then an error.
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let h = train::spawn(g, TrainConfig { batch_size: 0, ..cpu_config(1) }, RunOptions::default());
    let events: Vec<TrainEvent> = h.events.iter().collect();
    assert!(matches!(&events[..], [TrainEvent::Failed { message }] if message.contains("batch_size")), "{events:?}");
    assert!(h.join().is_err());
}

#[test]
fn a_diverging_run_stops_with_a_message_and_keeps_the_last_good_checkpoint() {
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let opts = || RunOptions { out: Some(dir.path().to_path_buf()), ..RunOptions::default() };
    // One good epoch, then resume with a learning rate that blows the weights up to infinity.
    train::spawn(g.clone(), TrainConfig { eval_each_epoch: false, ..cpu_config(1) }, opts()).join().unwrap();
    let good = std::fs::read(dir.path().join("checkpoint.bpk")).unwrap();
    let final_model = std::fs::read(dir.path().join("model.bpk")).unwrap();
    let mut cfg = TrainConfig { eval_each_epoch: false, ..cpu_config(3) };
    cfg.learning_rate = 1e38;
    // --resume keeps the saved settings, so write the exploding rate into the run's config.
    let mut saved = TrainConfig::load(&dir.path().join("config.json")).unwrap();
    saved.learning_rate = 1e38;
    saved.epochs = 3;
    std::fs::write(dir.path().join("config.json"), serde_json::to_string(&saved).unwrap()).unwrap();
    let h = train::spawn(g, cfg, RunOptions { resume: true, ..opts() });
    let events: Vec<TrainEvent> = h.events.iter().collect();
    let failed = events.iter().find_map(|e| match e {
        TrainEvent::Failed { message } => Some(message.clone()),
        _ => None,
    });
    let message = failed.expect("a Failed event");
    assert!(message.contains("loss became") && message.contains("last good checkpoint (epoch 1)"), "{message}");
    assert!(h.join().is_err());
    assert_eq!(std::fs::read(dir.path().join("checkpoint.bpk")).unwrap(), good, "the good checkpoint is untouched");
    assert_eq!(std::fs::read(dir.path().join("model.bpk")).unwrap(), final_model, "no diverged model is saved");
}

#[test]
fn softmax_loss_matches_hand_computation() {
    use burn::prelude::{Device, Int, Tensor, TensorData};
    use pinsage_explorer::train::{LossKind, LossRows, rows_loss};

    // Five unit rows of dim 2, so every score is a simple cosine.
    let z_host: [[f64; 2]; 5] = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [-0.8, 0.6], [-0.6, -0.8]];
    let queries = [0u32, 1];
    let positives = [2u32, 2];
    let negatives = [3u32, 4];
    let hard = [1u32, 0]; // one per query: query 0's is row 1, query 1's is row 0
    let tau = 0.5f32;
    let margin = 0.1f32; // unused by the softmax loss

    let device = Device::flex();
    let flat: Vec<f32> = z_host.iter().flatten().map(|&x| x as f32).collect();
    let z = Tensor::<2>::from_data(TensorData::new(flat, [z_host.len(), 2]), &device);
    let ints = |v: &[u32]| Tensor::<1, Int>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device);
    let loss_of = |rows: &LossRows| -> f64 {
        let loss = rows_loss(z.clone(), rows, LossKind::Softmax, margin, tau);
        assert_eq!(loss.dims(), [1]);
        loss.try_into_vec_as::<f32>().unwrap()[0] as f64
    };

    // By hand: −mean over queries of log(exp(s_pos/τ) / (exp(s_pos/τ) + Σ exp(s_neg/τ))).
    let dot =
        |a: u32, b: u32| z_host[a as usize][0] * z_host[b as usize][0] + z_host[a as usize][1] * z_host[b as usize][1];
    let t = tau as f64;
    let expected = |with_hard: bool| -> f64 {
        let mut total = 0.0;
        for (i, (&q, &p)) in queries.iter().zip(&positives).enumerate() {
            let e_pos = (dot(q, p) / t).exp();
            let mut denom = e_pos;
            for &n in &negatives {
                denom += (dot(q, n) / t).exp();
            }
            if with_hard {
                denom += (dot(q, hard[i]) / t).exp();
            }
            total += -(e_pos / denom).ln();
        }
        total / queries.len() as f64
    };
    // Scores, for the record: query 0 → pos 0.6, negs −0.8, −0.6, hard 0; query 1 → pos 0.8, negs 0.6, −0.8, hard 0.
    assert!((dot(0, 2) - 0.6).abs() < 1e-12 && (dot(1, 3) - 0.6).abs() < 1e-12);

    // Shared negatives only.
    let rows = LossRows {
        queries: ints(&queries),
        positives: ints(&positives),
        negatives: ints(&negatives),
        hard: ints(&[]),
        hard_per_query: 0,
    };
    let got = loss_of(&rows);
    let want = expected(false);
    assert!((got - want).abs() < 1e-5, "softmax without hard negatives: got {got}, want {want}");

    // One hard negative per query: it joins the denominator.
    let rows = LossRows {
        queries: ints(&queries),
        positives: ints(&positives),
        negatives: ints(&negatives),
        hard: ints(&hard),
        hard_per_query: 1,
    };
    let got_hard = loss_of(&rows);
    let want_hard = expected(true);
    assert!((got_hard - want_hard).abs() < 1e-5, "softmax with hard negatives: got {got_hard}, want {want_hard}");
    assert!(want_hard > want + 0.1, "the hard negatives must raise the loss ({want} → {want_hard})");
    assert!(got_hard > got + 0.1, "the library's loss must include the hard negatives ({got} → {got_hard})");
}

/// A graph with one big board (50 pins) and nine boards of 2 pins: 68 edges.
fn skewed_graph() -> Graph {
    let mut train: Vec<(u32, u32)> = (0..50).map(|p| (0, p)).collect();
    for b in 1..10u32 {
        train.push((b, 50 + 2 * b));
        train.push((b, 51 + 2 * b));
    }
    Graph::from_edges(80, 10, &train, &[])
}

#[test]
fn edge_sampling_yields_every_edge_once_per_epoch() {
    let g = skewed_graph();
    let mut pairs = epoch_pairs(&g, PairSampling::Edges, 1.0, 7, 3);
    pairs.sort_unstable();
    let n_pins = g.n_pins();
    let mut expected: Vec<(u32, u32)> =
        (0..g.n_boards()).flat_map(|b| g.pins_of(b).iter().map(move |&p| (n_pins + b, p))).collect();
    expected.sort_unstable();
    assert_eq!(pairs, expected);
}

#[test]
fn board_sampling_weighs_every_board_the_same() {
    let g = skewed_graph();
    let n_boards = g.n_boards() as f64;
    let (mut draws, mut big) = (0usize, 0usize);
    for epoch in 1..=200 {
        for (q, p) in epoch_pairs(&g, PairSampling::Boards, 1.0, 11, epoch) {
            let b = q - g.n_pins();
            assert!(g.pins_of(b).contains(&p), "pair ({q}, {p}) is not a training edge");
            draws += 1;
            big += usize::from(b == 0);
        }
    }
    assert_eq!(draws, 200 * g.n_edges(), "as many draws as edges per epoch");
    // Board 0 holds 50/68 of the edges but should get 1/10 of the draws: binomial(13 600, 0.1).
    let share = big as f64 / draws as f64;
    let sd = (0.1 * 0.9 / draws as f64).sqrt();
    assert!((share - 1.0 / n_boards).abs() < 5.0 * sd, "board 0 drew {share:.4} of the pairs, expected 0.1 ± {sd:.4}");
    // With pin queries allowed, a pin–pin pair's two pins share a board.
    for (q, p) in epoch_pairs(&g, PairSampling::Boards, 0.0, 5, 1) {
        assert!(q < g.n_pins() && q != p && g.boards_of(q).iter().any(|b| g.pins_of(*b).contains(&p)));
    }
}

/// The MapReduce trick is exact: layer-wise inference over the whole graph (layer 1 for every node
/// once, then layer 2) gives every node the embedding that the per-query forward pass of training
/// gives it, with and without the skip path from h⁰.
#[test]
fn layer_wise_inference_equals_the_per_query_forward_pass() {
    use burn::module::Module;
    use pinsage_explorer::model::PinSageConfig;
    use pinsage_explorer::sampler::{NeighbourhoodKind, NodeSet, build_block};
    use pinsage_explorer::walk::WalkConfig;
    let g = generate(&SyntheticConfig { pins: 300, boards: 120, ..SyntheticConfig::default() });
    let nb = node_neighbourhoods(&g, NeighbourhoodKind::Walks, &WalkConfig::default());
    let dev = burn::prelude::Device::flex();
    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
    let targets: Vec<u32> = (0..n_nodes as u32).step_by(7).collect();
    let mut sets = [NodeSet::new(n_nodes), NodeSet::new(n_nodes)];
    let block = train::block_tensors(&build_block(&nb, &targets, g.features.as_ref(), &mut sets), &dev);
    // (skip, input width): the third case maps h⁰ to the embedding's width first.
    for (skip, input_dim) in [(false, 16), (true, 16), (true, 8)] {
        let feature_dim = g.features.as_ref().map_or(0, |f| f.dim);
        let model = PinSageConfig::new(g.n_pins() as usize, g.n_boards() as usize, feature_dim)
            .with_input_dim(input_dim)
            .with_hidden_dim(16)
            .with_skip(skip)
            .init(&dev);
        let per_query = model.forward(&block).try_into_vec_as::<f32>().unwrap();
        // Whole layers in one block, and in blocks of 128 rows (each gather then spans blocks).
        for block_rows in [None, Some(128)] {
            let all = embed_all_in_blocks(&model, &nb, g.features.as_ref(), &dev, 64, block_rows, |_, _| {}).unwrap();
            assert_eq!(all.n_nodes(), n_nodes);
            let mut max_diff = 0f32;
            for (i, &t) in targets.iter().enumerate() {
                let row = &per_query[i * all.dim..(i + 1) * all.dim];
                for (a, b) in row.iter().zip(all.row(t)) {
                    max_diff = max_diff.max((a - b).abs());
                }
            }
            assert!(
                max_diff < 1e-5,
                "skip {skip}, input {input_dim}, blocks {block_rows:?}: layer-wise and per-query embeddings differ by {max_diff}"
            );
        }
    }
    // The skip path changes the embedding (it is not a no-op): same weights, different output.
    let base = PinSageConfig::new(g.n_pins() as usize, g.n_boards() as usize, 0).with_input_dim(16).with_hidden_dim(16);
    let plain = base.init(&dev);
    let with_skip = base.with_skip(true).init(&dev).load_record(plain.clone().into_record());
    let a = plain.forward(&block).try_into_vec_as::<f32>().unwrap();
    let b = with_skip.forward(&block).try_into_vec_as::<f32>().unwrap();
    assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-3), "skip left the embeddings unchanged");
}

/// Leaving the positive edge out: a pair's query is embedded exactly as layer-wise inference embeds
/// it over neighbourhoods where that one query's positive has weight 0 and its other weights are
/// renormalised; pairs whose positive the query does not pool, and every other role, are untouched.
#[test]
fn training_batches_leave_each_positive_out_of_its_querys_neighbourhood() {
    use pinsage_explorer::model::PinSageConfig;
    use pinsage_explorer::sampler::{NeighbourhoodKind, NodeSet, Triplets, exclude_positive_edges, make_batch};
    use pinsage_explorer::walk::WalkConfig;
    let g = generate(&SyntheticConfig { pins: 300, boards: 120, ..SyntheticConfig::default() });
    // K 4: many boards hold more pins than their neighbourhood samples.
    let nb = node_neighbourhoods(&g, NeighbourhoodKind::Walks, &WalkConfig { top_k: 4, ..WalkConfig::default() });
    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
    let board = |b: u32| g.n_pins() + b;
    let pools = |q: u32, p: u32| nb.ids_of(q).iter().zip(nb.weights_of(q)).any(|(&v, &w)| v == p && w > 0.0);
    // Board queries with a pooled positive, a board query whose positive it does not pool, the
    // same board twice with different positives, and a pin query.
    let big = (0..g.n_boards()).find(|&b| g.pins_of(b).len() > 4).expect("a board with more than K pins");
    let unpooled = *g.pins_of(big).iter().find(|&&p| !pools(board(big), p)).unwrap();
    let pooled: Vec<u32> = g.pins_of(big).iter().copied().filter(|&p| pools(board(big), p)).take(2).collect();
    let pin_q = (0..g.n_pins()).find(|&p| nb.weights_of(p)[0] > 0.0).unwrap();
    let mut pairs = vec![(board(big), pooled[0]), (board(big), unpooled), (board(big), pooled[1])];
    let first = *g.pins_of(0).iter().find(|&&p| pools(board(0), p)).unwrap();
    pairs.push((board(0), first));
    pairs.push((pin_q, nb.ids_of(pin_q)[0]));
    let t = Triplets {
        queries: pairs.iter().map(|p| p.0).collect(),
        positives: pairs.iter().map(|p| p.1).collect(),
        negatives: vec![7, 11, pooled[0]],
        ..Triplets::default()
    };
    let mut sets = [NodeSet::new(n_nodes), NodeSet::new(n_nodes)];
    let mut targets = NodeSet::new(n_nodes);
    let plain = make_batch(&nb, &t, g.features.as_ref(), &mut sets, &mut targets);
    let mut batch = plain.clone();
    let expected_own_rows = pairs.iter().filter(|&&(q, p)| pools(q, p)).count();
    assert_eq!(expected_own_rows, 4, "the test's pairs: all but one pool their positive");
    assert_eq!(exclude_positive_edges(&mut batch, &nb, &t), expected_own_rows);
    assert_eq!(batch.block.n_targets, plain.block.n_targets + expected_own_rows);

    let dev = burn::prelude::Device::flex();
    let feature_dim = g.features.as_ref().map_or(0, |f| f.dim);
    let model = PinSageConfig::new(g.n_pins() as usize, g.n_boards() as usize, feature_dim)
        .with_input_dim(16)
        .with_hidden_dim(16)
        .with_skip(true)
        .init(&dev);
    let z = model.forward(&train::block_tensors(&batch.block, &dev)).try_into_vec_as::<f32>().unwrap();
    let z_plain = model.forward(&train::block_tensors(&plain.block, &dev)).try_into_vec_as::<f32>().unwrap();
    let d = 16;
    let row = |z: &[f32], r: u32| z[r as usize * d..(r as usize + 1) * d].to_vec();
    let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    for (i, &(q, p)) in pairs.iter().enumerate() {
        // Layer-wise inference over the neighbourhoods with q's edge to p left out.
        let mut without = nb.clone();
        let s = q as usize * nb.k;
        let kept: f32 = (0..nb.k).filter(|&j| nb.ids[s + j] != p).map(|j| nb.weights[s + j]).sum();
        let total: f32 = nb.weights_of(q).iter().sum();
        for j in 0..nb.k {
            without.weights[s + j] = if nb.ids[s + j] == p { 0.0 } else { nb.weights[s + j] * total / kept };
        }
        let all = embed_all(&model, &without, g.features.as_ref(), &dev, 64, |_, _| {}).unwrap();
        let got = row(&z, batch.query_rows[i]);
        assert!(max_diff(&got, all.row(q)) < 1e-5, "pair {i} ({q}, {p}): not the embedding without the edge");
        if pools(q, p) {
            assert!(max_diff(&got, &row(&z_plain, plain.query_rows[i])) > 1e-4, "pair {i}: the edge changed nothing");
        } else {
            assert_eq!(batch.query_rows[i], plain.query_rows[i], "pair {i}: an unpooled positive keeps the shared row");
        }
    }
    // Positives and negatives keep their rows and embeddings.
    assert_eq!((&batch.positive_rows, &batch.negative_rows), (&plain.positive_rows, &plain.negative_rows));
    for &r in batch.positive_rows.iter().chain(&batch.negative_rows) {
        assert!(max_diff(&row(&z, r), &row(&z_plain, r)) < 1e-6);
    }
}

/// τ follows the graph's density d = edges / (pins × boards): 0.1 + 0.12·log₁₀(d / 6·10⁻⁴), within
/// [0.1, 0.35]; a config's own τ is kept.
#[test]
fn the_default_temperature_scales_with_the_graphs_density() {
    use pinsage_explorer::train::default_temperature;
    // n edges on a 100 × 100 graph, board b holding pins b, b+1, … (mod 100).
    let graph = |edges: u32| {
        let e: Vec<(u32, u32)> = (0..edges).map(|i| (i % 100, (i % 100 + i / 100) % 100)).collect();
        Graph::from_edges(100, 100, &e, &[])
    };
    for (edges, expected) in [(6, 0.1), (60, 0.22), (600, 0.34), (2000, 0.35), (3, 0.1)] {
        let g = graph(edges);
        assert_eq!(g.n_edges(), edges as usize);
        let t = default_temperature(&g);
        assert!(
            (t - expected).abs() < 1e-4,
            "{edges} edges (density {}): τ {t}, expected {expected}",
            edges as f64 / 1e4
        );
    }
    assert_eq!(default_temperature(&Graph::from_edges(10, 10, &[], &[])), 0.1, "no edges");
    let g = graph(60);
    assert_eq!(TrainConfig::default().scaled_for(&g).temperature, Some(default_temperature(&g)));
    let own = TrainConfig { temperature: Some(0.7), ..TrainConfig::default() };
    assert_eq!(own.scaled_for(&g).temperature, Some(0.7), "a chosen τ is kept");
}

/// A node-set batch over the neighbourhoods held on the device gives exactly the block that the
/// host-built gathers give (ids, rows, weights, features), with and without own query rows, for
/// random batches with repeated queries and hard negatives, walk and uniform neighbourhoods.
#[test]
fn node_set_batches_over_resident_neighbourhoods_equal_the_host_gathers() {
    use pinsage_explorer::model::losses::{DeviceBatch, block_tensors};
    use pinsage_explorer::model::resident::ResidentNeighbourhoods;
    use pinsage_explorer::model::{Block, LayerIndex};
    use pinsage_explorer::sampler::{
        HostNodeSets, NeighbourhoodKind, NodeSet, TrainBatch, Triplets, exclude_positive_edges, fill_triplets,
        hard_pools, make_batch, make_plan_batch,
    };
    use pinsage_explorer::walk::WalkConfig;
    use rand::SeedableRng;

    let ints = |t: burn::prelude::Tensor<1, burn::prelude::Int>| t.try_into_vec_as::<i64>().unwrap();
    let floats = |t: burn::prelude::Tensor<2>| t.try_into_vec_as::<f32>().unwrap();
    let layer = |l: &LayerIndex| (ints(l.self_idx.clone()), ints(l.nbr_idx.clone()), floats(l.weights.clone()));
    let parts = |b: &Block| {
        (ints(b.input_nodes.clone()), b.input_features.clone().map(floats), layer(&b.layers[0]), layer(&b.layers[1]))
    };
    let dev = burn::prelude::Device::flex();
    let mut own_rows_seen = 0;
    for (seed, kind) in
        [(1u64, NeighbourhoodKind::Walks), (2, NeighbourhoodKind::Uniform), (3, NeighbourhoodKind::Walks)]
    {
        let g = generate(&SyntheticConfig { pins: 400, boards: 150, seed, ..SyntheticConfig::default() });
        let nb = node_neighbourhoods(&g, kind, &WalkConfig { top_k: 6, seed, ..WalkConfig::default() });
        let resident = ResidentNeighbourhoods::fit(&nb, &dev).expect("a small table fits");
        let n_nodes = (g.n_pins() + g.n_boards()) as usize;
        let mut sets = [NodeSet::new(n_nodes), NodeSet::new(n_nodes)];
        let mut targets = NodeSet::new(n_nodes);
        let pools = hard_pools(&g, (5, 40), 8, seed);
        let pairs = epoch_pairs(&g, PairSampling::Edges, 0.5, seed, 1);
        for (i, chunk) in pairs.chunks(64).take(4).enumerate() {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed * 100 + i as u64);
            let mut t = Triplets::default();
            // Repeat a query so that one node gets several own rows.
            let mut chunk = chunk.to_vec();
            chunk.push(chunk[0]);
            fill_triplets(&g, &chunk, 20, Some((&pools, i % 3)), &mut rng, &mut t);
            for exclude in [false, true] {
                let mut gathers = make_batch(&nb, &t, g.features.as_ref(), &mut sets, &mut targets);
                let mut node_sets: TrainBatch<HostNodeSets> =
                    make_plan_batch(&nb, &t, g.features.as_ref(), &mut sets, &mut targets);
                if exclude {
                    let a = exclude_positive_edges(&mut gathers, &nb, &t);
                    let b = exclude_positive_edges(&mut node_sets, &nb, &t);
                    assert_eq!(a, b);
                    own_rows_seen += a;
                }
                assert_eq!(gathers.query_rows, node_sets.query_rows);
                assert_eq!(gathers.negative_rows, node_sets.negative_rows);
                let expected = parts(&block_tensors(&gathers.block, &dev));
                let uploaded = DeviceBatch::upload(&node_sets, &dev);
                let derived = parts(&uploaded.block.block(Some(&resident)));
                assert_eq!(derived, expected, "seed {seed}, batch {i}, exclude {exclude}");
                assert!(expected.2.0.len() > gathers.block.n_targets, "layer 1 holds more than the targets");
            }
        }
    }
    assert!(own_rows_seen > 10, "the batches exercised own rows ({own_rows_seen})");
}

/// The tuned step (split-K dense layers, node-set batches over resident neighbourhoods) follows
/// the step as it was before tuning (plain `Linear`, host gathers) for 100 steps on flex and a
/// batch tall enough for the split (> 1,024 rows): to 1e-4 with the paper's max-margin loss;
/// with softmax to 1e-4 for 50 steps and 1 % after (see below). Both runs must start from the same
/// weights, drawn from flex's one seeded stream, which the suite's other tests reseed and draw
/// from: the comparison runs alone in its own process.
#[test]
fn the_tuned_training_step_follows_the_reference_loss_curve_for_100_steps() {
    crate::common::run_alone("training::tuned_and_reference_loss_curves_alone_in_its_process");
}

#[test]
#[ignore = "run alone in its own process by the_tuned_training_step_follows_the_reference_loss_curve_for_100_steps"]
fn tuned_and_reference_loss_curves_alone_in_its_process() {
    use pinsage_explorer::bench::{StepBenchOptions, bench_train_step};
    use pinsage_explorer::model::dense::MIN_SPLIT_ROWS;
    use pinsage_explorer::model::losses::LossKind;
    let g = generate(&SyntheticConfig { pins: 3000, boards: 600, ..SyntheticConfig::default() });
    let dev = burn::prelude::Device::flex();
    for loss in [LossKind::MaxMargin, LossKind::Softmax] {
        let cfg = TrainConfig {
            batch_size: 256,
            negatives: 256,
            loss,
            temperature: Some(0.2),
            input_dim: 16,
            hidden_dim: 16,
            sparse_ids: Some(false),
            ..TrainConfig::paper()
        };
        let run = |reference| {
            let opts = StepBenchOptions { reference, ..StepBenchOptions::default() };
            bench_train_step(&g, &cfg, &dev, "flex", 100, &opts).unwrap()
        };
        let (tuned, reference) = (run(false), run(true));
        assert!(tuned.node_sets && !reference.node_sets && reference.reference);
        assert!(tuned.layer1_nodes > MIN_SPLIT_ROWS, "layer 1 has {} rows: too few to split", tuned.layer1_nodes);
        assert_eq!(tuned.losses.len(), 100);
        let diffs: Vec<f32> = (tuned.losses.iter().zip(&reference.losses)).map(|(a, b)| (a - b).abs()).collect();
        let max_diff = |steps: usize| diffs[..steps].iter().copied().fold(0f32, f32::max);
        match loss {
            LossKind::MaxMargin => assert!(max_diff(100) <= 1e-4, "max-margin: max |Δloss| {}", max_diff(100)),
            _ => {
                // Softmax on one batch under Adam amplifies last-bit differences once the loss
                // falls steeply (the two curves part by ~6e-3 near step 70 and meet again):
                // 1e-4 holds for the first 50 steps, 1 % of the loss for all 100.
                assert!(max_diff(50) <= 1e-4, "softmax: max |Δloss| over 50 steps {}", max_diff(50));
                let rel = (diffs.iter().zip(&reference.losses)).map(|(d, l)| d / l).fold(0f32, f32::max);
                assert!(rel <= 1e-2, "softmax: max relative |Δloss| {rel}");
            }
        }
        // The curve moved: the comparison is not between two flat lines.
        let (first, last) = (reference.losses[0], reference.losses[99]);
        assert!(last < 0.8 * first, "{loss:?}: loss {first} → {last}");
    }
}

/// A pack returns every part it was given, ids and shaped values, whatever their lengths (none a
/// multiple of the alignment, one empty), and each part comes back whole and alone.
#[test]
fn packed_parts_come_back_as_they_went_in() {
    use pinsage_explorer::model::pack::{PART_ALIGN, Pack};
    let dev = burn::prelude::Device::flex();
    let mut pack = Pack::default();
    let ints: Vec<Vec<u32>> = [1, PART_ALIGN - 1, 0, PART_ALIGN + 3, 2 * PART_ALIGN]
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n as u32).map(|v| v * 7 + i as u32 + 1).collect())
        .collect();
    let floats: Vec<f32> = (0..15).map(|v| v as f32 * 0.5 - 3.0).collect();
    let int_parts: Vec<_> = ints.iter().map(|v| pack.int(v)).collect();
    let float_part = pack.float(&floats);
    let empty_floats = pack.float(&[]);
    let packed = pack.upload(&dev);
    for (v, part) in ints.iter().zip(int_parts) {
        let back = packed.int(part).try_into_vec_as::<i64>().unwrap();
        assert_eq!(back, v.iter().map(|&x| x as i64).collect::<Vec<_>>());
    }
    let shaped = packed.float(float_part, [5, 3]);
    assert_eq!(shaped.dims(), [5, 3]);
    assert_eq!(shaped.try_into_vec_as::<f32>().unwrap(), floats);
    assert_eq!(packed.float(empty_floats, [0, 4]).dims(), [0, 4]);
}

/// The row-sparse id update (`train::sparse_ids`) moves exactly the rows a batch read, each by
/// Adam's first step (lr·g/(|g| + ε): lr for every coordinate with a gradient well above ε), and
/// leaves the others bit for bit; a second batch of other rows leaves the first batch's rows
/// where they were (dense Adam would keep moving them by their momentum).
#[test]
fn the_sparse_id_update_moves_only_the_rows_a_batch_read_by_adams_step() {
    use burn::prelude::{Device, Int, Tensor, TensorData};
    use pinsage_explorer::model::PinSageConfig;
    use pinsage_explorer::train::sparse_ids::{SparseAdamConfig, SparseIds};

    let device = Device::flex();
    let train_device = device.clone().autodiff();
    let model = PinSageConfig::new(6, 4, 0).with_input_dim(8).with_hidden_dim(8).init(&train_device);
    let cfg = SparseAdamConfig { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-8, weight_decay: 0.0 };
    let mut sparse = SparseIds::new(cfg, [10, 8], &device);
    let table = |m: &pinsage_explorer::model::PinSage| m.id_table().unwrap().try_into_vec_as::<f32>().unwrap();
    let lr = 0.01;
    // A step whose loss reads `nodes`' rows: Σ (row · w) for a fixed w, so ∂/∂row = w.
    let w: Vec<f32> = (0..8).map(|c| c as f32 - 3.5).collect();
    let mut step = |model, nodes: &[u32]| {
        let nodes_t = Tensor::<1, Int>::from_data(TensorData::new(nodes.to_vec(), [nodes.len()]), &train_device);
        let rows = sparse.rows(&model, &nodes_t).unwrap();
        let weights = Tensor::<2>::from_data(TensorData::new(w.clone(), [8, 1]), &train_device);
        let mut grads = rows.matmul(weights).sum().backward();
        sparse.update(model, &mut grads, lr)
    };
    let before = table(&model);
    let model = step(model, &[1, 7]);
    let after = table(&model);
    for node in 0..10 {
        for (c, wc) in w.iter().enumerate() {
            let i = node * 8 + c;
            let moved = after[i] - before[i];
            if node == 1 || node == 7 {
                let expected = -lr as f32 * wc.signum();
                assert!((moved - expected).abs() < 1e-5, "row {node}, column {c}: moved {moved}, expected {expected}");
            } else {
                assert_eq!(after[i], before[i], "row {node} was not read and must not move");
            }
        }
    }
    let model = step(model, &[2]);
    let last = table(&model);
    for node in [1, 7] {
        assert_eq!(
            &last[node * 8..node * 8 + 8],
            &after[node * 8..node * 8 + 8],
            "row {node} is not in the second batch"
        );
    }
    // Row 2's first step comes at t = 2: m = (1 − β₁)g, v = (1 − β₂)g², and the bias corrections
    // of step 2, so it moves by lr · (1 − β₁)/√(1 − β₂) · √(1 − β₂²)/(1 − β₁²) against g's sign
    // (0.744 lr: PyTorch's SparseAdam counts steps the same way).
    let (b1, b2) = (0.9f64, 0.999f64);
    let factor = ((1.0 - b1) / (1.0 - b2).sqrt() * (1.0 - b2 * b2).sqrt() / (1.0 - b1 * b1)) as f32;
    for c in 0..8 {
        let (moved, expected) = (last[16 + c] - after[16 + c], -lr as f32 * factor * w[c].signum());
        assert!((moved - expected).abs() < 1e-5, "row 2, column {c}: moved {moved}, expected {expected}");
    }
}

/// A PinSage run with the row-sparse id update, stopped after one epoch and resumed, lands where
/// an unbroken run does, because the id table's moments come back from `id_moments.bpk`; without
/// that file the second epoch starts them afresh and lands elsewhere. Model initialisation draws
/// from flex's one seeded stream, which the suite's other tests reseed: it runs alone.
#[test]
fn resuming_pinsage_restores_the_sparse_id_tables_moments() {
    crate::common::run_alone("training::resuming_pinsage_with_sparse_ids_alone_in_its_process");
}

#[test]
#[ignore = "run alone in its own process by resuming_pinsage_restores_the_sparse_id_tables_moments"]
fn resuming_pinsage_with_sparse_ids_alone_in_its_process() {
    let g = Arc::new(generate(&SyntheticConfig::default()));
    let cfg = TrainConfig {
        eval_each_epoch: false,
        sampler_threads: 1,
        hard_negatives: false,
        sparse_ids: Some(true),
        ..cpu_config(2)
    };
    let straight = train::spawn(g.clone(), cfg.clone(), RunOptions::default()).join().unwrap().embeddings.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = || RunOptions { out: Some(dir.path().to_path_buf()), ..RunOptions::default() };
    let first_epoch = || train::spawn(g.clone(), TrainConfig { epochs: 1, ..cfg.clone() }, opts()).join().unwrap();
    first_epoch();
    assert!(dir.path().join("id_moments.bpk").is_file(), "the checkpoint saves the id table's moments");
    let resumed = || train::spawn(g.clone(), cfg.clone(), RunOptions { resume: true, ..opts() }).join().unwrap();
    let split = resumed().embeddings.unwrap();
    let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(diff(&straight.data, &split.data) < 1e-5, "resumed run drifted by {}", diff(&straight.data, &split.data));
    first_epoch();
    std::fs::remove_file(dir.path().join("id_moments.bpk")).unwrap();
    let fresh = resumed().embeddings.unwrap();
    assert!(diff(&straight.data, &fresh.data) > 1e-4, "fresh id moments should change the second epoch");
}

/// The hard-negative pools on a small graph (no bound binds) draw only from the band of the
/// two-pin-step walk scores computed here densely from the adjacency: ranks [lo, hi) of each
/// node's candidates, the band shrunk in proportion when a node reaches fewer than `hi` pins.
#[test]
fn hard_pools_draw_from_the_band_of_hand_computed_walk_scores() {
    use pinsage_explorer::sampler::{SpreadLimits, hard_pools, hard_scores};
    let g = generate(&SyntheticConfig { pins: 300, boards: 90, seed: 4, ..SyntheticConfig::default() });
    let (np, nb) = (g.n_pins() as usize, g.n_boards() as usize);
    // One pin-step from a distribution over pins: to each board by 1/deg(pin), then each board's
    // mass evenly over its pins.
    let step = |m: &[f64]| {
        let mut board = vec![0.0; nb];
        for (p, &mass) in m.iter().enumerate() {
            let bs = g.boards_of(p as u32);
            for &b in bs {
                board[b as usize] += mass / bs.len() as f64;
            }
        }
        let mut out = vec![0.0; np];
        for (b, &mass) in board.iter().enumerate() {
            let ps = g.pins_of(b as u32);
            for &p in ps {
                out[p as usize] += mass / ps.len() as f64;
            }
        }
        out
    };
    let band = (10, 40);
    let pools = hard_pools(&g, band, 12, 7);
    let mut checked = 0;
    for node in (0..(np + nb) as u32).step_by(7) {
        let (scores, excluded): (Vec<f64>, Vec<u32>) = if (node as usize) < np {
            let mut start = vec![0.0; np];
            start[node as usize] = 1.0;
            let one = step(&start);
            let two = step(&one);
            ((0..np).map(|p| one[p] + two[p]).collect(), vec![node])
        } else {
            let own = g.pins_of(node - np as u32);
            let mut start = vec![0.0; np];
            own.iter().for_each(|&p| start[p as usize] = 1.0 / own.len() as f64);
            (step(&start), own.to_vec())
        };
        let mut ranked: Vec<(f64, u32)> = (0..np as u32)
            .filter(|p| scores[*p as usize] > 0.0 && !excluded.contains(p))
            .map(|p| (scores[p as usize], p))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let n = ranked.len();
        let from_tool = hard_scores(&g, node, SpreadLimits::EXACT);
        assert_eq!(from_tool.len(), n, "node {node} reaches the same pins");
        for (&(p, s), &(want, q)) in from_tool.iter().zip(&ranked) {
            assert!((s as f64 - want).abs() < 1e-5, "node {node}: score {s} at pin {p}, expected {want} (pin {q})");
        }
        if n == 0 {
            continue;
        }
        let (lo, hi) = if n > band.1 { band } else { ((band.0 * n) / band.1, n) };
        let (top, bottom) = (ranked[lo.min(n - 1)].0 + 1e-6, ranked[hi - 1].0 - 1e-6);
        for &p in pools.of(node) {
            let s = scores[p as usize];
            assert!(!excluded.contains(&p) && s > 0.0, "node {node}: pool pin {p} is not a candidate");
            assert!(
                s <= top && s >= bottom,
                "node {node}: pool pin {p} scores {s}, outside the band [{bottom}, {top}]"
            );
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked} draws checked");
}

/// Past the paper's scale the band stops growing, and a node's spread is bounded: on a power-law
/// graph whose hubs exceed a small fanout and read budget, the bounded spread reaches fewer pins
/// than the exact one, yet most pool draws still rank near the exact band.
#[test]
fn bounded_hard_pools_reach_fewer_pins_and_stay_near_the_exact_band() {
    use pinsage_explorer::powerlaw::{PowerLawConfig, generate as powerlaw};
    use pinsage_explorer::sampler::{PAPER_BAND_PINS, SpreadLimits, default_band, hard_pools_within, hard_scores};
    assert_eq!(default_band(40_981), (2049, 4918), "Gowalla's band is the paper's ranks scaled");
    assert_eq!(default_band(PAPER_BAND_PINS), default_band(5_000_000), "the band stops growing");
    assert_eq!(default_band(5_000_000), (2050, 4920));
    let g = powerlaw(&PowerLawConfig::with_edges(60_000)).expect("valid config");
    let band = default_band(g.n_pins());
    let limits = SpreadLimits { fanout: 64, reads: 8 * band.1 };
    let pools = hard_pools_within(&g, band, 8, 3, limits);
    let n_nodes = g.n_pins() + g.n_boards();
    let (mut near, mut total, mut fewer) = (0, 0, 0);
    for node in (0..n_nodes).step_by(53) {
        let exact = hard_scores(&g, node, SpreadLimits::EXACT);
        let bounded = hard_scores(&g, node, limits);
        fewer += usize::from(bounded.len() < exact.len());
        assert!(bounded.len() <= exact.len(), "node {node}: a bound cannot reach more pins");
        let n = exact.len();
        if n == 0 {
            continue;
        }
        let (lo, hi) = if n > band.1 { band } else { ((band.0 * n) / band.1, n) };
        for &p in pools.of(node).iter().filter(|&&p| p != u32::MAX) {
            let rank = exact.iter().position(|&(q, _)| q == p).expect("a bounded candidate is an exact one");
            total += 1;
            near += usize::from(rank * 2 >= lo && rank < 2 * hi);
        }
    }
    assert!(fewer * 3 > (n_nodes as usize / 53), "the bounds bind for a third of the nodes ({fewer})");
    let share = near as f64 / total as f64;
    assert!(total > 300 && share > 0.8, "{near} of {total} draws rank within ×2 of the exact band");
}
