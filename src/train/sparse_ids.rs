//! Row-sparse Adam for PinSage's id-embedding table (PyTorch's `SparseAdam`, TensorFlow's
//! `LazyAdam`): a step reads and writes only the rows of the batch's input nodes, so its cost
//! follows the batch, not the graph.
//!
//! Why: with the table as an ordinary parameter, every step builds a dense `[n_nodes, d]`
//! gradient and Adam rewrites every row and both moments, an O(nodes) term on top of the batch's
//! work; at 1 M nodes on the CPU it made a step 25× slower than at 100 k (BENCHMARKS.md, issue 12).
//! The difference from dense Adam: a row's moments only decay, and the row only moves, on steps
//! whose batch reads it (dense Adam keeps moving it by its momentum).

use std::path::Path;

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use super::TrainError;
use crate::model::{Block, PinSage};

/// Adam's settings as `TrainConfig::optimizer` gives them to the dense parameters.
#[derive(Clone, Copy, Debug)]
pub struct SparseAdamConfig {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    /// Decoupled weight decay (AdamW), applied to the rows a step touches.
    pub weight_decay: f32,
}

/// The id table's moments and the step count; saved beside the checkpoint as `id_moments.bpk`.
#[derive(Module, Debug)]
pub struct IdMoments {
    m: Param<Tensor<2>>,
    v: Param<Tensor<2>>,
    /// Steps taken, as a one-element tensor (so the record holds it).
    steps: Param<Tensor<1>>,
}

/// Row-sparse Adam over one `[n_nodes, d]` table (on the training device's inner backend).
#[derive(Debug)]
pub struct SparseIds {
    cfg: SparseAdamConfig,
    /// The first and second moments. Held alone (never cloned past a step), so that the
    /// scatters below update them in place rather than copying O(nodes) values a step.
    m: Option<Tensor<2>>,
    v: Option<Tensor<2>>,
    steps: usize,
    /// The current batch's rows (an autodiff leaf) and their node ids, between the forward
    /// pass and the update.
    pending: Option<(Tensor<2>, Tensor<1, Int>)>,
}

/// File name of the moments in a run folder.
pub const MOMENTS_FILE: &str = "id_moments.bpk";

impl SparseIds {
    /// Zero moments for `table`'s shape, on `device` (the inner, non-autodiff device).
    pub fn new(cfg: SparseAdamConfig, shape: [usize; 2], device: &Device) -> SparseIds {
        SparseIds {
            cfg,
            m: Some(Tensor::zeros(shape, device)),
            v: Some(Tensor::zeros(shape, device)),
            steps: 0,
            pending: None,
        }
    }

    /// The moments saved in `dir` (by [`SparseIds::save`]), or zero moments when there are none.
    pub fn resume(
        cfg: SparseAdamConfig,
        shape: [usize; 2],
        device: &Device,
        dir: Option<&Path>,
    ) -> Result<SparseIds, TrainError> {
        let mut s = SparseIds::new(cfg, shape, device);
        let Some(path) = dir.map(|d| d.join(MOMENTS_FILE)).filter(|p| p.is_file()) else { return Ok(s) };
        let record = IdMoments {
            m: Param::from_tensor(Tensor::zeros(shape, device)),
            v: Param::from_tensor(Tensor::zeros(shape, device)),
            steps: Param::from_tensor(Tensor::zeros([1], device)),
        };
        let loaded = crate::run_folder::load_weights(record, &path, &format!("an id table of {shape:?}"))?;
        let steps = loaded.steps.val().into_scalar::<f32>();
        s.m = Some(loaded.m.val());
        s.v = Some(loaded.v.val());
        s.steps = steps.max(0.0) as usize;
        Ok(s)
    }

