//! The wgpu backend (lavapipe on CI) computes what the CPU backend computes.

use burn::prelude::*;
use burn::tensor::Distribution;
use pinsage_explorer::infer::embed_all;
use pinsage_explorer::model::gather_rows;
use pinsage_explorer::sampler::node_neighbourhoods;
use pinsage_explorer::synthetic::{SyntheticConfig, generate};
use pinsage_explorer::train::{DeviceChoice, TrainConfig, select_device};

#[test]
fn wgpu_and_flex_give_the_same_embeddings_and_gradients() {
    let (gpu, name, note) = select_device(DeviceChoice::Gpu);
    assert!(note.is_none(), "no wgpu adapter on this machine ({name}); install mesa-vulkan-drivers");
    let cpu = burn::prelude::Device::flex();
    // gather_rows with repeated indices, forward and backward.
    let data: Vec<f32> = (0..12).map(|x| x as f32).collect();
    let idx = vec![2u32, 0, 2, 3, 2];
    let run = |dev: &Device| {
        let dev = dev.clone().autodiff();
        let x = Tensor::<2>::from_data(TensorData::new(data.clone(), [4, 3]), &dev).require_grad();
        let i = Tensor::<1, Int>::from_data(TensorData::new(idx.clone(), [5]), &dev);
        let y = gather_rows(x.clone(), i);
        let out: Vec<f32> = y.clone().inner().try_into_vec_as::<f32>().unwrap();
        let grads = (y * 1.0).sum().backward();
        let g: Vec<f32> = x.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
        (out, g)
    };
    let (out_cpu, grad_cpu) = run(&cpu);
    let (out_gpu, grad_gpu) = run(&gpu);
    assert_eq!(out_cpu, vec![6., 7., 8., 0., 1., 2., 6., 7., 8., 9., 10., 11., 6., 7., 8.]);
    assert_eq!(grad_cpu, vec![1., 1., 1., 0., 0., 0., 3., 3., 3., 1., 1., 1.], "row 2 was picked three times");
    assert_eq!(out_gpu, out_cpu);
    assert_eq!(grad_gpu, grad_cpu);

    // A whole model: same weights on both devices give the same embeddings.
    let g = generate(&SyntheticConfig::default());
    let cfg = TrainConfig::default();
    let nb = node_neighbourhoods(&g, cfg.neighbourhood, &cfg.walk);
    cpu.seed(3);
    let model = cfg.model_config(&g).init(&cpu);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.bpk");
    model.clone().save_file(&path).unwrap();
    // The GPU model pools and normalises with the fused kernels (the CPU has only the composed ops).
    let on_gpu =
        cfg.model_config(&g).with_fused_pool(true).with_fused_norm(true).init(&gpu).try_load_file(&path).unwrap();
    let a = embed_all(&model, &nb, g.features.as_ref(), &cpu, 256, |_, _| {}).unwrap();
    let b = embed_all(&on_gpu, &nb, g.features.as_ref(), &gpu, 256, |_, _| {}).unwrap();
    let max_diff = a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(max_diff < 1e-4, "{max_diff}");
}

/// 8-d embeddings, uniform in [-0.5, 0.5), for every node of `g`.
fn random_embeddings(g: &pinsage_explorer::graph::Graph, seed: u64) -> pinsage_explorer::infer::Embeddings {
    use rand::{RngExt, SeedableRng};
    let n = (g.n_pins() + g.n_boards()) as usize;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    pinsage_explorer::infer::Embeddings {
        dim: 8,
        n_pins: g.n_pins() as usize,
        data: (0..n * 8).map(|_| rng.random::<f32>() - 0.5).collect(),
    }
}

