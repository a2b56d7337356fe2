//! Computations behind the teaching views, returning plain data: Algorithm 1 traced step by step
//! (shapes and values of every intermediate tensor), the curriculum's negatives and their losses
//! under the current model, and importance vs uniform pooling of one neighbourhood.
//!
//! Nothing here knows egui; the views ask for these through background jobs.

use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::activation::relu;
use rand::RngExt;

use crate::graph::Graph;
use crate::infer::{Embeddings, embed_all};
use crate::model::{PinSage, l2_normalise, pool};
use crate::sampler::{HardPools, NodeSet, build_block, epoch_pairs, hard_per_query, try_node_neighbourhoods};
use crate::train::bundle::ModelBundle;
use crate::train::{TrainConfig, block_tensors};
use crate::walk::{WalkConfig, neighbourhoods, uniform_neighbourhoods};

/// Why an explanation could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("pin {pin} is not in the graph ({n_pins} pins)")]
    NoSuchPin { pin: u32, n_pins: u32 },
    #[error("the model does not match the graph: {0}")]
    Mismatch(String),
    #[error("the device failed: {0}")]
    Device(String),
    #[error(transparent)]
    Memory(#[from] crate::memory::OutOfMemory),
}

/// A freshly initialised (untrained) model for `g` on the CPU, with its neighbourhoods; fails
/// when they would not fit the memory budget.
pub fn untrained_bundle(g: &Graph, config: &TrainConfig) -> Result<ModelBundle, ExplainError> {
    let device = Device::flex();
    crate::memory::check(crate::train::model_bytes(config, g, false), "the untrained model")?;
    let model = config.model_config(g).init(&device);
    let nb = Arc::new(try_node_neighbourhoods(g, config.neighbourhood, &config.walk)?);
    Ok(ModelBundle {
        config: config.clone(),
        model,
        neighbourhoods: nb,
        device,
        embeddings: None,
        origin: "untrained (random weights)".into(),
    })
}

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
    let mut steps = Vec::new();
    let mut push =
        |layer: usize, op: &str, formula: &str, shape: Vec<usize>, t: &Tensor<2>| -> Result<(), ExplainError> {
            let (glimpse, row_norm) = row0(t)?;
            steps.push(TraceStep { layer, op: op.into(), formula: formula.into(), shape, glimpse, row_norm });
            Ok(())
        };

    let h0 = model.input(block.input_nodes.clone(), block.input_features.clone());
    let input_formula = match (g.features.is_some(), bundle.config.id_embedding) {
        (true, true) => "h⁰ = E[id] + P·x (id embedding + projected visual features)",
        (true, false) => "h⁰ = P·x (projected visual features)",
        _ => "h⁰ = E[id] (learned id embedding)",
    };
    push(
        0,
        &format!("input representation of all {} nodes of S⁰", host.input_nodes.len()),
        input_formula,
        h0.dims().to_vec(),
        &h0,
    )?;

    let mut h = h0.clone();
    for layer in 0..2 {
        let idx = &block.layers[layer];
        let l = layer + 1;
        let (q, w) = model.layer_transforms(layer);
        let [t, k] = idx.weights.dims();
        let messages = relu(q.forward(h.clone()));
        let d = messages.dims()[1];
        push(
            l,
            "transform every node of the previous layer into a message",
            "m_v = ReLU(Q·h_v + q)",
            messages.dims().to_vec(),
            &messages,
        )?;
        let gathered = messages.select(0, idx.nbr_idx.clone()).reshape([t, k, d]);
        let first_nbr = gathered.clone().slice([0..1, 0..1, 0..d]).reshape([1, d]);
        push(
            l,
            &format!("gather each of the {t} targets' K = {k} neighbour messages (first neighbour shown)"),
            "M_u = [m_v for v in N(u)]",
            vec![t, k, d],
            &first_nbr,
        )?;
        let weights = idx.weights.clone();
        push(l, "importance weights α (normalised visit counts)", "α_uv = visits(v) / Σ visits", vec![t, k], &weights)?;
        let pooled = pool(model.pooling(), gathered, weights);
        let gamma = match model.pooling() {
            crate::model::Pooling::Importance => "n_u = Σ_v α_uv · m_v (importance pooling)",
            crate::model::Pooling::Mean => "n_u = mean_v m_v (mean pooling)",
            crate::model::Pooling::Max => "n_u = max_v m_v (max pooling)",
        };
        push(l, "pool the neighbourhood", gamma, pooled.dims().to_vec(), &pooled)?;
        let own = h.select(0, idx.self_idx.clone());
        let concat = Tensor::cat(vec![own, pooled], 1);
        push(
            l,
            "concatenate each target's own vector with its pooled neighbourhood",
            "c_u = [h_u ‖ n_u]",
            concat.dims().to_vec(),
            &concat,
        )?;
        let z = relu(w.forward(concat));
        push(l, "combine", "z_u = ReLU(W·c_u + w)", z.dims().to_vec(), &z)?;
        let zn = l2_normalise(z);
        push(
            l,
            &format!("normalise: h{} of the {t} targets of this layer", sup(l)),
            "h_u = z_u / ‖z_u‖",
            zn.dims().to_vec(),
            &zn,
        )?;
        h = zn;
    }
    let out = model.head(h, || PinSage::targets_input(&block, h0));
    push(
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
    Ok(ConvolveTrace { pin, steps, hops, neighbours, embedding, forward_diff })
}

