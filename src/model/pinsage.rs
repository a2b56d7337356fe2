//! The PinSage model (the paper's Algorithm 1): input features and id embeddings, two convolve
//! layers over importance-weighted neighbourhoods, a final dense head, L2-normalised output.
//!
//! Nodes share one index space: pins are `0..n_pins`, boards are `n_pins..n_pins + n_boards`. Every
//! node's neighbourhood is a set of pins (a pin's from random walks, a board's from its own pins),
//! so boards are embedded by the very same convolve and can rank pins.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use super::dense::dense;
use super::fused_norm::fused_l2_normalise;
use super::fused_pool::weighted_gather;

/// How a node's neighbour messages are pooled (γ in the paper).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Σ α_v · m_v with α the normalised visit counts (the paper's importance pooling).
    #[default]
    Importance,
    /// Unweighted mean over the neighbours (GraphSAGE's mean aggregator).
    Mean,
    /// Element-wise max over the neighbours.
    Max,
}

crate::named_enum!(Pooling, "pooling" { Importance => "importance", Mean => "mean", Max => "max" });

/// Model hyper-parameters.
#[derive(Config, Debug)]
pub struct PinSageConfig {
    pub n_pins: usize,
    pub n_boards: usize,
    /// Width of the per-pin input features (0 when the graph has none).
    pub feature_dim: usize,
    /// Width of the input representation h⁰ (id embedding and projected features).
    #[config(default = 64)]
    pub input_dim: usize,
    /// Width of the convolve layers and of the output embedding.
    #[config(default = 64)]
    pub hidden_dim: usize,
    /// Learn an embedding per node id (needed for graphs without features, like Gowalla).
    #[config(default = true)]
    pub id_embedding: bool,
    #[config(default = "Pooling::Importance")]
    pub pooling: Pooling,
    /// Adds each node's own input h⁰ to the head's output before the final normalisation: a
    /// residual path from the id embedding past both convolves (LightGCN combines its layers the
    /// same way). When `input_dim ≠ hidden_dim`, h⁰ is first mapped by a learned linear map.
    #[config(default = false)]
    pub skip: bool,
    /// Importance and mean pooling run as one GPU kernel each way on cubecl devices (see
    /// `fused_pool`) instead of composed Burn ops (as on the CPU). Same values up to the order of
    /// float additions; see `TrainConfig::fused_pool` for why it is on by default.
    #[config(default = true)]
    pub fused_pool: bool,
    /// The L2 normalisations run as one GPU kernel each way on cubecl devices (see `fused_norm`);
    /// see `TrainConfig::fused_norm` for why it is on by default.
    #[config(default = true)]
    pub fused_norm: bool,
    /// Dense layers on tall inputs run as batches of row blocks (`dense`), whose weight gradients
    /// are many short products instead of one long one. Same values up to summation order; off
    /// gives plain `Linear::forward` (the reference for `bench train-step --reference`).
    #[config(default = true)]
    pub split_dense: bool,
}

/// One convolve layer: Q/q transform neighbour messages, W/w combine self and neighbourhood.
#[derive(Module, Debug)]
pub struct Convolve {
    q: Linear,
    w: Linear,
}

/// The PinSage network.
#[derive(Module, Debug)]
pub struct PinSage {
    ids: Option<Embedding>,
    features: Option<Linear>,
    layers: Vec<Convolve>,
    g1: Linear,
    g2: Linear,
    /// Maps h⁰ to the embedding's width for the skip path when the two widths differ.
    skip_map: Option<Linear>,
    #[module(skip)]
    pooling: Pooling,
    #[module(skip)]
    skip: bool,
    #[module(skip)]
    fused_pool: bool,
    #[module(skip)]
    fused_norm: bool,
    #[module(skip)]
    split_dense: bool,
}

/// One layer's worth of gather instructions, relative to the rows of the previous layer's output.
///
/// # Shapes
/// - `self_idx`: `[t]` rows of the previous layer that are the targets themselves
/// - `nbr_idx`: `[t * k]` rows of the previous layer that are each target's k neighbours
/// - `weights`: `[t, k]` importance weights α (0 for padding)
#[derive(Clone, Debug)]
pub struct LayerIndex {
    pub self_idx: Tensor<1, Int>,
    pub nbr_idx: Tensor<1, Int>,
    pub weights: Tensor<2>,
}