    /// Writes the moments to `dir/id_moments.bpk` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        let (Some(m), Some(v)) = (&self.m, &self.v) else { return Ok(()) };
        let device = m.device();
        let record = IdMoments {
            m: Param::from_tensor(m.clone()),
            v: Param::from_tensor(v.clone()),
            steps: Param::from_tensor(Tensor::from_floats([self.steps as f32], &device)),
        };
        super::checkpoint::replace_atomically(&dir.join(MOMENTS_FILE), |tmp| record.clone().save_file(tmp))
    }

    /// h⁰'s id rows for `nodes` as a leaf of their own, remembered for [`SparseIds::update`].
    ///
    /// # Shapes
    /// `nodes: [n]` (distinct) → `[n, d]`
    pub fn rows(&mut self, model: &PinSage, nodes: &Tensor<1, Int>) -> Option<Tensor<2>> {
        let table = model.id_table()?.inner();
        let leaf = Tensor::from_inner(table.select(0, nodes.clone().inner())).require_grad();
        self.pending = Some((leaf.clone(), nodes.clone()));
        Some(leaf)
    }

    /// The block's target embeddings under `model`, its id rows entering as a leaf of their own
    /// (see [`SparseIds::rows`]).
    ///
    /// # Shapes
    /// → `[n2, hidden_dim]`, unit rows
    pub fn forward(&mut self, model: &PinSage, block: &Block) -> Tensor<2> {
        let ids = self.rows(model, &block.input_nodes);
        model.forward_from(block, model.input_from(ids, block.input_features.clone()))
    }

    /// Row-sparse Adam for `model`'s id table when `cfg` asks for it on a graph of this size
    /// (`TrainConfig::uses_sparse_ids`), on `device` (inner), with the moments saved in
    /// `resume_dir` (zero without).
    pub fn for_model(
        cfg: &super::TrainConfig,
        model: &PinSage,
        device: &Device,
        resume_dir: Option<&Path>,
    ) -> Result<Option<SparseIds>, TrainError> {
        let Some(table) = model.id_table() else { return Ok(None) };
        let [rows, cols] = table.dims();
        if !cfg.uses_sparse_ids(rows) {
            return Ok(None);
        }
        SparseIds::resume(cfg.sparse_adam(), [rows, cols], device, resume_dir).map(Some)
    }

    /// One Adam step on the rows [`SparseIds::rows`] handed out, from their gradient in `grads`
    /// (removed from it); the model's other parameters are left to the dense optimizer.
    pub fn update(&mut self, model: PinSage, grads: &mut burn::tensor::Gradients, learning_rate: f64) -> PinSage {
        let Some((leaf, nodes)) = self.pending.take() else { return model };
        let Some(grad) = leaf.grad_remove(grads) else { return model };
        let (Some(m_table), Some(v_table)) = (self.m.take(), self.v.take()) else { return model };
        let nodes = nodes.inner();
        let [n, d] = grad.dims();
        let SparseAdamConfig { beta_1, beta_2, epsilon, weight_decay } = self.cfg;
        self.steps += 1;
        let t = self.steps as i32;
        let lr = learning_rate as f32;
        let old_m = m_table.clone().select(0, nodes.clone());
        let old_v = v_table.clone().select(0, nodes.clone());
        let rows = leaf.inner();
        let m = old_m.clone() * beta_1 + grad.clone() * (1.0 - beta_1);
        let v = old_v.clone() * beta_2 + grad.square() * (1.0 - beta_2);
        // Burn's Adam, row by row: m·√(1−β₂ᵗ)/(1−β₁ᵗ) / (√v + ε·√(1−β₂ᵗ)).
        let bias2_sqrt = (1.0 - beta_2.powi(t)).sqrt();
        let step = m.clone() * (bias2_sqrt / (1.0 - beta_1.powi(t))) / (v.clone().sqrt() + epsilon * bias2_sqrt);
        let decayed = if weight_decay > 0.0 { rows.clone() * (1.0 - lr * weight_decay) } else { rows.clone() };
        let row_change = decayed - step * lr - rows;
        // The nodes are distinct, so adding each row's change assigns it.
        let index = nodes.reshape([n, 1]).expand([n, d]);
        let add = |x: Tensor<2>, delta: Tensor<2>| x.scatter(0, index.clone(), delta, IndexingUpdateOp::Add);
        self.m = Some(add(m_table, m - old_m));
        self.v = Some(add(v_table, v - old_v));
        model.map_id_table(|table| Tensor::from_inner(add(table.inner(), row_change)).require_grad())
    }
}