fn sup(l: usize) -> &'static str {
    ["⁰", "¹", "²", "³"][l.min(3)]
}

/// Why a negative was drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegativeKind {
    /// Uniform over all pins, shared by the batch.
    Random,
    /// From the query's hard band (pins ranked `band` by Personalized PageRank).
    Hard,
}

/// One negative of the query and what the current model makes of it.
#[derive(Clone, Debug, PartialEq)]
pub struct NegativeInfo {
    pub pin: u32,
    pub kind: NegativeKind,
    /// z_q · z_n.
    pub score: f32,
    /// 1-based rank of the score among all pins' scores for the query (1 = most similar).
    pub rank: usize,
    /// max(0, z_q·z_n − z_q·z_p + Δ).
    pub loss: f32,
}

/// The curriculum at one epoch for one query, scored by the current model.
#[derive(Clone, Debug, PartialEq)]
pub struct CurriculumSnapshot {
    pub query: u32,
    pub epoch: usize,
    pub positive: u32,
    pub positive_score: f32,
    pub margin: f32,
    pub band: (usize, usize),
    /// Hard negatives per query at this epoch (the curriculum's n − 1, capped).
    pub hard_per_query: usize,
    pub negatives: Vec<NegativeInfo>,
    /// The query's score against every pin (the distribution the negatives fall in).
    pub scores: Vec<f32>,
}

impl CurriculumSnapshot {
    /// Mean max-margin loss of the negatives of one kind (None if there are none).
    pub fn mean_loss(&self, kind: NegativeKind) -> Option<f32> {
        let v: Vec<f32> = self.negatives.iter().filter(|n| n.kind == kind).map(|n| n.loss).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f32>() / v.len() as f32)
    }
}

/// Embeddings of every node under `bundle` (its own if it has them, else computed layer-wise).
pub fn bundle_embeddings(bundle: &ModelBundle, g: &Graph) -> Result<Arc<Embeddings>, ExplainError> {
    if let Some(e) = &bundle.embeddings {
        return Ok(e.clone());
    }
    embed_all(
        &bundle.model,
        &bundle.neighbourhoods,
        g.features.as_ref(),
        &bundle.device,
        crate::defaults::INFER_CHUNK,
        |_, _| {},
    )
    .map(Arc::new)
    .map_err(|e| ExplainError::Device(e.to_string()))
}

