//! The curriculum view's computation: one query's positives and negatives (shared random and
//! hard, by epoch) with their scores and losses under a model, and the embeddings it scores with.

use std::sync::Arc;

use rand::RngExt;

use super::ExplainError;
use crate::graph::Graph;
use crate::infer::{Embeddings, embed_all};
use crate::sampler::{HardPools, epoch_pairs, hard_per_query};
use crate::train::TrainConfig;
use crate::train::bundle::ModelBundle;
use crate::walk::neighbourhoods;

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
