//! The pooling view's computation: one pin's importance (walk) and uniform (GraphSAGE)
//! neighbourhoods pooled over boards, features or embeddings, and the pins nearest each.

use super::ExplainError;
use crate::graph::Graph;
use crate::infer::Embeddings;
use crate::walk::{WalkConfig, neighbourhoods, uniform_neighbourhoods};

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
    let (wi, wu) = (as_pairs(&imp), as_pairs(&uni));
    let similar = |weights: &[(u32, f32)]| -> Result<Vec<(u32, f32)>, ExplainError> {
        let sims = similarities(g, space, weights, embeddings)?;
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

/// A neighbourhood's (pin, weight) pairs, heaviest first.
fn as_pairs(nb: &crate::walk::Neighbourhoods) -> Vec<(u32, f32)> {
    let (ids, w, _) = nb.of(0);
    let mut v: Vec<(u32, f32)> = ids.iter().copied().zip(w.iter().copied()).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Every pin's similarity to the neighbourhood `weights` pooled in `space` (cosine for boards and
/// embeddings, minus the Euclidean distance for features).
fn similarities(
    g: &Graph,
    space: PoolSpace,
    weights: &[(u32, f32)],
    embeddings: Option<&Embeddings>,
) -> Result<Vec<f32>, ExplainError> {
    Ok(match space {
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
            let f = g.features.as_ref().ok_or_else(|| ExplainError::Mismatch("the graph has no features".into()))?;
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
            let e = embeddings
                .ok_or_else(|| ExplainError::Mismatch("no embeddings yet (train a model and run inference)".into()))?;
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
    })
}