/// Which negatives `query` meets at `epoch` and their losses under the embeddings `emb`.
///
/// The positive is the query's pair in that epoch's shuffled pairs (as the trainer draws them), or
/// its most-visited neighbour when the epoch has no pair for it. `n_random` random negatives are
/// drawn uniformly; the hard ones come from `pools` as in `sampler::fill_triplets`.
pub fn curriculum_snapshot(
    g: &Graph,
    emb: &Embeddings,
    pools: &HardPools,
    config: &TrainConfig,
    query: u32,
    epoch: usize,
    n_random: usize,
) -> Result<CurriculumSnapshot, ExplainError> {
    if query >= g.n_pins() {
        return Err(ExplainError::NoSuchPin { pin: query, n_pins: g.n_pins() });
    }
    if emb.n_pins != g.n_pins() as usize || emb.n_nodes() != (g.n_pins() + g.n_boards()) as usize {
        return Err(ExplainError::Mismatch(format!(
            "embeddings of {} nodes for a graph of {} pins",
            emb.n_nodes(),
            g.n_pins()
        )));
    }
    let positive = epoch_pairs(g, config.pair_sampling, config.board_query_share, config.seed, epoch)
        .iter()
        .find(|&&(q, _)| q == query)
        .map(|&(_, p)| p)
        .or_else(|| {
            let (nb, _) = neighbourhoods(g, &[query], &config.walk);
            nb.of(0).0.first().copied()
        })
        .unwrap_or(query);
    let scores: Vec<f32> = (0..g.n_pins()).map(|p| emb.dot(query, p)).collect();
    let positive_score = scores[positive as usize];
    let mut sorted = scores.clone();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    let rank_of = |s: f32| sorted.partition_point(|&x| x > s) + 1;
    let margin = config.margin;
    // The same stream as the trainer's batch `query` of this epoch.
    let mut rng = crate::sampler::batch_rng(config.seed, epoch, query as usize);
    let mut negatives = Vec::new();
    let mut add = |pin: u32, kind| {
        let score = scores[pin as usize];
        negatives.push(NegativeInfo {
            pin,
            kind,
            score,
            rank: rank_of(score),
            loss: (score - positive_score + margin).max(0.0),
        });
    };
    for _ in 0..n_random {
        add(rng.random_range(0..g.n_pins()), NegativeKind::Random);
    }
    // The paper's curriculum, whatever the run itself used.
    let h = hard_per_query(epoch, true, config.max_hard_per_query);
    let pool = pools.of(query);
    for _ in 0..h {
        let c = pool[rng.random_range(0..pool.len())];
        add(if c == u32::MAX { rng.random_range(0..g.n_pins()) } else { c }, NegativeKind::Hard);
    }
    Ok(CurriculumSnapshot {
        query,
        epoch,
        positive,
        positive_score,
        margin,
        band: pools.band,
        hard_per_query: h,
        negatives,
        scores,
    })
}

/// The vectors the pooling view pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PoolSpace {
    /// Each pin as its set of boards (every graph has these).
    #[default]
    Boards,
    /// The graph's per-pin features (the default graph's colours).
    Features,
    /// The current model's embeddings.
    Embeddings,
}

impl PoolSpace {
    pub fn title(self) -> &'static str {
        match self {
            PoolSpace::Boards => "board memberships",
            PoolSpace::Features => "visual features",
            PoolSpace::Embeddings => "model embeddings",
        }
    }
}

/// One pooled neighbourhood: who is in it, with which weight, and what the pooled vector resembles.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pooled {
    /// (pin, weight), by weight descending.
    pub weights: Vec<(u32, f32)>,
    /// The pins most similar to the pooled vector (the pin itself excluded), with their similarity.
    pub related: Vec<(u32, f32)>,
    /// How many of `related` share the pin's category (when the graph has categories).
    pub same_category: Option<usize>,
}

/// The same pin's neighbourhood pooled by importance and uniformly.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolingComparison {
    pub pin: u32,
    pub space: PoolSpace,
    pub importance: Pooled,
    pub uniform: Pooled,
}

