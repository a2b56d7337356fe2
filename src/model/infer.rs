//! Layer-wise full-graph inference (the paper's MapReduce scheme on one machine): layer 1 for every
//! node once, then layer 2 from those, never recomputing a neighbourhood per query.

use burn::prelude::*;

use crate::graph::Features;
use crate::model::{LayerIndex, PinSage};
use crate::sampler::NodeNeighbourhoods;

/// Why embeddings or rankings could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// The device failed while computing or reading back.
    #[error("inference failed: {0}")]
    Device(String),
    /// The result or its intermediate tensors would not fit the memory budget.
    #[error(transparent)]
    Memory(#[from] crate::memory::OutOfMemory),
}

/// Bytes [`embed_all`] holds at its peak for `n_nodes` nodes: the input layer, a layer's parts and
/// their concatenation, and the read-back embeddings (f32 each).
pub fn embed_all_bytes(n_nodes: usize, input_dim: usize, hidden_dim: usize) -> u64 {
    crate::memory::bytes(n_nodes as u64, 4 * (input_dim as u64 + 3 * hidden_dim as u64))
}

/// Unit-length embeddings for every node (pins first, then boards), row-major.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Embeddings {
    pub dim: usize,
    pub n_pins: usize,
    pub data: Vec<f32>,
}

impl Embeddings {
    pub fn n_nodes(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }
    pub fn row(&self, node: u32) -> &[f32] {
        let s = node as usize * self.dim;
        &self.data[s..s + self.dim]
    }
    /// Dot product of two nodes' embeddings (cosine, as rows are unit length).
    pub fn dot(&self, a: u32, b: u32) -> f32 {
        self.row(a).iter().zip(self.row(b)).map(|(x, y)| x * y).sum()
    }
    pub fn pins(&self) -> &[f32] {
        &self.data[..self.n_pins * self.dim]
    }
}

fn ids(v: Vec<u32>, device: &Device) -> Tensor<1, Int> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

/// Gather plan for `nodes` reading from a full-graph previous layer (rows = global node ids).
fn full_layer(nb: &NodeNeighbourhoods, nodes: std::ops::Range<u32>, device: &Device) -> LayerIndex {
    let s = nodes.start as usize * nb.k;
    let e = nodes.end as usize * nb.k;
    let t = (nodes.end - nodes.start) as usize;
    LayerIndex {
        self_idx: ids(nodes.collect(), device),
        nbr_idx: ids(nb.ids[s..e].to_vec(), device),
        weights: Tensor::from_data(TensorData::new(nb.weights[s..e].to_vec(), [t, nb.k]), device),
    }
}

/// The input representation of every node, in chunks.
fn all_inputs(
    model: &PinSage,
    nb: &NodeNeighbourhoods,
    features: Option<&Features>,
    chunk: usize,
    device: &Device,
) -> Tensor<2> {
    let n = nb.n_nodes() as u32;
    let mut parts = Vec::new();
    let mut start = 0u32;
    while start < n {
        let end = (start + chunk as u32).min(n);
        let f = features.map(|f| {
            let mut rows = vec![0f32; (end - start) as usize * f.dim];
            for node in start..end.min(nb.n_pins) {
                let r = (node - start) as usize;
                rows[r * f.dim..(r + 1) * f.dim].copy_from_slice(f.row(node));
            }
            Tensor::from_data(TensorData::new(rows, [(end - start) as usize, f.dim]), device)
        });
        parts.push(model.input(ids((start..end).collect(), device), f));
        start = end;
    }
    Tensor::cat(parts, 0)
}

/// Embeds every node layer by layer; `progress(done, total)` is called after each chunk of each
/// of the three stages (inputs, layer 1, layer 2 + head), with total = 3 × chunks.
pub fn embed_all(
    model: &PinSage,
    nb: &NodeNeighbourhoods,
    features: Option<&Features>,
    device: &Device,
    chunk: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<Embeddings, InferError> {
    let [input_dim, hidden_dim] = model.layer_transforms(0).0.weight.dims();
    crate::memory::check(embed_all_bytes(nb.n_nodes(), input_dim, hidden_dim), "embedding every node")?;
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let n = nb.n_nodes() as u32;
    let chunks = (n as usize).div_ceil(chunk);
    let total = 3 * chunks;
    let h0 = all_inputs(&model, nb, features, chunk, &device);
    progress(chunks, total);
    let dim0 = h0.dims()[1];
    // Only the skip path reads h⁰ after layer 1; otherwise its buffer is freed as layer 1 ends.
    let h0_for_skip = model.skip().then(|| h0.clone());
    let mut h = h0;
    for layer in 0..2 {
        let mut parts = Vec::with_capacity(chunks);
        let mut start = 0u32;
        let mut i = 0;
        while start < n {
            let end = (start + chunk as u32).min(n);
            let idx = full_layer(nb, start..end, &device);
            let z = model.convolve(layer, h.clone(), &idx);
            parts.push(if layer == 1 {
                model.head(z, || {
                    h0_for_skip.clone().expect("read only with skip").slice([start as usize..end as usize, 0..dim0])
                })
            } else {
                z
            });
            start = end;
            i += 1;
            progress((layer + 1) * chunks + i, total);
        }
        h = Tensor::cat(parts, 0);
    }
    let dim = h.dims()[1];
    let data = h.try_into_vec_as::<f32>().map_err(|e| InferError::Device(format!("reading embeddings back: {e:?}")))?;
    Ok(Embeddings { dim, n_pins: nb.n_pins as usize, data })
}