#[test]
fn device_retrieval_matches_the_cpu_ranking() {
    use pinsage_explorer::eval::{EmbeddingScorer, ranking_metrics, top_k};
    use pinsage_explorer::retrieval::{ranking_metrics_on_device, top_k_blocks_for_boards, top_k_for_boards};
    let g = generate(&SyntheticConfig::default());
    let emb = random_embeddings(&g, 5);
    let cpu = Device::flex();
    // Blocks of 7 boards exercise the blocking and the masking offsets.
    let boards: Vec<u32> = (0..g.n_boards()).collect();
    let ranked = top_k_for_boards(&emb, &g, &boards, 20, 7, &cpu).unwrap();
    let scorer = EmbeddingScorer { emb: &emb };
    for &b in &[0u32, 6, 7, 100, 239] {
        let mut scores = vec![0f32; g.n_pins() as usize];
        pinsage_explorer::eval::Scorer::board_scores(&scorer, b, &mut scores);
        for &p in g.pins_of(b) {
            scores[p as usize] = f32::NEG_INFINITY;
        }
        assert_eq!(ranked[b as usize], top_k(&scores, 20), "board {b}");
        assert!(ranked[b as usize].iter().all(|p| g.pins_of(b).binary_search(p).is_err()), "training pins masked");
    }
    let (r_dev, n_dev, m_dev) = ranking_metrics_on_device(&g, &emb, 20, &cpu).unwrap();
    let (r_cpu, n_cpu, m_cpu) = ranking_metrics(&g, &scorer, 20);
    assert_eq!(m_dev, m_cpu);
    assert!((r_dev - r_cpu).abs() < 1e-12 && (n_dev - n_cpu).abs() < 1e-12, "{r_dev} {r_cpu} {n_dev} {n_cpu}");
    // The GPU path (Burn's `topk` and a scattered mask on the device, not the CPU's selection on
    // the host) ranks the same, 7 boards and 100 pins a block.
    let (gpu, name, note) = select_device(DeviceChoice::Gpu);
    assert!(note.is_none(), "no wgpu adapter on this machine ({name}): {note:?}");
    let on_gpu = top_k_blocks_for_boards(&emb, &g, &boards, 20, (7, 100), &gpu).unwrap();
    let on_cpu = top_k_blocks_for_boards(&emb, &g, &boards, 20, (7, 100), &cpu).unwrap();
    assert_eq!(on_cpu, ranked, "column blocks merge to the one-block ranking");
    assert_eq!(on_gpu, ranked);
}

#[test]
fn device_pin_neighbours_match_the_cpu_ones() {
    use pinsage_explorer::export::nearest_pins;
    use pinsage_explorer::retrieval::{top_k_for_pins, top_k_for_pins_in_blocks};
    let g = generate(&SyntheticConfig::default());
    let emb = random_embeddings(&g, 9);
    let pins: Vec<u32> = (0..g.n_pins()).collect();
    // Blocks of 13 query pins exercise the blocking and the self-mask offsets.
    let device = top_k_for_pins(&emb, &pins, 10, 13, &Device::flex()).unwrap();
    let cpu = nearest_pins(&emb, 10);
    // Scoring 37 pins at a time (the pins in column blocks, as above ~262 k pins) and merging the
    // blocks' winners ranks exactly as scoring all pins at once does.
    let in_blocks = top_k_for_pins_in_blocks(&emb, &pins, 10, 13, 37, &Device::flex()).unwrap();
    for ranked in [device, in_blocks] {
        assert_eq!(ranked.len(), pins.len());
        for (p, (d, c)) in ranked.iter().zip(&cpu).enumerate() {
            assert!(d.iter().all(|&(q, _)| q != p as u32), "pin {p} is not its own neighbour");
            assert_eq!(d.iter().map(|x| x.0).collect::<Vec<_>>(), c.iter().map(|x| x.0).collect::<Vec<_>>(), "pin {p}");
            for ((_, a), (_, b)) in d.iter().zip(c) {
                assert!((a - b).abs() < 1e-5, "pin {p}: score {a} vs {b}");
            }
        }
    }
}