/// Pools `pin`'s importance (walk) and uniform (GraphSAGE) neighbourhoods in `space` and finds the
/// `n_related` pins nearest each pooled vector (cosine for boards and embeddings, Euclidean for
/// features, which are colours).
pub fn pooling_comparison(
    g: &Graph,
    pin: u32,
    walk: &WalkConfig,
    space: PoolSpace,
    embeddings: Option<&Embeddings>,
    n_related: usize,
) -> Result<PoolingComparison, ExplainError> {
    if pin >= g.n_pins() {
        return Err(ExplainError::NoSuchPin { pin, n_pins: g.n_pins() });
    }
    let (imp, _) = neighbourhoods(g, &[pin], walk);
    let uni = uniform_neighbourhoods(g, &[pin], walk.top_k, walk.seed);
    let as_pairs = |nb: &crate::walk::Neighbourhoods| -> Vec<(u32, f32)> {
        let (ids, w, _) = nb.of(0);
        let mut v: Vec<(u32, f32)> = ids.iter().copied().zip(w.iter().copied()).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let (wi, wu) = (as_pairs(&imp), as_pairs(&uni));
    let similar = |weights: &[(u32, f32)]| -> Result<Vec<(u32, f32)>, ExplainError> {
        let sims: Vec<f32> = match space {
            PoolSpace::Boards => {
                let mut pooled = vec![0f32; g.n_boards() as usize];
                for &(v, a) in weights {
                    let bs = g.boards_of(v);
                    let s = a / (bs.len().max(1) as f32).sqrt();
                    for &b in bs {
                        pooled[b as usize] += s;
                    }
                }
                let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                (0..g.n_pins())
                    .map(|u| {
                        let bs = g.boards_of(u);
                        bs.iter().map(|&b| pooled[b as usize]).sum::<f32>() / (norm * (bs.len().max(1) as f32).sqrt())
                    })
                    .collect()
            }
            PoolSpace::Features => {
                let f =
                    g.features.as_ref().ok_or_else(|| ExplainError::Mismatch("the graph has no features".into()))?;
                let mut pooled = vec![0f32; f.dim];
                for &(v, a) in weights {
                    for (p, x) in pooled.iter_mut().zip(f.row(v)) {
                        *p += a * x;
                    }
                }
                (0..g.n_pins())
                    .map(|u| -f.row(u).iter().zip(&pooled).map(|(x, p)| (x - p) * (x - p)).sum::<f32>().sqrt())
                    .collect()
            }
            PoolSpace::Embeddings => {
                let e = embeddings.ok_or_else(|| {
                    ExplainError::Mismatch("no embeddings yet (train a model and run inference)".into())
                })?;
                if e.n_pins != g.n_pins() as usize {
                    return Err(ExplainError::Mismatch("the embeddings belong to another graph".into()));
                }
                let mut pooled = vec![0f32; e.dim];
                for &(v, a) in weights {
                    for (p, x) in pooled.iter_mut().zip(e.row(v)) {
                        *p += a * x;
                    }
                }
                let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                (0..g.n_pins()).map(|u| e.row(u).iter().zip(&pooled).map(|(x, p)| x * p).sum::<f32>() / norm).collect()
            }
        };
        let mut order: Vec<u32> = (0..g.n_pins()).filter(|&u| u != pin).collect();
        order.sort_by(|&a, &b| sims[b as usize].total_cmp(&sims[a as usize]).then(a.cmp(&b)));
        Ok(order.into_iter().take(n_related).map(|u| (u, sims[u as usize])).collect())
    };
    let same = |related: &[(u32, f32)]| {
        g.categories
            .as_ref()
            .map(|c| related.iter().filter(|(u, _)| c.of_pin[*u as usize] == c.of_pin[pin as usize]).count())
    };
    let ri = similar(&wi)?;
    let ru = similar(&wu)?;
    Ok(PoolingComparison {
        pin,
        space,
        importance: Pooled { same_category: same(&ri), related: ri, weights: wi },
        uniform: Pooled { same_category: same(&ru), related: ru, weights: wu },
    })
}

/// Every step of the animated walks of one pin, with a radial layout of the pins they reach.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WalkReplay {
    pub pin: u32,
    pub cfg: WalkConfig,
    /// All T × L pin-steps, in order (empty when the pin has no boards).
    pub steps: Vec<crate::walk::WalkStep>,
    /// Position in [-1, 1]² of every pin the walks reach (and of the start, at the origin): ring r
    /// holds the pins r pin-steps away, each near the pin it was first reached from.
    pub positions: std::collections::HashMap<u32, [f32; 2]>,
    /// BFS parent of each reached pin (for drawing the tree of first discoveries).
    pub parents: std::collections::HashMap<u32, u32>,
    /// How many rings the layout has.
    pub rings: u32,
}