/// What the model needs for one forward pass: the input nodes and two layers of gathers.
///
/// # Shapes
/// - `input_nodes`: `[n0]` global node ids of the input layer
/// - `input_features`: `[n0, feature_dim]` when the model uses features
/// - `layers[0]` gathers from the `n0` input rows into `n1` rows; `layers[1]` from `n1` into `n2`.
#[derive(Clone, Debug)]
pub struct Block {
    pub input_nodes: Tensor<1, Int>,
    pub input_features: Option<Tensor<2>>,
    pub layers: [LayerIndex; 2],
}

impl PinSageConfig {
    /// Builds the model on `device`.
    pub fn init(&self, device: &Device) -> PinSage {
        let n_nodes = self.n_pins + self.n_boards;
        let ids = self.id_embedding.then(|| {
            EmbeddingConfig::new(n_nodes, self.input_dim)
                .with_initializer(Initializer::Normal { mean: 0.0, std: 0.1 })
                .init(device)
        });
        let features = (self.feature_dim > 0).then(|| LinearConfig::new(self.feature_dim, self.input_dim).init(device));
        let layer = |d_in: usize| Convolve {
            q: LinearConfig::new(d_in, self.hidden_dim).init(device),
            w: LinearConfig::new(d_in + self.hidden_dim, self.hidden_dim).init(device),
        };
        PinSage {
            ids,
            features,
            layers: vec![layer(self.input_dim), layer(self.hidden_dim)],
            g1: LinearConfig::new(self.hidden_dim, self.hidden_dim).init(device),
            g2: LinearConfig::new(self.hidden_dim, self.hidden_dim).init(device),
            skip_map: (self.skip && self.input_dim != self.hidden_dim)
                .then(|| LinearConfig::new(self.input_dim, self.hidden_dim).with_bias(false).init(device)),
            pooling: self.pooling,
            skip: self.skip,
            fused_pool: self.fused_pool,
            fused_norm: self.fused_norm,
            split_dense: self.split_dense,
        }
    }

    /// Rejects configurations that cannot work, naming the field.
    pub fn validate(&self) -> Result<(), crate::walk::ParamError> {
        let err = |field, reason: &str| Err(crate::walk::ParamError { field, reason: reason.to_string() });
        if self.input_dim == 0 {
            return err("input_dim", "must be at least 1");
        }
        if self.hidden_dim == 0 {
            return err("hidden_dim", "must be at least 1");
        }
        if !self.id_embedding && self.feature_dim == 0 {
            return err("id_embedding", "the graph has no features, so id embeddings are the only input");
        }
        Ok(())
    }
}

/// Rows of `x` picked by `idx` (with repeats), differentiable.
///
/// Implemented with `gather` rather than `select`: on cubecl backends the gradient of `select` is a
/// `select_assign` that runs one thread per column and loops over every index (≈270 ms a step on
/// an H100 here), while `gather`'s gradient is a `scatter` that uses float atomics where the device
/// has them.
///
/// # Shapes
/// `x: [n, d]`, `idx: [m]` → `[m, d]`
pub fn gather_rows(x: Tensor<2>, idx: Tensor<1, Int>) -> Tensor<2> {
    let [m] = idx.dims();
    let d = x.dims()[1];
    x.gather(0, idx.reshape([m, 1]).expand([m, d]))
}

/// Rows divided by their L2 norm.
///
/// # Shapes
/// `[n, d] -> [n, d]`
pub fn l2_normalise(x: Tensor<2>) -> Tensor<2> {
    super::fused_norm::composed_l2_normalise(x)
}

impl PinSage {
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// The id-embedding table (`[n_nodes, input_dim]`), if the model has one.
    pub fn id_table(&self) -> Option<Tensor<2>> {
        self.ids.as_ref().map(|e| e.weight.val())
    }

    /// The model with its id-embedding table mapped by `f` (same shape, same parameter id; the
    /// table is handed over, not copied, so `f` may update it in place). Nothing happens
    /// without id embeddings.
    pub fn map_id_table(mut self, f: impl FnOnce(Tensor<2>) -> Tensor<2>) -> Self {
        if let Some(mut e) = self.ids.take() {
            e.weight = e.weight.map(f);
            self.ids = Some(e);
        }
        self
    }

