//! The training losses and the upload of host batches: max-margin, BPR and sampled softmax over
//! shared random negatives plus per-query hard negatives.

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, relu};
use serde::{Deserialize, Serialize};

use super::resident::{DeviceNodeSets, ResidentNeighbourhoods};
use super::{Block, LayerIndex, gather_rows};
use crate::sampler::{BlockPlan, HostBlock, HostLayer, HostNodeSets, TrainBatch};

/// The training loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// max(0, z_q·z_n − z_q·z_p + Δ), the paper's.
    #[default]
    MaxMargin,
    /// −log σ(z_q·z_p − z_q·z_n).
    Bpr,
    /// Sampled softmax: −log of the positive's share of exp(score/τ) over the positive and all
    /// the batch's negatives (the shared random ones and the query's hard ones).
    Softmax,
}

crate::named_enum!(LossKind, "loss" { MaxMargin => "max-margin", Bpr => "bpr", Softmax => "softmax" });

/// Uploads ids as a 1-D int tensor.
pub fn int_tensor(v: &[u32], device: &Device) -> Tensor<1, Int> {
    owned_int_tensor(v.to_vec(), device)
}

/// Uploads ids as a 1-D int tensor, without copying them first.
pub fn owned_int_tensor(v: Vec<u32>, device: &Device) -> Tensor<1, Int> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

/// A batch's gather plan on its device: the gathers themselves, or the node sets from which a
/// [`ResidentNeighbourhoods`] derives them.
#[derive(Clone, Debug)]
pub enum DeviceBlock {
    Gathers(Box<Block>),
    NodeSets(Box<DeviceNodeSets>),
}

impl DeviceBlock {
    /// The block to run the model on (derived through `resident` for node sets).
    ///
    /// # Panics
    /// For node sets without a resident table: the trainer pairs the two.
    pub fn block(&self, resident: Option<&ResidentNeighbourhoods>) -> Block {
        match (self, resident) {
            (DeviceBlock::Gathers(b), _) => (**b).clone(),
            (DeviceBlock::NodeSets(sets), Some(r)) => r.block(sets),
            (DeviceBlock::NodeSets(_), None) => panic!("a node-set batch needs the resident neighbourhoods"),
        }
    }
}

/// A training batch already on its device: what the sampler threads hand the training loop, so
/// the uploads happen on the samplers, not between steps.
#[derive(Clone, Debug)]
pub struct DeviceBatch {
    pub block: DeviceBlock,
    pub rows: LossRows,
    /// Training examples (queries) in the batch.
    pub queries: usize,
}

/// A host gather plan that goes to a device as a [`DeviceBlock`]: its gathers, or its node sets.
pub trait UploadPlan: BlockPlan {
    /// Uploads the plan, moving its arrays.
    fn upload(self, device: &Device) -> DeviceBlock;
}

impl UploadPlan for HostBlock {
    fn upload(self, device: &Device) -> DeviceBlock {
        DeviceBlock::Gathers(Box::new(upload_block(self, device)))
    }
}

impl UploadPlan for HostNodeSets {
    fn upload(self, device: &Device) -> DeviceBlock {
        DeviceBlock::NodeSets(Box::new(DeviceNodeSets::upload(self, device)))
    }
}

impl DeviceBatch {
    /// Uploads `batch` to `device`, moving its arrays rather than copying them (node sets only
    /// for a device holding [`ResidentNeighbourhoods`]).
    pub fn upload<B: UploadPlan>(batch: TrainBatch<B>, device: &Device) -> DeviceBatch {
        let queries = batch.query_rows.len();
        let TrainBatch { block, query_rows, positive_rows, negative_rows, hard_rows, hard_per_query } = batch;
        DeviceBatch {
            block: block.upload(device),
            rows: LossRows::upload([query_rows, positive_rows, negative_rows, hard_rows], hard_per_query, device),
            queries,
        }
    }
}