/// Records the walks of `pin` step by step ([`crate::walk::WalkAnimation`]) and lays out the pins
/// they reach.
pub fn walk_replay(g: &Graph, pin: u32, cfg: &WalkConfig) -> Result<WalkReplay, ExplainError> {
    use std::collections::{HashMap, HashSet};
    if pin >= g.n_pins() {
        return Err(ExplainError::NoSuchPin { pin, n_pins: g.n_pins() });
    }
    cfg.validate().map_err(|e| ExplainError::Mismatch(e.to_string()))?;
    let mut anim = crate::walk::WalkAnimation::new(g, pin, cfg.clone());
    let mut steps = Vec::with_capacity(cfg.walks as usize * cfg.length as usize);
    while let Some(s) = anim.advance(g) {
        steps.push(s);
    }
    let visited: HashSet<u32> = steps.iter().map(|s| s.pin).chain([pin]).collect();
    // BFS over pin → board → pin, restricted to pins the walks reached (their paths stay inside).
    let mut ring_of: HashMap<u32, u32> = HashMap::from([(pin, 0)]);
    let mut parents = HashMap::new();
    let mut frontier = vec![pin];
    let mut rings: Vec<Vec<u32>> = vec![vec![pin]];
    while !frontier.is_empty() {
        let r = rings.len() as u32;
        let mut next = Vec::new();
        for &p in &frontier {
            for &b in g.boards_of(p) {
                for &v in g.pins_of(b) {
                    if visited.contains(&v) && !ring_of.contains_key(&v) {
                        ring_of.insert(v, r);
                        parents.insert(v, p);
                        next.push(v);
                    }
                }
            }
        }
        if !next.is_empty() {
            rings.push(next.clone());
        }
        frontier = next;
    }
    let n_rings = rings.len().saturating_sub(1) as u32;
    let mut positions: HashMap<u32, [f32; 2]> = HashMap::from([(pin, [0.0, 0.0])]);
    let mut angle: HashMap<u32, f32> = HashMap::from([(pin, 0.0)]);
    for (r, ring) in rings.iter().enumerate().skip(1) {
        let mut ring = ring.clone();
        ring.sort_by(|a, b| angle[&parents[a]].total_cmp(&angle[&parents[b]]).then(a.cmp(b)));
        let radius = r as f32 / n_rings.max(1) as f32;
        let n = ring.len() as f32;
        for (i, &v) in ring.iter().enumerate() {
            let a = (i as f32 + 0.5) / n * std::f32::consts::TAU;
            angle.insert(v, a);
            positions.insert(v, [radius * a.cos(), radius * a.sin()]);
        }
    }
    Ok(WalkReplay { pin, cfg: cfg.clone(), steps, positions, parents, rings: n_rings })
}

/// How far visit-count estimates are from the exact distributions, as the number of walks grows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WalkErrorCurve {
    /// Exact Personalized PageRank of the pin (start excluded, renormalised).
    pub ppr: Vec<f64>,
    /// (walks T, L1 distance of normalised counts to the exact PPR).
    pub vs_ppr: Vec<(u32, f64)>,
    /// (walks T, L1 distance to the exact expected visits of length-L walks — the unbiased target).
    pub vs_expected: Vec<(u32, f64)>,
}

/// The error of the estimate from 1 … `max_walks` walks (log-spaced), against PPR and the exact
/// expectation of the finite-length walk.
pub fn walk_error_curve(g: &Graph, pin: u32, cfg: &WalkConfig, max_walks: u32) -> Result<WalkErrorCurve, ExplainError> {
    if pin >= g.n_pins() {
        return Err(ExplainError::NoSuchPin { pin, n_pins: g.n_pins() });
    }
    let ppr = crate::walk::personalized_pagerank(g, pin, cfg.restart, 1e-10);
    let expected = crate::walk::expected_visits(g, pin, cfg.length, cfg.restart);
    let mut ts: Vec<u32> = Vec::new();
    let mut t = 1.0f64;
    while (t as u32) <= max_walks.max(1) {
        let v = t.round() as u32;
        if ts.last() != Some(&v) {
            ts.push(v);
        }
        t *= 1.5;
    }
    let mut vs_ppr = Vec::new();
    let mut vs_expected = Vec::new();
    for &t in &ts {
        let c = crate::walk::visit_counts(g, pin, &WalkConfig { walks: t, ..cfg.clone() });
        let est = crate::walk::normalise(&c);
        vs_ppr.push((t, crate::walk::l1(&est, &ppr)));
        vs_expected.push((t, crate::walk::l1(&est, &expected)));
    }
    Ok(WalkErrorCurve { ppr, vs_ppr, vs_expected })
}