    /// The Q and W transforms of convolve layer `layer` (for step-by-step explanations).
    pub fn layer_transforms(&self, layer: usize) -> (&Linear, &Linear) {
        (&self.layers[layer].q, &self.layers[layer].w)
    }

    /// h⁰ of the given nodes: id embedding plus projected features.
    ///
    /// # Shapes
    /// `nodes: [n]`, `features: [n, feature_dim]` → `[n, input_dim]`
    pub fn input(&self, nodes: Tensor<1, Int>, features: Option<Tensor<2>>) -> Tensor<2> {
        let from_ids = self.ids.as_ref().map(|e| gather_rows(e.weight.val(), nodes));
        self.input_from(from_ids, features)
    }

    /// h⁰ from id-embedding rows already looked up (`None` without id embeddings) plus projected
    /// features. Training with a row-sparse id update passes the batch's rows as a leaf of
    /// their own (`train::sparse_ids`).
    ///
    /// # Shapes
    /// `from_ids: [n, input_dim]`, `features: [n, feature_dim]` → `[n, input_dim]`
    pub fn input_from(&self, from_ids: Option<Tensor<2>>, features: Option<Tensor<2>>) -> Tensor<2> {
        let from_features = match (&self.features, features) {
            (Some(lin), Some(f)) => Some(self.dense(lin, f)),
            _ => None,
        };
        match (from_ids, from_features) {
            (Some(a), Some(b)) => a + b,
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => panic!("PinSage has neither id embeddings nor features (rejected by validate)"),
        }
    }

    /// One convolve (Algorithm 1): n = γ(ReLU(Q h_v + q)), z = ReLU(W [h_u ‖ n] + w), z ← z/‖z‖.
    ///
    /// # Shapes
    /// `h: [n_prev, d_in]` → `[t, hidden_dim]` with `t = idx.self_idx.dims()[0]`
    pub fn convolve(&self, layer: usize, h: Tensor<2>, idx: &LayerIndex) -> Tensor<2> {
        let messages = self.messages(layer, h.clone());
        let pooled = self.pool_messages(messages, idx);
        self.combine(layer, gather_rows(h, idx.self_idx.clone()), pooled)
    }

    /// The messages ReLU(Q h_v + q) of layer `layer` for every row of `h`: what neighbours send.
    /// Full-graph inference computes them once per node and layer (`infer::embed_all`).
    ///
    /// # Shapes
    /// `h: [n, d_in]` → `[n, hidden_dim]`
    pub fn messages(&self, layer: usize, h: Tensor<2>) -> Tensor<2> {
        relu(self.dense(&self.layers[layer].q, h))
    }

    /// γ over each target's neighbours' rows of `messages` (`idx.nbr_idx`, `idx.weights`).
    ///
    /// # Shapes
    /// `messages: [n, hidden_dim]` → `[t, hidden_dim]`
    pub fn pool_messages(&self, messages: Tensor<2>, idx: &LayerIndex) -> Tensor<2> {
        let [t, k] = idx.weights.dims();
        match (self.pooling, self.fused_pool) {
            (Pooling::Importance, true) => weighted_gather(messages, idx.nbr_idx.clone(), idx.weights.clone()),
            (Pooling::Mean, true) => weighted_gather(messages, idx.nbr_idx.clone(), mean_weights(idx.weights.clone())),
            _ => {
                let d = messages.dims()[1];
                let gathered = gather_rows(messages, idx.nbr_idx.clone()).reshape([t, k, d]);
                pool(self.pooling, gathered, idx.weights.clone())
            }
        }
    }

    /// z = ReLU(W [h_u ‖ n] + w), z ← z/‖z‖, from the targets' own rows and pooled messages.
    ///
    /// # Shapes
    /// `own: [t, d_in]`, `pooled: [t, hidden_dim]` → `[t, hidden_dim]`
    pub fn combine(&self, layer: usize, own: Tensor<2>, pooled: Tensor<2>) -> Tensor<2> {
        self.normalise(relu(self.dense(&self.layers[layer].w, Tensor::cat(vec![own, pooled], 1))))
    }

