//! The convolve view's computation: Algorithm 1 run on one pin an operation at a time, with the
//! shape and a glimpse of every intermediate tensor, checked against the model's own forward.

use burn::prelude::*;
use burn::tensor::activation::relu;

use super::ExplainError;
use crate::graph::Graph;
use crate::model::{LayerIndex, PinSage, l2_normalise, pool};
use crate::sampler::{NodeSet, build_block};
use crate::train::block_tensors;
use crate::train::bundle::ModelBundle;

/// One operation of Algorithm 1 as it ran.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceStep {
    /// 0 = input layer, 1 and 2 = convolve layers, 3 = the dense head.
    pub layer: usize,
    /// What happens, in words ("gather each target's K neighbour messages").
    pub op: String,
    /// The formula, as in the paper ("n = γ({ReLU(Q·h_v + q)}, α)").
    pub formula: String,
    pub shape: Vec<usize>,
    /// The first values of the selected pin's row (or its first neighbour's, for gathers).
    pub glimpse: Vec<f32>,
    /// The L2 norm of that whole row.
    pub row_norm: f32,
}

/// Algorithm 1 on one pin, traced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConvolveTrace {
    pub pin: u32,
    pub steps: Vec<TraceStep>,
    /// The receptive field hop by hop: `[target]`, the new nodes of S¹, the new nodes of S⁰.
    pub hops: [Vec<u32>; 3],
    /// The target's neighbours (node ids) and importance weights α.
    pub neighbours: Vec<(u32, f32)>,
    /// The final embedding of the pin.
    pub embedding: Vec<f32>,
    /// max |trace − model.forward| over the embedding: the trace is the real forward pass.
    pub forward_diff: f32,
}

const GLIMPSE: usize = 6;

fn row0(t: &Tensor<2>) -> Result<(Vec<f32>, f32), ExplainError> {
    let d = t.dims()[1];
    let v =
        t.clone().slice([0..1, 0..d]).try_into_vec_as::<f32>().map_err(|e| ExplainError::Device(format!("{e:?}")))?;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    Ok((v.into_iter().take(GLIMPSE).collect(), norm))
}

/// Runs the model on `pin` one operation at a time, recording each intermediate tensor.
pub fn convolve_trace(bundle: &ModelBundle, g: &Graph, pin: u32) -> Result<ConvolveTrace, ExplainError> {
    if pin >= g.n_pins() {
        return Err(ExplainError::NoSuchPin { pin, n_pins: g.n_pins() });
    }
    let nb = &bundle.neighbourhoods;
    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
    if nb.n_nodes() != n_nodes {
        return Err(ExplainError::Mismatch(format!("{} neighbourhoods for {n_nodes} nodes", nb.n_nodes())));
    }
    let mut sets = [NodeSet::new(n_nodes), NodeSet::new(n_nodes)];
    let host = build_block(nb, &[pin], g.features.as_ref(), &mut sets);
    let device = bundle.device.clone().without_autodiff();
    let model = bundle.model.valid();
    let block = block_tensors(&host, &device);
    let mut tracer = Tracer::default();

    let h0 = model.input(block.input_nodes.clone(), block.input_features.clone());
    let input_formula = match (g.features.is_some(), bundle.config.id_embedding) {
        (true, true) => "h⁰ = E[id] + P·x (id embedding + projected visual features)",
        (true, false) => "h⁰ = P·x (projected visual features)",
        _ => "h⁰ = E[id] (learned id embedding)",
    };
    tracer.push(
        0,
        &format!("input representation of all {} nodes of S⁰", host.input_nodes.len()),
        input_formula,
        h0.dims().to_vec(),
        &h0,
    )?;

    let mut h = h0.clone();
    for layer in 0..2 {
        h = trace_layer(&mut tracer, &model, &block.layers[layer], h, layer)?;
    }
    let out = model.head(h, || PinSage::targets_input(&block, h0));
    tracer.push(
        3,
        "dense head and final normalisation: the embedding",
        if model.skip() {
            "e_u = (G₂·ReLU(G₁·h_u + g₁) + g₂ + h⁰_u) / ‖·‖"
        } else {
            "e_u = (G₂·ReLU(G₁·h_u + g₁) + g₂) / ‖·‖"
        },
        out.dims().to_vec(),
        &out,
    )?;
    let embedding = out.clone().try_into_vec_as::<f32>().map_err(|e| ExplainError::Device(format!("{e:?}")))?;
    let reference =
        model.forward(&block).try_into_vec_as::<f32>().map_err(|e| ExplainError::Device(format!("{e:?}")))?;
    let forward_diff = embedding.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);

    let s1_len = host.layers[0].self_idx.len();
    let hops = [vec![pin], host.input_nodes[1..s1_len].to_vec(), host.input_nodes[s1_len..].to_vec()];
    let neighbours =
        nb.ids_of(pin).iter().copied().zip(nb.weights_of(pin).iter().copied()).filter(|&(_, w)| w > 0.0).collect();
    Ok(ConvolveTrace { pin, steps: tracer.steps, hops, neighbours, embedding, forward_diff })
}