/// A node of an ego-network slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EgoNode {
    Pin(u32),
    Board(u32),
}

/// A bounded slice of the graph around one pin: breadth-first over pin → boards → pins → …, at
/// most `max_nodes` nodes, every edge between included nodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EgoSlice {
    pub centre: u32,
    pub nodes: Vec<EgoNode>,
    /// Breadth-first depth of each node (0 = the centre pin, 1 = its boards, 2 = co-pinned pins, …).
    pub depth: Vec<u8>,
    /// Edges as indices into `nodes` (pin index, board index).
    pub edges: Vec<(u32, u32)>,
    /// Whether the slice stopped at `max_nodes` before covering the connected component.
    pub truncated: bool,
}

/// The ego network of `centre` up to `max_nodes` nodes. A single node expands into at most an
/// eighth of the budget, so one huge board cannot take the whole picture.
pub fn ego_slice(g: &Graph, centre: u32, max_nodes: usize) -> Result<EgoSlice, ExplainError> {
    use std::collections::HashMap;
    if centre >= g.n_pins() {
        return Err(ExplainError::NoSuchPin { pin: centre, n_pins: g.n_pins() });
    }
    let max_nodes = max_nodes.max(2);
    let per_node = (max_nodes / 8).max(8);
    let mut index: HashMap<EgoNode, u32> = HashMap::new();
    let mut nodes = vec![EgoNode::Pin(centre)];
    let mut depth = vec![0u8];
    index.insert(EgoNode::Pin(centre), 0);
    let mut head = 0;
    let mut truncated = false;
    while head < nodes.len() {
        let (node, d) = (nodes[head], depth[head]);
        head += 1;
        let nbrs: Vec<EgoNode> = match node {
            EgoNode::Pin(p) => g.boards_of(p).iter().map(|&b| EgoNode::Board(b)).collect(),
            EgoNode::Board(b) => g.pins_of(b).iter().map(|&p| EgoNode::Pin(p)).collect(),
        };
        let mut added = 0;
        for v in nbrs {
            if index.contains_key(&v) {
                continue;
            }
            if nodes.len() >= max_nodes || added >= per_node {
                truncated = true;
                break;
            }
            index.insert(v, nodes.len() as u32);
            nodes.push(v);
            depth.push(d.saturating_add(1));
            added += 1;
        }
    }
    // Boards beyond the centre's own that touch a single pin of the slice only add clutter.
    let degree_in = |n: &EgoNode| match n {
        EgoNode::Board(b) => g.pins_of(*b).iter().filter(|&&p| index.contains_key(&EgoNode::Pin(p))).count(),
        EgoNode::Pin(_) => usize::MAX,
    };
    let keep: Vec<bool> = nodes.iter().zip(&depth).map(|(n, &d)| d <= 1 || degree_in(n) >= 2).collect();
    if keep.iter().any(|k| !k) {
        let (mut kept_nodes, mut kept_depth) = (Vec::new(), Vec::new());
        for ((n, d), k) in nodes.iter().zip(&depth).zip(&keep) {
            if *k {
                kept_nodes.push(*n);
                kept_depth.push(*d);
            }
        }
        nodes = kept_nodes;
        depth = kept_depth;
        index = nodes.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
    }
    let mut edges = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if let EgoNode::Pin(p) = n {
            for &b in g.boards_of(*p) {
                if let Some(&j) = index.get(&EgoNode::Board(b)) {
                    edges.push((i as u32, j));
                }
            }
        }
    }
    Ok(EgoSlice { centre, nodes, depth, edges, truncated })
}
