//! Every node's neighbourhood held on the training device, so that a batch uploads only its node
//! sets (`sampler::HostNodeSets`) and the gathers between them are derived there.
//!
//! Why: on Gowalla's training config a batch's gathers are ~20 MB of ids and weights (n¹·K of
//! each for layer 1 alone), and uploading them cost ~8 ms a step on an H200, more than the step
//! itself (BENCHMARKS.md, issue 15). The node sets are ~0.2 MB; the table is uploaded once.

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use super::pack::{Pack, Packed, Part};
use super::{Block, LayerIndex};
use crate::sampler::{HostNodeSets, NodeNeighbourhoods};

/// Tables above this many bytes stay on the host, and batches carry their gathers instead.
pub const MAX_RESIDENT_BYTES: u64 = 2 << 30;

/// Every node's K neighbour ids and weights, on one device.
///
/// # Shapes
/// - `ids`: `[n_nodes, k]` global node ids
/// - `weights`: `[n_nodes, k]` importance weights α
#[derive(Clone, Debug)]
pub struct ResidentNeighbourhoods {
    ids: Tensor<2, Int>,
    weights: Tensor<2>,
}

/// A batch's node sets on the device (see `sampler::HostNodeSets`), with the prefixes and row
/// ranges that deriving its gathers needs: uploaded in the batch's pack rather than sliced or
/// generated there, each slice of an unaligned length being a copy kernel.
///
/// # Shapes
/// - `input_nodes`: `[n0]` global ids: S¹ first (the targets first within it), then the rest of S⁰
/// - `s1`: `[n1]` and `targets`: `[n2]`, its prefixes
/// - `rows`: `0..n0`, `0..n1`, `0..n2`
/// - `input_features`: `[n0, feature_dim]` when the model uses features
/// - `own`: when e > 0 target rows get an own row, those `[e]` rows, their `[e, k]` weights, and
///   the own rows' layer-1 rows `n1..n1 + e`
#[derive(Clone, Debug)]
pub struct DeviceNodeSets {
    pub input_nodes: Tensor<1, Int>,
    pub s1: Tensor<1, Int>,
    pub targets: Tensor<1, Int>,
    pub rows: [Tensor<1, Int>; 3],
    pub input_features: Option<Tensor<2>>,
    pub own: Option<OwnRows>,
}

/// Target rows given an own row (see [`DeviceNodeSets`]).
#[derive(Clone, Debug)]
pub struct OwnRows {
    pub rows: Tensor<1, Int>,
    pub weights: Tensor<2>,
    pub layer1_rows: Tensor<1, Int>,
}

/// Where a [`HostNodeSets`]'s arrays lie in a pack.
#[derive(Clone, Copy, Debug)]
pub struct NodeSetParts {
    input_nodes: Part,
    s1: Part,
    targets: Part,
    rows: [Part; 3],
    features: Option<(Part, [usize; 2])>,
    /// Rows, weights, layer-1 rows, and the weights' `[e, k]`.
    own: Option<(Part, Part, Part, [usize; 2])>,
}

impl NodeSetParts {
    /// Adds `sets`' arrays, its prefixes and its row ranges to `pack`.
    pub fn pack(sets: &HostNodeSets, pack: &mut Pack) -> NodeSetParts {
        let HostNodeSets { input_nodes, input_features, feature_dim, n1, n_targets, own_rows, own_weights, k } = sets;
        let (n0, n1, n2, e) = (input_nodes.len(), *n1, *n_targets, own_rows.len());
        let range =
            |pack: &mut Pack, r: std::ops::Range<usize>| pack.int(&(r.start as u32..r.end as u32).collect::<Vec<_>>());
        NodeSetParts {
            input_nodes: pack.int(input_nodes),
            s1: pack.int(&input_nodes[..n1]),
            targets: pack.int(&input_nodes[..n2]),
            rows: [range(pack, 0..n0), range(pack, 0..n1), range(pack, 0..n2)],
            features: input_features.as_ref().map(|f| (pack.float(f), [n0, *feature_dim])),
            own: (e > 0).then(|| (pack.int(own_rows), pack.float(own_weights), range(pack, n1..n1 + e), [e, *k])),
        }
    }

    /// The node sets on the device, sliced from the uploaded pack.
    pub fn unpack(self, packed: &Packed) -> DeviceNodeSets {
        DeviceNodeSets {
            input_nodes: packed.int(self.input_nodes),
            s1: packed.int(self.s1),
            targets: packed.int(self.targets),
            rows: self.rows.map(|r| packed.int(r)),
            input_features: self.features.map(|(f, shape)| packed.float(f, shape)),
            own: self.own.map(|(rows, weights, layer1_rows, shape)| OwnRows {
                rows: packed.int(rows),
                weights: packed.float(weights, shape),
                layer1_rows: packed.int(layer1_rows),
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
        }
    }

    /// The block that `sampler::build_block` (plus any own rows) would give for `sets`, built on
    /// the device: each S¹ node's and each target's neighbour ids are looked up in the table and
    /// mapped to their rows of S⁰ (S¹ is S⁰'s prefix, so the same map serves layer 2).
    pub fn block(&self, sets: &DeviceNodeSets) -> Block {
        let device = sets.input_nodes.device();
        let [n_nodes, _] = self.ids.dims();
        let [rows0, rows1, rows2] = sets.rows.clone();
        // row_of[node] = the node's row in S⁰ (S⁰'s nodes are distinct, so adding to 0 assigns).
        // `scatter`, not `select_assign`: on cubecl devices the latter walks a 1-D index serially
        // in one thread (12 ms a step on an H200 for 43 k nodes), the former adds atomically in
        // parallel.
        let row_of = Tensor::<1, Int>::zeros([n_nodes], &device).scatter(
            0,
            sets.input_nodes.clone(),
            rows0,
            IndexingUpdateOp::Add,
        );
        let neighbour_rows = |nodes: Tensor<1, Int>| {
            let [n] = nodes.dims();
            let ids = self.ids.clone().select(0, nodes);
            let k = ids.dims()[1];
            row_of.clone().select(0, ids.reshape([n * k]))
        };
        let mut l1 = LayerIndex {
            self_idx: rows1,
            nbr_idx: neighbour_rows(sets.s1.clone()),
            weights: self.weights.clone().select(0, sets.s1.clone()),
        };
        let mut l2 = LayerIndex {
            self_idx: rows2,
            nbr_idx: neighbour_rows(sets.targets.clone()),
            weights: self.weights.clone().select(0, sets.targets.clone()),
        };
        if let Some(OwnRows { rows, weights, layer1_rows }) = &sets.own {
            // Each own row copies its target's neighbours in both layers (a target's layer-1 row
            // is its target row) with its own weights; layer 2 reads its new layer-1 row.
            let nbr = neighbour_rows(sets.input_nodes.clone().select(0, rows.clone()));
            l1 = LayerIndex {
                self_idx: Tensor::cat(vec![l1.self_idx, rows.clone()], 0),
                nbr_idx: Tensor::cat(vec![l1.nbr_idx, nbr.clone()], 0),
                weights: Tensor::cat(vec![l1.weights, weights.clone()], 0),
            };
            l2 = LayerIndex {
                self_idx: Tensor::cat(vec![l2.self_idx, layer1_rows.clone()], 0),
                nbr_idx: Tensor::cat(vec![l2.nbr_idx, nbr], 0),
                weights: Tensor::cat(vec![l2.weights, weights.clone()], 0),
            };
        }
        Block { input_nodes: sets.input_nodes.clone(), input_features: sets.input_features.clone(), layers: [l1, l2] }
    }
}
