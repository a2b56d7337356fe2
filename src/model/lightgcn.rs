//! LightGCN (He et al., SIGIR 2020), PinSage's descendant, on the same data pipeline: one free
//! embedding per node, no transforms or nonlinearities, symmetric-normalised propagation over the
//! full bipartite graph, the mean over layers, and the BPR loss.

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use crate::graph::Graph;
use crate::infer::Embeddings;
use crate::model::gather_rows;

/// LightGCN hyper-parameters.
#[derive(Config, Debug)]
pub struct LightGcnConfig {
    pub n_pins: usize,
    pub n_boards: usize,
    #[config(default = 64)]
    pub dim: usize,
    /// Propagation layers (the paper's best on Gowalla: 3).
    #[config(default = 3)]
    pub layers: usize,
}

/// The model: just the layer-0 embedding table of every node (pins, then boards).
#[derive(Module, Debug)]
pub struct LightGcn {
    pub embedding: Param<Tensor<2>>,
    layers: usize,
}

impl LightGcnConfig {
    pub fn init(&self, device: &Device) -> LightGcn {
        // The paper's initialisation: N(0, 0.1²).
        let embedding =
            Initializer::Normal { mean: 0.0, std: 0.1 }.init([self.n_pins + self.n_boards, self.dim], device);
        LightGcn { embedding, layers: self.layers }
    }
}

/// The normalised adjacency Â = D^-½ A D^-½ of the bipartite graph as an edge list (both
/// directions), ready for gather / scatter-add.
///
/// # Shapes
/// `src`, `dst`: `[2E]` node ids; `weight`: `[2E, 1]`
#[derive(Clone, Debug)]
pub struct Adjacency {
    pub src: Tensor<1, Int>,
    pub dst: Tensor<1, Int>,
    pub weight: Tensor<2>,
    pub n_nodes: usize,
}

impl Adjacency {
    pub fn new(g: &Graph, device: &Device) -> Adjacency {
        let p = g.n_pins();
        let e = g.n_edges();
        let (mut src, mut dst, mut w) =
            (Vec::with_capacity(2 * e), Vec::with_capacity(2 * e), Vec::with_capacity(2 * e));
        for b in 0..g.n_boards() {
            let db = g.pins_of(b).len() as f32;
            for &pin in g.pins_of(b) {
                let dp = g.boards_of(pin).len() as f32;
                let norm = 1.0 / (db * dp).sqrt();
                // board → pin and pin → board.
                src.extend_from_slice(&[p + b, pin]);
                dst.extend_from_slice(&[pin, p + b]);
                w.extend_from_slice(&[norm, norm]);
            }
        }
        let n = src.len();
        Adjacency {
            src: Tensor::from_data(TensorData::new(src, [n]), device),
            dst: Tensor::from_data(TensorData::new(dst, [n]), device),
            weight: Tensor::from_data(TensorData::new(w, [n, 1]), device),
            n_nodes: (g.n_pins() + g.n_boards()) as usize,
        }
    }
}

impl LightGcn {
    /// Final embeddings: the mean of layers 0..=L of E_{l+1} = Â E_l.
    ///
    /// # Shapes
    /// → `[n_nodes, dim]`
    pub fn propagate(&self, adj: &Adjacency) -> Tensor<2> {
        let e0 = self.embedding.val();
        let [n, d] = e0.dims();
        let m = adj.dst.dims()[0];
        let dst = adj.dst.clone().reshape([m, 1]).expand([m, d]);
        let mut e = e0.clone();
        let mut sum = e0;
        for _ in 0..self.layers {
            let messages = gather_rows(e, adj.src.clone()) * adj.weight.clone();
            e = Tensor::zeros([n, d], &messages.device()).scatter(0, dst.clone(), messages, IndexingUpdateOp::Add);
            sum = sum + e.clone();
        }
        sum / (self.layers as f32 + 1.0)
    }

    /// BPR loss of (board, positive, negative) triples plus L2 on their layer-0 embeddings.
    ///
    /// # Shapes
    /// `boards`, `pos`, `neg`: `[b]` node ids → `[1]`
    pub fn loss(
        &self,
        adj: &Adjacency,
        boards: Tensor<1, Int>,
        pos: Tensor<1, Int>,
        neg: Tensor<1, Int>,
        l2: f32,
    ) -> Tensor<1> {
        let all = self.propagate(adj);
        let b = gather_rows(all.clone(), boards.clone());
        let p = gather_rows(all.clone(), pos.clone());
        let n = gather_rows(all, neg.clone());
        let diff = (b.clone() * p).sum_dim(1) - (b * n).sum_dim(1);
        let bpr = -burn::tensor::activation::log_sigmoid(diff).mean();
        let e0 = self.embedding.val();
        let batch = boards.dims()[0] as f32;
        let reg = (gather_rows(e0.clone(), boards).square().sum()
            + gather_rows(e0.clone(), pos).square().sum()
            + gather_rows(e0, neg).square().sum())
            * (0.5 / batch);
        bpr + reg * l2
    }

    /// All node embeddings read back to the host.
    pub fn embeddings(&self, adj: &Adjacency, n_pins: usize) -> Result<Embeddings, crate::infer::InferError> {
        let model = self.valid();
        let all = model.propagate(adj);
        let dim = all.dims()[1];
        let data = all
            .try_into_vec_as::<f32>()
            .map_err(|e| crate::infer::InferError::Device(format!("reading embeddings back: {e:?}")))?;
        Ok(Embeddings { dim, n_pins, data })
    }
}