/// The fused pooling kernels (wgpu) against the same pooling composed from Burn ops: values and
/// the messages' gradient, with padding (weight 0), a row that every target picks (many atomic
/// adds on one address) and rows nobody picks (gradient exactly 0). One small case by hand.
#[test]
fn fused_pooling_kernels_match_the_composed_pooling() {
    use pinsage_explorer::model::fused_pool::{composed_weighted_gather, runs_kernels, weighted_gather};
    let (gpu, name, note) = select_device(DeviceChoice::Gpu);
    assert!(note.is_none(), "no wgpu adapter on this machine ({name}): {note:?}");
    assert!(runs_kernels(&gpu) && !runs_kernels(&Device::flex()));
    let dev = gpu.autodiff();

    // By hand: x rows [1, 2], [10, 20], [100, 200]; target 0 = 0.5·row2 + 0.25·row0 (+ padding),
    // target 1 = 1.0·row1.
    let x = Tensor::<2>::from_data(TensorData::new(vec![1f32, 2., 10., 20., 100., 200.], [3, 2]), &dev);
    let nbr = Tensor::<1, Int>::from_data(TensorData::new(vec![2u32, 0, 1, 1, 0, 0], [6]), &dev);
    let w = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, 0.25, 0.0, 1.0, 0.0, 0.0], [2, 3]), &dev);
    let x = x.require_grad();
    let out = weighted_gather(x.clone(), nbr, w);
    assert_eq!(out.clone().inner().try_into_vec_as::<f32>().unwrap(), vec![50.25, 100.5, 10., 20.]);
    // ∂Σ(out · [1, 2 | 3, 4]) / ∂x: row0 0.25·[1, 2], row1 1.0·[3, 4], row2 0.5·[1, 2].
    let upstream = Tensor::<2>::from_data(TensorData::new(vec![1f32, 2., 3., 4.], [2, 2]), &dev);
    let grads = (out * upstream).sum().backward();
    let gx = x.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
    assert_eq!(gx, vec![0.25, 0.5, 3., 4., 0.5, 1.]);

    // Random, larger: 3,000 targets × 25 neighbours over 2,000 rows of 64; row 7 in every
    // neighbourhood, rows 1,900.. never picked; the last 5 slots of each target are padding.
    let (t, k, n, d) = (3000usize, 25usize, 2000usize, 64usize);
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    let mut nbr = Vec::with_capacity(t * k);
    let mut wts = Vec::with_capacity(t * k);
    for _ in 0..t {
        for j in 0..k {
            nbr.push(if j == 0 { 7 } else { rng.random_range(0..1900u32) });
            wts.push(if j >= k - 5 { 0.0 } else { rng.random::<f32>() });
        }
    }
    dev.seed(5);
    let x0 = Tensor::<2>::random([n, d], Distribution::Normal(0.0, 1.0), &dev);
    let up = Tensor::<2>::random([t, d], Distribution::Normal(0.0, 1.0), &dev);
    let run = |f: &dyn Fn(Tensor<2>, Tensor<1, Int>, Tensor<2>) -> Tensor<2>| {
        let x = x0.clone().detach().require_grad();
        let i = Tensor::<1, Int>::from_data(TensorData::new(nbr.clone(), [t * k]), &dev);
        let w = Tensor::<2>::from_data(TensorData::new(wts.clone(), [t, k]), &dev);
        let y = f(x.clone(), i, w);
        let grads = (y.clone() * up.clone()).sum().backward();
        let g = x.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
        (y.inner().try_into_vec_as::<f32>().unwrap(), g)
    };
    let (y_fused, g_fused) = run(&|x, i, w| weighted_gather(x, i, w));
    let (y_ref, g_ref) = run(&|x, i, w| composed_weighted_gather(x, i, w));
    let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(max_diff(&y_fused, &y_ref) < 1e-5, "values differ by {}", max_diff(&y_fused, &y_ref));
    // Row 7's gradient sums ~3,000 terms in a different order: compare relative to its size.
    let scale = g_ref.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max_diff(&g_fused, &g_ref) < 1e-5 * scale, "gradients differ by {}", max_diff(&g_fused, &g_ref));
    assert!(g_fused[7 * d..8 * d].iter().any(|v| v.abs() > 1.0), "row 7 collects every target's gradient");
    assert!(g_fused[1900 * d..].iter().all(|&v| v == 0.0), "rows nobody picks get no gradient");
}