/// Uploads a host block, moving its arrays.
pub fn upload_block(b: HostBlock, device: &Device) -> Block {
    let layer = |l: HostLayer| {
        let t = l.self_idx.len();
        LayerIndex {
            self_idx: owned_int_tensor(l.self_idx, device),
            nbr_idx: owned_int_tensor(l.nbr_idx, device),
            weights: Tensor::from_data(TensorData::new(l.weights, [t, l.k]), device),
        }
    };
    let n0 = b.input_nodes.len();
    let feature_dim = b.feature_dim;
    let [l0, l1] = b.layers;
    Block {
        input_nodes: owned_int_tensor(b.input_nodes, device),
        input_features: b.input_features.map(|f| Tensor::from_data(TensorData::new(f, [n0, feature_dim]), device)),
        layers: [layer(l0), layer(l1)],
    }
}

/// Uploads a host block (a copy of it; see [`upload_block`]).
pub fn block_tensors(b: &HostBlock, device: &Device) -> Block {
    upload_block(b.clone(), device)
}

/// A batch's roles as rows of the target embeddings, on the device.
///
/// # Shapes
/// `queries`, `positives`: `[b]`; `negatives`: `[r]`; `hard`: `[b * hard_per_query]`
#[derive(Clone, Debug)]
pub struct LossRows {
    pub queries: Tensor<1, Int>,
    pub positives: Tensor<1, Int>,
    pub negatives: Tensor<1, Int>,
    pub hard: Tensor<1, Int>,
    pub hard_per_query: usize,
}

impl LossRows {
    /// Uploads a batch's rows (copies of them; see [`LossRows::upload`]).
    pub fn new(batch: &TrainBatch, device: &Device) -> LossRows {
        let rows = [&batch.query_rows, &batch.positive_rows, &batch.negative_rows, &batch.hard_rows];
        LossRows::upload(rows.map(Clone::clone), batch.hard_per_query, device)
    }

    /// Uploads the query, positive, negative and hard-negative rows, moving them.
    pub fn upload(
        [queries, positives, negatives, hard]: [Vec<u32>; 4],
        hard_per_query: usize,
        device: &Device,
    ) -> Self {
        LossRows {
            queries: owned_int_tensor(queries, device),
            positives: owned_int_tensor(positives, device),
            negatives: owned_int_tensor(negatives, device),
            hard: owned_int_tensor(hard, device),
            hard_per_query,
        }
    }
}

/// Max-margin (or BPR) loss over shared random negatives plus per-query hard negatives.
///
/// # Shapes
/// `z: [targets, d]` → `[1]`
pub fn rows_loss(z: Tensor<2>, rows: &LossRows, kind: LossKind, margin: f32, temperature: f32) -> Tensor<1> {
    let q = gather_rows(z.clone(), rows.queries.clone());
    let p = gather_rows(z.clone(), rows.positives.clone());
    let n = gather_rows(z.clone(), rows.negatives.clone());
    let b = rows.queries.dims()[0];
    let pos = (q.clone() * p).sum_dim(1); // [b, 1]
    let neg = q.clone().matmul(n.transpose()); // [b, r]
    // [b, h]: each query against its own hard negatives.
    let hard = (rows.hard_per_query > 0).then(|| {
        let h = rows.hard_per_query;
        let hard = gather_rows(z, rows.hard.clone());
        let d = hard.dims()[1];
        (q.reshape([b, 1, d]) * hard.reshape([b, h, d])).sum_dim(2).reshape([b, h])
    });
    if kind == LossKind::Softmax {
        // logits [b, 1 + r (+ h)]: the positive in column 0.
        let logits = Tensor::cat([pos, neg].into_iter().chain(hard).collect(), 1) / temperature;
        return -burn::tensor::activation::log_softmax(logits, 1).narrow(1, 0, 1).mean();
    }
    // diff = s_neg − s_pos
    let pair_loss = |diff: Tensor<2>| match kind {
        LossKind::MaxMargin => relu(diff + margin).mean(),
        LossKind::Bpr | LossKind::Softmax => (-log_sigmoid(-diff / temperature)).mean(), // softmax returned above
    };
    let loss = pair_loss(neg - pos.clone());
    match hard {
        Some(s_hard) => loss + pair_loss(s_hard - pos),
        None => loss,
    }
}