    /// [`l2_normalise`], as one kernel each way with `fused_norm` (see that module).
    ///
    /// # Shapes
    /// `[n, d] -> [n, d]`
    fn normalise(&self, x: Tensor<2>) -> Tensor<2> {
        if self.fused_norm { fused_l2_normalise(x) } else { l2_normalise(x) }
    }

    /// `lin.forward(x)`, split into row blocks when the config says so (see [`dense`]).
    ///
    /// # Shapes
    /// `x: [n, d_in]` → `[n, d_out]`
    fn dense(&self, lin: &Linear, x: Tensor<2>) -> Tensor<2> {
        if self.split_dense { dense(lin, x) } else { lin.forward(x) }
    }

    /// Whether the embedding adds the node's own h⁰ (see [`PinSageConfig::skip`]).
    pub fn skip(&self) -> bool {
        self.skip
    }

    /// The final dense head and normalisation: e = G₂ ReLU(G₁ z + g₁) + g₂ (+ h⁰ of the same
    /// nodes with `skip`), divided by its norm. `own_input` is only read with `skip`.
    ///
    /// # Shapes
    /// `z: [t, hidden_dim]`, `own_input: [t, input_dim]` → `[t, hidden_dim]`
    pub fn head(&self, z: Tensor<2>, own_input: impl FnOnce() -> Tensor<2>) -> Tensor<2> {
        let e = self.dense(&self.g2, relu(self.dense(&self.g1, z)));
        if !self.skip {
            return self.normalise(e);
        }
        let own = own_input();
        let own = match &self.skip_map {
            Some(map) => self.dense(map, own),
            None => own,
        };
        self.normalise(e + own)
    }

    /// Rows of the block's input-layer tensor `h0` that are the block's targets themselves.
    ///
    /// # Shapes
    /// `h0: [n0, d]` → `[n2, d]`
    pub fn targets_input(block: &Block, h0: Tensor<2>) -> Tensor<2> {
        let rows = block.layers[0].self_idx.clone().select(0, block.layers[1].self_idx.clone());
        gather_rows(h0, rows)
    }

    /// Embeddings of the block's target nodes.
    ///
    /// # Shapes
    /// → `[n2, hidden_dim]`, unit rows
    pub fn forward(&self, block: &Block) -> Tensor<2> {
        self.forward_from(block, self.input(block.input_nodes.clone(), block.input_features.clone()))
    }

    /// Embeddings of the block's target nodes from its input rows `h0` (see [`PinSage::input_from`]).
    ///
    /// # Shapes
    /// `h0: [n0, input_dim]` → `[n2, hidden_dim]`, unit rows
    pub fn forward_from(&self, block: &Block, h0: Tensor<2>) -> Tensor<2> {
        let h1 = self.convolve(0, h0.clone(), &block.layers[0]);
        let h2 = self.convolve(1, h1, &block.layers[1]);
        self.head(h2, || Self::targets_input(block, h0))
    }
}

/// γ: pools gathered messages with the weights.
///
/// # Shapes
/// `gathered: [t, k, d]`, `weights: [t, k]` → `[t, d]`
pub fn pool(pooling: Pooling, gathered: Tensor<3>, weights: Tensor<2>) -> Tensor<2> {
    let [t, k, d] = gathered.dims();
    match pooling {
        Pooling::Importance => (gathered * weights.reshape([t, k, 1])).sum_dim(1).reshape([t, d]),
        Pooling::Mean => (gathered * mean_weights(weights).reshape([t, k, 1])).sum_dim(1).reshape([t, d]),
        Pooling::Max => {
            // Messages are ≥ 0 (ReLU), so zeroing the padding leaves the max over real neighbours.
            let mask = weights.greater_elem(0.0).float().reshape([t, k, 1]);
            (gathered * mask).max_dim(1).reshape([t, d])
        }
    }
}

/// Mean pooling as weights: 1/(number of real neighbours) for each real one, 0 for padding.
///
/// # Shapes
/// `[t, k] -> [t, k]`
pub fn mean_weights(weights: Tensor<2>) -> Tensor<2> {
    let mask = weights.greater_elem(0.0).float();
    let count = mask.clone().sum_dim(1).clamp_min(1.0);
    mask / count
}