/// The L2-normalisation kernels (wgpu) against the composed Burn ops, values and gradients: random
/// rows, a row with a known answer, and an all-zero row (a ReLU can give one), whose norm is
/// clamped and whose gradient is the division's alone.
#[test]
fn fused_normalisation_kernels_match_the_composed_normalisation() {
    use pinsage_explorer::model::fused_norm::{composed_l2_normalise, fused_l2_normalise};
    let (gpu, name, note) = select_device(DeviceChoice::Gpu);
    assert!(note.is_none(), "no wgpu adapter on this machine ({name}): {note:?}");
    let dev = gpu.autodiff();
    let (n, d) = (3000, 64);
    dev.seed(11);
    let mut rows =
        Tensor::<2>::random([n, d], Distribution::Normal(0.0, 1.0), &dev).inner().try_into_vec_as::<f32>().unwrap();
    // Row 0 = [3, 4, 0, …] (norm 5); row 1 all zero.
    rows[..d].iter_mut().enumerate().for_each(|(c, v)| *v = [3.0, 4.0].get(c).copied().unwrap_or(0.0));
    rows[d..2 * d].iter_mut().for_each(|v| *v = 0.0);
    let x0 = Tensor::<2>::from_data(TensorData::new(rows, [n, d]), &dev);
    let up = Tensor::<2>::random([n, d], Distribution::Normal(0.0, 1.0), &dev);
    let run = |f: &dyn Fn(Tensor<2>) -> Tensor<2>| {
        let x = x0.clone().detach().require_grad();
        let y = f(x.clone());
        let grads = (y.clone() * up.clone()).sum().backward();
        let g = x.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap();
        (y.inner().try_into_vec_as::<f32>().unwrap(), g)
    };
    let (y_fused, g_fused) = run(&fused_l2_normalise);
    let (y_ref, g_ref) = run(&composed_l2_normalise);
    assert_eq!(&y_fused[..3], &[0.6, 0.8, 0.0]);
    assert!(y_fused[d..2 * d].iter().all(|&v| v == 0.0), "a zero row stays zero");
    let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(max_diff(&y_fused, &y_ref) < 1e-6, "values differ by {}", max_diff(&y_fused, &y_ref));
    // Row 0 by hand: ∂x = (g − y (g·y)) / 5.
    let g: Vec<f32> = up.clone().inner().try_into_vec_as::<f32>().unwrap()[..d].to_vec();
    let along = 0.6 * g[0] + 0.8 * g[1];
    assert!((g_fused[0] - (g[0] - 0.6 * along) / 5.0).abs() < 1e-5 && (g_fused[2] - g[2] / 5.0).abs() < 1e-5);
    // The zero row's gradient is ∂y / ε (huge), as the composed division gives; compare relatively.
    let rel = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + y.abs()));
    assert!(rel(&g_fused[d..2 * d], &g_ref[d..2 * d]), "zero row");
    assert!(rel(&g_fused, &g_ref), "gradients differ by {}", max_diff(&g_fused, &g_ref));
}

/// A model whose id table would be one GPU tensor over 2 GiB (wgpu's binding limit) is refused on a
/// wgpu device with the widths that fit, before anything is allocated; the CPU takes it.
#[test]
fn an_id_table_over_a_gpu_binding_is_refused_with_the_widths_that_fit() {
    use pinsage_explorer::train::{Mode, check_table_fits_device};
    let (gpu, name, note) = select_device(DeviceChoice::Gpu);
    assert!(note.is_none(), "no wgpu adapter on this machine ({name}): {note:?}");
    let g = generate(&SyntheticConfig::default());
    let nodes = u64::from(g.n_pins() + g.n_boards());
    // The widest table under 2 GiB − 4 bytes, and one column more.
    let fits = ((1u64 << 31) - 4) / (nodes * 4);
    let cfg = |input_dim: u64| TrainConfig { input_dim: input_dim as usize, ..TrainConfig::default() };
    assert!(check_table_fits_device(&cfg(fits), &g, &gpu).is_ok());
    let err = check_table_fits_device(&cfg(fits + 1), &g, &gpu).unwrap_err().to_string();
    assert!(err.contains(&format!("input_dim ≤ {fits}")) && err.contains("2 GiB"), "{err}");
    assert!(check_table_fits_device(&cfg(fits + 1), &g, &Device::flex()).is_ok(), "the CPU has no such limit");
    // Without id embeddings there is no table; LightGCN's is checked by its width.
    let no_ids = TrainConfig { id_embedding: false, ..cfg(fits + 1) };
    assert!(check_table_fits_device(&no_ids, &g, &gpu).is_ok());
    let lightgcn = TrainConfig { mode: Mode::Lightgcn, hidden_dim: (fits + 1) as usize, ..TrainConfig::default() };
    assert!(check_table_fits_device(&lightgcn, &g, &gpu).unwrap_err().to_string().contains("hidden_dim"));
}

/// The row-sparse id update is automatic from 1 M nodes, and a config's explicit choice wins.
#[test]
fn sparse_id_updates_start_at_a_million_nodes_unless_the_config_says() {
    let auto = TrainConfig::default();
    assert!(!auto.uses_sparse_ids(999_999) && auto.uses_sparse_ids(1_000_000));
    assert!(TrainConfig { sparse_ids: Some(true), ..auto.clone() }.uses_sparse_ids(10));
    assert!(!TrainConfig { sparse_ids: Some(false), ..auto }.uses_sparse_ids(5_000_000));
}
