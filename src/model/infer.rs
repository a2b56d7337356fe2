//! Layer-wise full-graph inference (the paper's MapReduce scheme on one machine): layer 1 for every
//! node once, then layer 2 from those, never recomputing a neighbourhood per query.

use burn::prelude::*;

use crate::graph::Features;
use crate::model::{LayerIndex, PinSage, gather_rows};
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

/// A whole-graph layer held as row blocks of at most [`max_shard_rows`] rows (one wgpu binding
/// holds at most 2 GiB, a 64-d layer of 8.4 M nodes), gathered by global row.
struct RowShards {
    /// Each block's first row and its rows.
    parts: Vec<(usize, Tensor<2>)>,
}

/// Rows of `dim` floats per [`RowShards`] block: half the GPU tensor limit, in whole chunks.
fn max_shard_rows(dim: usize, chunk: usize) -> usize {
    let rows = (crate::model::MAX_GPU_TENSOR_BYTES / 2 / (4 * dim.max(1) as u64)) as usize;
    (rows / chunk.max(1) * chunk.max(1)).max(chunk.max(1))
}

impl RowShards {
    /// Consecutive chunks of rows joined into blocks of at most `max_rows` rows.
    fn from_chunks(chunks: Vec<Tensor<2>>, max_rows: usize) -> RowShards {
        let mut parts = Vec::new();
        let (mut pending, mut pending_rows, mut start) = (Vec::new(), 0usize, 0usize);
        for c in chunks {
            let rows = c.dims()[0];
            if pending_rows + rows > max_rows && !pending.is_empty() {
                parts.push((start, Tensor::cat(std::mem::take(&mut pending), 0)));
                start += pending_rows;
                pending_rows = 0;
            }
            pending.push(c);
            pending_rows += rows;
        }
        if !pending.is_empty() {
            parts.push((start, Tensor::cat(pending, 0)));
        }
        RowShards { parts }
    }

    /// The one block, when the layer fits in one.
    fn single(&self) -> Option<&Tensor<2>> {
        match self.parts.as_slice() {
            [(_, t)] => Some(t),
            _ => None,
        }
    }

    /// Rows `range` of the layer: a slice of one block, as blocks hold whole chunks and `range`
    /// is one chunk.
    ///
    /// # Shapes
    /// → `[range.len(), dim]`
    fn rows(&self, range: std::ops::Range<u32>) -> Tensor<2> {
        let (start, end) = (range.start as usize, range.end as usize);
        let (first, t) = (self.parts.iter().rev())
            .find(|(first, _)| *first <= start)
            .expect("a layer's first block starts at row 0");
        let dim = t.dims()[1];
        t.clone().slice([start - first..end - first, 0..dim])
    }

    /// Rows `idx` (global ids, repeats allowed), as `gather_rows` on the whole layer.
    ///
    /// # Shapes
    /// `idx: [m]` → `[m, dim]`
    fn gather(&self, idx: Tensor<1, Int>) -> Tensor<2> {
        if let Some(t) = self.single() {
            return gather_rows(t.clone(), idx);
        }
        let [m] = idx.dims();
        let mut out: Option<Tensor<2>> = None;
        for (start, t) in &self.parts {
            let len = t.dims()[0];
            let local = idx.clone().sub_scalar(*start as i64).clamp(0, len as i64 - 1);
            let inside = (idx.clone().greater_equal_elem(*start as i64))
                .bool_and(idx.clone().lower_elem((start + len) as i64))
                .float()
                .reshape([m, 1]);
            let part = gather_rows(t.clone(), local) * inside;
            out = Some(match out {
                Some(o) => o + part,
                None => part,
            });
        }
        out.expect("a layer has at least one block")
    }

    /// Reads every block back, in row order.
    fn read(self) -> Result<Vec<f32>, InferError> {
        let mut data = Vec::new();
        for (_, t) in self.parts {
            let part = t
                .try_into_vec_as::<f32>()
                .map_err(|e| InferError::Device(format!("reading embeddings back: {e:?}")))?;
            data.extend_from_slice(&part);
        }
        Ok(data)
    }
}