fn sup(l: usize) -> &'static str {
    ["⁰", "¹", "²", "³"][l.min(3)]
}

/// The steps recorded so far.
#[derive(Default)]
struct Tracer {
    steps: Vec<TraceStep>,
}

impl Tracer {
    /// Records one operation: its layer, what it does, its formula, its shape and a glimpse of `t`.
    fn push(
        &mut self,
        layer: usize,
        op: &str,
        formula: &str,
        shape: Vec<usize>,
        t: &Tensor<2>,
    ) -> Result<(), ExplainError> {
        let (glimpse, row_norm) = row0(t)?;
        self.steps.push(TraceStep { layer, op: op.into(), formula: formula.into(), shape, glimpse, row_norm });
        Ok(())
    }
}

/// One convolve layer (0 or 1) of Algorithm 1 on `h`, step by step; returns the layer's output.
fn trace_layer(
    tracer: &mut Tracer,
    model: &PinSage,
    idx: &LayerIndex,
    h: Tensor<2>,
    layer: usize,
) -> Result<Tensor<2>, ExplainError> {
    let l = layer + 1;
    let (q, w) = model.layer_transforms(layer);
    let [t, k] = idx.weights.dims();
    let messages = relu(q.forward(h.clone()));
    let d = messages.dims()[1];
    tracer.push(
        l,
        "transform every node of the previous layer into a message",
        "m_v = ReLU(Q·h_v + q)",
        messages.dims().to_vec(),
        &messages,
    )?;
    let gathered = messages.select(0, idx.nbr_idx.clone()).reshape([t, k, d]);
    let first_nbr = gathered.clone().slice([0..1, 0..1, 0..d]).reshape([1, d]);
    tracer.push(
        l,
        &format!("gather each of the {t} targets' K = {k} neighbour messages (first neighbour shown)"),
        "M_u = [m_v for v in N(u)]",
        vec![t, k, d],
        &first_nbr,
    )?;
    let weights = idx.weights.clone();
    tracer.push(
        l,
        "importance weights α (normalised visit counts)",
        "α_uv = visits(v) / Σ visits",
        vec![t, k],
        &weights,
    )?;
    let pooled = pool(model.pooling(), gathered, weights);
    let gamma = match model.pooling() {
        crate::model::Pooling::Importance => "n_u = Σ_v α_uv · m_v (importance pooling)",
        crate::model::Pooling::Mean => "n_u = mean_v m_v (mean pooling)",
        crate::model::Pooling::Max => "n_u = max_v m_v (max pooling)",
    };
    tracer.push(l, "pool the neighbourhood", gamma, pooled.dims().to_vec(), &pooled)?;
    let own = h.select(0, idx.self_idx.clone());
    let concat = Tensor::cat(vec![own, pooled], 1);
    tracer.push(
        l,
        "concatenate each target's own vector with its pooled neighbourhood",
        "c_u = [h_u ‖ n_u]",
        concat.dims().to_vec(),
        &concat,
    )?;
    let z = relu(w.forward(concat));
    tracer.push(l, "combine", "z_u = ReLU(W·c_u + w)", z.dims().to_vec(), &z)?;
    let zn = l2_normalise(z);
    tracer.push(
        l,
        &format!("normalise: h{} of the {t} targets of this layer", sup(l)),
        "h_u = z_u / ‖z_u‖",
        zn.dims().to_vec(),
        &zn,
    )?;
    Ok(zn)
}
