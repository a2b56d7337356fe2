//! The training losses and the upload of host batches: max-margin, BPR and sampled softmax over
//! shared random negatives plus per-query hard negatives.

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, relu};
use serde::{Deserialize, Serialize};

use super::pack::{Pack, Packed, Part};
use super::resident::{DeviceNodeSets, NodeSetParts, ResidentNeighbourhoods};
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
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
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
/// Its arrays travel in a [`Pack`] with the batch's loss rows: one upload a batch.
pub trait UploadPlan: BlockPlan {
    /// Where the plan's arrays lie in the pack.
    type Parts: Send;
    /// Adds the plan's arrays to `pack`.
    fn pack(&self, pack: &mut Pack) -> Self::Parts;
    /// The plan on the device, sliced from the uploaded pack.
    fn unpack(parts: Self::Parts, packed: &Packed) -> DeviceBlock;
}

/// Where a [`HostLayer`]'s arrays lie in a pack.
#[derive(Clone, Copy, Debug)]
pub struct LayerParts {
    self_idx: Part,
    nbr_idx: Part,
    weights: Part,
    t: usize,
    k: usize,
}

/// Where a [`HostBlock`]'s arrays lie in a pack.
#[derive(Clone, Copy, Debug)]
pub struct BlockParts {
    input_nodes: Part,
    /// The features and `[n0, feature_dim]`.
    features: Option<(Part, [usize; 2])>,
    layers: [LayerParts; 2],
}

impl UploadPlan for HostBlock {
    type Parts = BlockParts;

    fn pack(&self, pack: &mut Pack) -> BlockParts {
        let layer = |l: &HostLayer, pack: &mut Pack| LayerParts {
            self_idx: pack.int(&l.self_idx),
            nbr_idx: pack.int(&l.nbr_idx),
            weights: pack.float(&l.weights),
            t: l.self_idx.len(),
            k: l.k,
        };
        BlockParts {
            input_nodes: pack.int(&self.input_nodes),
            features: (self.input_features.as_ref())
                .map(|f| (pack.float(f), [self.input_nodes.len(), self.feature_dim])),
            layers: [layer(&self.layers[0], pack), layer(&self.layers[1], pack)],
        }
    }

    fn unpack(parts: BlockParts, packed: &Packed) -> DeviceBlock {
        let layer = |l: LayerParts| LayerIndex {
            self_idx: packed.int(l.self_idx),
            nbr_idx: packed.int(l.nbr_idx),
            weights: packed.float(l.weights, [l.t, l.k]),
        };
        DeviceBlock::Gathers(Box::new(Block {
            input_nodes: packed.int(parts.input_nodes),
            input_features: parts.features.map(|(f, shape)| packed.float(f, shape)),
            layers: parts.layers.map(layer),
        }))
    }
}

impl UploadPlan for HostNodeSets {
    type Parts = NodeSetParts;

    fn pack(&self, pack: &mut Pack) -> NodeSetParts {
        NodeSetParts::pack(self, pack)
    }

    fn unpack(parts: NodeSetParts, packed: &Packed) -> DeviceBlock {
        DeviceBlock::NodeSets(Box::new(parts.unpack(packed)))
    }
}

impl DeviceBatch {
    /// Uploads `batch` to `device` in one [`Pack`] (node sets only for a device holding
    /// [`ResidentNeighbourhoods`]).
    pub fn upload<B: UploadPlan>(batch: &TrainBatch<B>, device: &Device) -> DeviceBatch {
        let mut pack = Pack::default();
        let block = batch.block.pack(&mut pack);
        let rows = LossRows::pack(batch, &mut pack);
        let packed = pack.upload(device);
        DeviceBatch { block: B::unpack(block, &packed), rows: rows.unpack(&packed), queries: batch.query_rows.len() }
    }
}

/// Uploads a host block.
pub fn block_tensors(b: &HostBlock, device: &Device) -> Block {
    let mut pack = Pack::default();
    let parts = b.pack(&mut pack);
    match HostBlock::unpack(parts, &pack.upload(device)) {
        DeviceBlock::Gathers(block) => *block,
        DeviceBlock::NodeSets(_) => unreachable!("a host block unpacks to gathers"),
    }
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

/// Where a batch's loss rows lie in a pack.
#[derive(Clone, Copy, Debug)]
pub struct RowParts {
    parts: [Part; 4],
    hard_per_query: usize,
}

impl RowParts {
    fn unpack(self, packed: &Packed) -> LossRows {
        let [queries, positives, negatives, hard] = self.parts.map(|p| packed.int(p));
        LossRows { queries, positives, negatives, hard, hard_per_query: self.hard_per_query }
    }
}

impl LossRows {
    /// Uploads a batch's rows.
    pub fn new<B: BlockPlan>(batch: &TrainBatch<B>, device: &Device) -> LossRows {
        let mut pack = Pack::default();
        let parts = Self::pack(batch, &mut pack);
        parts.unpack(&pack.upload(device))
    }

    /// Adds the query, positive, negative and hard-negative rows to `pack`.
    fn pack<B: BlockPlan>(batch: &TrainBatch<B>, pack: &mut Pack) -> RowParts {
        let rows = [&batch.query_rows, &batch.positive_rows, &batch.negative_rows, &batch.hard_rows];
        RowParts { parts: rows.map(|r| pack.int(r)), hard_per_query: batch.hard_per_query }
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