/// The input representation of every node, in chunks.
fn all_inputs(
    model: &PinSage,
    nb: &NodeNeighbourhoods,
    features: Option<&Features>,
    chunk: usize,
    device: &Device,
) -> Vec<Tensor<2>> {
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
    parts
}

/// Embeds every node layer by layer; `progress(done, total)` is called after each chunk of each
/// of the three stages (inputs, layer 1, layer 2 + head), with total = 3 × chunks.
///
/// Each layer first computes every node's message ReLU(Q h + q) once, then each chunk pools its
/// neighbours' messages: O(nodes) a layer. (Computing the messages inside each chunk's convolve,
/// as training's per-batch forward does, would cost O(nodes² / chunk).) Layers over 1 GiB are
/// held in several blocks ([`RowShards`]).
pub fn embed_all(
    model: &PinSage,
    nb: &NodeNeighbourhoods,
    features: Option<&Features>,
    device: &Device,
    chunk: usize,
    progress: impl FnMut(usize, usize),
) -> Result<Embeddings, InferError> {
    embed_all_in_blocks(model, nb, features, device, chunk, None, progress)
}

/// [`embed_all`] with each whole-graph layer held in blocks of at most `block_rows` rows
/// (rounded to whole chunks; `None`: as many as 1 GiB holds). The result does not depend on it.
pub fn embed_all_in_blocks(
    model: &PinSage,
    nb: &NodeNeighbourhoods,
    features: Option<&Features>,
    device: &Device,
    chunk: usize,
    block_rows: Option<usize>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Embeddings, InferError> {
    let [input_dim, hidden_dim] = model.layer_transforms(0).0.weight.dims();
    crate::memory::check(embed_all_bytes(nb.n_nodes(), input_dim, hidden_dim), "embedding every node")?;
    let model = model.valid();
    let device = device.clone().without_autodiff();
    let n = nb.n_nodes() as u32;
    let chunks = (n as usize).div_ceil(chunk);
    let total = 3 * chunks;
    let shards = |parts: Vec<Tensor<2>>| {
        let dim = parts.first().map_or(1, |p| p.dims()[1]);
        let max_rows = block_rows.map_or_else(|| max_shard_rows(dim, chunk), |r| r.max(chunk));
        RowShards::from_chunks(parts, max_rows)
    };
    let h0 = shards(all_inputs(&model, nb, features, chunk, &device));
    progress(chunks, total);
    // Only the skip path reads h⁰ after layer 1; otherwise its blocks are freed as layer 1 ends.
    let h0_for_skip = model.skip().then(|| RowShards { parts: h0.parts.clone() });
    let mut h = h0;
    let ranges = || (0..n).step_by(chunk.max(1)).map(move |s| s..(s + chunk as u32).min(n));
    for layer in 0..2 {
        let messages = shards(ranges().map(|r| model.messages(layer, h.rows(r))).collect::<Vec<_>>());
        let mut parts = Vec::with_capacity(chunks);
        for (i, range) in ranges().enumerate() {
            let idx = full_layer(nb, range.clone(), &device);
            let pooled = match messages.single() {
                Some(m) => model.pool_messages(m.clone(), &idx),
                None => {
                    let [t, k] = idx.weights.dims();
                    let gathered = messages.gather(idx.nbr_idx.clone()).reshape([t, k, hidden_dim]);
                    super::pool(model.pooling(), gathered, idx.weights.clone())
                }
            };
            let z = model.combine(layer, h.gather(idx.self_idx.clone()), pooled);
            parts.push(if layer == 1 {
                model.head(z, || h0_for_skip.as_ref().expect("read only with skip").rows(range.clone()))
            } else {
                z
            });
            progress((layer + 1) * chunks + i + 1, total);
        }
        drop(messages);
        h = shards(parts);
    }
    let dim = h.parts.first().map_or(hidden_dim, |p| p.1.dims()[1]);
    let data = h.read()?;
    Ok(Embeddings { dim, n_pins: nb.n_pins as usize, data })
}
