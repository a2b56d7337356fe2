//! Every node's neighbourhood held on the training device, so that a batch uploads only its node
//! sets (`sampler::HostNodeSets`) and the gathers between them are derived there.
//!
//! Why: on Gowalla's training config a batch's gathers are ~20 MB of ids and weights (n¹·K of
//! each for layer 1 alone), and uploading them cost ~8 ms a step on an H200, more than the step
//! itself (BENCHMARKS.md, issue 15). The node sets are ~0.2 MB; the table is uploaded once.

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use super::{Block, LayerIndex};
use crate::sampler::{HostNodeSets, NodeNeighbourhoods};

/// Tables above this many bytes stay on the host, and batches carry their gathers instead.
pub const MAX_RESIDENT_BYTES: u64 = 2 << 30;

/// Every node's K neighbour ids and weights, on one device.
///
/// # Shapes
/// - `ids`: `[n_nodes, k]` global node ids
/// - `weights`: `[n_nodes, k]` importance weights α
/// - `iota`: `[n_nodes]`
#[derive(Clone, Debug)]
pub struct ResidentNeighbourhoods {
    ids: Tensor<2, Int>,
    weights: Tensor<2>,
    /// 0, 1, …, n_nodes − 1: the ranges a block needs are slices of it, not uploads.
    iota: Tensor<1, Int>,
}

/// A batch's node sets on the device (see `sampler::HostNodeSets`).
///
/// # Shapes
/// - `input_nodes`: `[n0]` global ids: S¹ first (the targets first within it), then the rest of S⁰
/// - `input_features`: `[n0, feature_dim]` when the model uses features
/// - `own_rows`: `[e]` target rows that get an own row; `own_weights`: `[e, k]` (`None` when e = 0)
#[derive(Clone, Debug)]
pub struct DeviceNodeSets {
    pub input_nodes: Tensor<1, Int>,
    pub input_features: Option<Tensor<2>>,
    pub n1: usize,
    pub n_targets: usize,
    pub own: Option<(Tensor<1, Int>, Tensor<2>)>,
}

impl DeviceNodeSets {
    /// Uploads `sets`, moving its arrays.
    pub fn upload(sets: HostNodeSets, device: &Device) -> DeviceNodeSets {
        let HostNodeSets { input_nodes, input_features, feature_dim, n1, n_targets, own_rows, own_weights, k } = sets;
        let n0 = input_nodes.len();
        let e = own_rows.len();
        DeviceNodeSets {
            input_nodes: super::losses::owned_int_tensor(input_nodes, device),
            input_features: input_features.map(|f| Tensor::from_data(TensorData::new(f, [n0, feature_dim]), device)),
            n1,
            n_targets,
            own: (e > 0).then(|| {
                let weights = Tensor::from_data(TensorData::new(own_weights, [e, k]), device);
                (super::losses::owned_int_tensor(own_rows, device), weights)
            }),
        }
    }
}

impl ResidentNeighbourhoods {
    /// The table's size on a device (ids and weights as 4-byte values).
    pub fn bytes(nb: &NodeNeighbourhoods) -> u64 {
        nb.ids.len() as u64 * 8
    }

    /// Uploads `nb` to `device` when it is at most [`MAX_RESIDENT_BYTES`] and not empty.
    pub fn fit(nb: &NodeNeighbourhoods, device: &Device) -> Option<ResidentNeighbourhoods> {
        (nb.k > 0 && nb.n_nodes() > 0 && Self::bytes(nb) <= MAX_RESIDENT_BYTES).then(|| Self::upload(nb, device))
    }

    /// Uploads `nb` to `device`.
    pub fn upload(nb: &NodeNeighbourhoods, device: &Device) -> ResidentNeighbourhoods {
        let shape = [nb.n_nodes(), nb.k];
        ResidentNeighbourhoods {
            ids: Tensor::<1, Int>::from_data(TensorData::new(nb.ids.clone(), [nb.ids.len()]), device).reshape(shape),
            weights: Tensor::from_data(TensorData::new(nb.weights.clone(), shape), device),
            iota: Tensor::arange(0..nb.n_nodes() as i64, device),
        }
    }

    /// `start, start + 1, …, start + len − 1`, sliced from `iota` when it holds them.
    fn range(&self, start: usize, len: usize, device: &Device) -> Tensor<1, Int> {
        if start + len <= self.iota.dims()[0] {
            self.iota.clone().narrow(0, start, len)
        } else {
            Tensor::arange(start as i64..(start + len) as i64, device)
        }
    }

    /// The block that `sampler::build_block` (plus any own rows) would give for `sets`, built on
    /// the device: each S¹ node's and each target's neighbour ids are looked up in the table and
    /// mapped to their rows of S⁰ (S¹ is S⁰'s prefix, so the same map serves layer 2).
    pub fn block(&self, sets: &DeviceNodeSets) -> Block {
        let device = sets.input_nodes.device();
        let [n0] = sets.input_nodes.dims();
        let [n_nodes, _] = self.ids.dims();
        let (n1, n2) = (sets.n1, sets.n_targets);
        // row_of[node] = the node's row in S⁰ (S⁰'s nodes are distinct, so adding to 0 assigns).
        // `scatter`, not `select_assign`: on cubecl devices the latter walks a 1-D index serially
        // in one thread (12 ms a step on an H200 for 43 k nodes), the former adds atomically in
        // parallel.
        let row_of = Tensor::<1, Int>::zeros([n_nodes], &device).scatter(
            0,
            sets.input_nodes.clone(),
            self.range(0, n0, &device),
            IndexingUpdateOp::Add,
        );
        let neighbour_rows = |nodes: Tensor<1, Int>| {
            let [n] = nodes.dims();
            let ids = self.ids.clone().select(0, nodes);
            let k = ids.dims()[1];
            row_of.clone().select(0, ids.reshape([n * k]))
        };
        let s1 = sets.input_nodes.clone().narrow(0, 0, n1);
        let targets = sets.input_nodes.clone().narrow(0, 0, n2);
        let mut l1 = LayerIndex {
            self_idx: self.range(0, n1, &device),
            nbr_idx: neighbour_rows(s1.clone()),
            weights: self.weights.clone().select(0, s1),
        };
        let mut l2 = LayerIndex {
            self_idx: self.range(0, n2, &device),
            nbr_idx: neighbour_rows(targets.clone()),
            weights: self.weights.clone().select(0, targets),
        };
        if let Some((rows, weights)) = &sets.own {
            // Each own row copies its target's neighbours in both layers (a target's layer-1 row
            // is its target row) with its own weights; layer 2 reads its new layer-1 row.
            let [e] = rows.dims();
            let nbr = neighbour_rows(sets.input_nodes.clone().select(0, rows.clone()));
            l1 = LayerIndex {
                self_idx: Tensor::cat(vec![l1.self_idx, rows.clone()], 0),
                nbr_idx: Tensor::cat(vec![l1.nbr_idx, nbr.clone()], 0),
                weights: Tensor::cat(vec![l1.weights, weights.clone()], 0),
            };
            l2 = LayerIndex {
                self_idx: Tensor::cat(vec![l2.self_idx, self.range(n1, e, &device)], 0),
                nbr_idx: Tensor::cat(vec![l2.nbr_idx, nbr], 0),
                weights: Tensor::cat(vec![l2.weights, weights.clone()], 0),
            };
        }
        Block { input_nodes: sets.input_nodes.clone(), input_features: sets.input_features.clone(), layers: [l1, l2] }
    }
}
