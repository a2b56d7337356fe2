//! Evaluation: the LightGCN all-ranking protocol (recall@20, ndcg@20 per test board, training pins
//! masked) and the paper's pin-to-pin protocol (hit rate and MRR of held-out co-board pins), for
//! trained embeddings and for the MostPopular and visual-only baselines.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::graph::{Graph, Split};
use crate::infer::Embeddings;

pub use crate::defaults::{HIT_K, MAX_PIN_PAIRS};

/// Scores candidates for a query: a board (ranking pins for it) or a pin (related pins).
pub trait Scorer: Sync {
    /// Scores of every pin for `board`, written into `out` (len = pins).
    fn board_scores(&self, board: u32, out: &mut [f32]);
    /// Scores of every pin for the query pin.
    fn pin_scores(&self, pin: u32, out: &mut [f32]);
}

/// Dot products of trained unit embeddings.
pub struct EmbeddingScorer<'a> {
    pub emb: &'a Embeddings,
}

fn dot_all(query: &[f32], pins: &[f32], dim: usize, out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(pins.chunks_exact(dim)) {
        *o = query.iter().zip(row).map(|(a, b)| a * b).sum();
    }
}

impl Scorer for EmbeddingScorer<'_> {
    fn board_scores(&self, board: u32, out: &mut [f32]) {
        let node = self.emb.n_pins as u32 + board;
        dot_all(self.emb.row(node), self.emb.pins(), self.emb.dim, out);
    }
    fn pin_scores(&self, pin: u32, out: &mut [f32]) {
        dot_all(self.emb.row(pin), self.emb.pins(), self.emb.dim, out);
    }
}

/// MostPopular: every query gets the pins with the most training boards.
pub struct PopularityScorer {
    degree: Vec<f32>,
}

impl PopularityScorer {
    pub fn new(g: &Graph) -> Self {
        PopularityScorer { degree: (0..g.n_pins()).map(|p| g.pin_boards().degree(p) as f32).collect() }
    }
}

impl Scorer for PopularityScorer {
    fn board_scores(&self, _board: u32, out: &mut [f32]) {
        out.copy_from_slice(&self.degree);
    }
    fn pin_scores(&self, _pin: u32, out: &mut [f32]) {
        out.copy_from_slice(&self.degree);
    }
}

/// Visual only: cosine of raw features; a board is the mean of its pins' unit features.
pub struct VisualScorer<'a> {
    g: &'a Graph,
    unit: Vec<f32>,
    dim: usize,
}

impl<'a> VisualScorer<'a> {
    /// None when the graph has no features.
    pub fn new(g: &'a Graph) -> Option<Self> {
        let f = g.features.as_ref()?;
        let mut unit = f.data.clone();
        for row in unit.chunks_exact_mut(f.dim) {
            let n = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|x| *x /= n);
        }
        Some(VisualScorer { g, unit, dim: f.dim })
    }
}

impl Scorer for VisualScorer<'_> {
    fn board_scores(&self, board: u32, out: &mut [f32]) {
        let mut q = vec![0f32; self.dim];
        for &p in self.g.pins_of(board) {
            let r = &self.unit[p as usize * self.dim..(p as usize + 1) * self.dim];
            q.iter_mut().zip(r).for_each(|(a, b)| *a += b);
        }
        dot_all(&q, &self.unit, self.dim, out);
    }
    fn pin_scores(&self, pin: u32, out: &mut [f32]) {
        let q = self.unit[pin as usize * self.dim..(pin as usize + 1) * self.dim].to_vec();
        dot_all(&q, &self.unit, self.dim, out);
    }
}

/// Results of both protocols. JSON keys follow the papers' names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(rename = "recall@20")]
    pub recall_at_20: f64,
    #[serde(rename = "ndcg@20")]
    pub ndcg_at_20: f64,
    /// Boards with at least one test pin (the LightGCN protocol's denominator).
    pub boards_evaluated: usize,
    /// Share of held-out co-board pins ranked within the top `hit_k` for their query pin.
    pub hit_rate: f64,
    pub hit_k: usize,
    /// Mean reciprocal rank, 1/rank.
    pub mrr: f64,
    /// The paper's scaled MRR, 1/⌈rank/100⌉.
    pub mrr_scaled: f64,
    pub pairs_evaluated: usize,
    /// What the pin-to-pin candidates are.
    pub candidates: String,
    /// Which held-out edges these numbers are on.
    #[serde(default)]
    pub split: Split,
}

/// Recall@k and NDCG@k exactly as LightGCN computes them for one board: recall = hits/|test|,
/// binary gains, ideal DCG over min(|test|, k). `ranked` is the top-k list, best first.
pub fn recall_ndcg(ranked: &[u32], test: &[u32], k: usize) -> (f64, f64) {
    if test.is_empty() {
        return (0.0, 0.0);
    }
    let mut hits = 0usize;
    let mut dcg = 0.0;
    for (i, p) in ranked.iter().take(k).enumerate() {
        if test.contains(p) {
            hits += 1;
            dcg += 1.0 / ((i + 2) as f64).log2();
        }
    }
    let idcg: f64 = (0..test.len().min(k)).map(|i| 1.0 / ((i + 2) as f64).log2()).sum();
    (hits as f64 / test.len() as f64, dcg / idcg)
}

/// Top-k indices of `scores`, best first, ties to the smaller id, skipping -inf.
pub fn top_k(scores: &[f32], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..scores.len() as u32).filter(|&i| scores[i as usize] > f32::NEG_INFINITY).collect();
    let cmp = |a: &u32, b: &u32| scores[*b as usize].total_cmp(&scores[*a as usize]).then(a.cmp(b));
    if idx.len() > k {
        idx.select_nth_unstable_by(k, cmp);
        idx.truncate(k);
    }
    idx.sort_unstable_by(cmp);
    idx
}

/// The LightGCN protocol on the test edges: every board with test pins ranks all pins, its
/// training (and validation) pins masked. Returns (recall@k, ndcg@k, boards evaluated).
pub fn ranking_metrics(g: &Graph, scorer: &dyn Scorer, k: usize) -> (f64, f64, usize) {
    ranking_metrics_on(g, scorer, k, Split::Test)
}

/// The LightGCN protocol on `split`'s held-out edges, the pins known for that split masked
/// (`Graph::known_pins_of`).
pub fn ranking_metrics_on(g: &Graph, scorer: &dyn Scorer, k: usize, split: Split) -> (f64, f64, usize) {
    let boards: Vec<u32> = (0..g.n_boards()).filter(|&b| !g.held_out_pins_of(b, split).is_empty()).collect();
    let (r, n) = boards
        .par_iter()
        .map_init(
            || (vec![0f32; g.n_pins() as usize], Vec::new()),
            |(scores, known), &b| {
                scorer.board_scores(b, scores);
                g.known_pins_of(b, split, known);
                for &p in known.iter() {
                    scores[p as usize] = f32::NEG_INFINITY;
                }
                recall_ndcg(&top_k(scores, k), g.held_out_pins_of(b, split), k)
            },
        )
        .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    let m = boards.len().max(1) as f64;
    (r / m, n / m, boards.len())
}

/// Held-out pin pairs: for each test edge (board, t), a random training pin q of the same board;
/// at most `max_pairs`, deterministic for `seed`.
pub fn pin_pairs(g: &Graph, max_pairs: usize, seed: u64) -> Vec<(u32, u32)> {
    pin_pairs_on(g, max_pairs, seed, Split::Test)
}

/// [`pin_pairs`] from `split`'s held-out edges.
pub fn pin_pairs_on(g: &Graph, max_pairs: usize, seed: u64, split: Split) -> Vec<(u32, u32)> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut pairs = Vec::new();
    for b in 0..g.n_boards() {
        let train = g.pins_of(b);
        if train.is_empty() {
            continue;
        }
        for &t in g.held_out_pins_of(b, split) {
            let q = train[rng.random_range(0..train.len())];
            if q != t {
                pairs.push((q, t));
            }
        }
    }
    if pairs.len() > max_pairs {
        for i in 0..max_pairs {
            let j = rng.random_range(i..pairs.len());
            pairs.swap(i, j);
        }
        pairs.truncate(max_pairs);
    }
    pairs
}

/// Rank (1-based) of each pair's target among all pins except the query, by the query's scores.
pub fn pair_ranks(g: &Graph, scorer: &dyn Scorer, pairs: &[(u32, u32)]) -> Vec<usize> {
    pairs
        .par_iter()
        .map_init(
            || vec![0f32; g.n_pins() as usize],
            |scores, &(q, t)| {
                scorer.pin_scores(q, scores);
                let st = scores[t as usize];
                1 + scores.iter().enumerate().filter(|&(p, &s)| p as u32 != q && p as u32 != t && s > st).count()
            },
        )
        .collect()
}

/// Runs both protocols on the test edges.
pub fn evaluate(g: &Graph, scorer: &dyn Scorer, hit_k: usize, max_pairs: usize, seed: u64) -> Metrics {
    evaluate_on(g, scorer, hit_k, max_pairs, seed, Split::Test)
}

/// Runs both protocols on `split`.
pub fn evaluate_on(g: &Graph, scorer: &dyn Scorer, hit_k: usize, max_pairs: usize, seed: u64, split: Split) -> Metrics {
    let (recall, ndcg, boards) = ranking_metrics_on(g, scorer, 20, split);
    let pairs = pin_pairs_on(g, max_pairs, seed, split);
    let ranks = pair_ranks(g, scorer, &pairs);
    let n = ranks.len().max(1) as f64;
    Metrics {
        recall_at_20: recall,
        ndcg_at_20: ndcg,
        boards_evaluated: boards,
        hit_rate: ranks.iter().filter(|&&r| r <= hit_k).count() as f64 / n,
        hit_k,
        mrr: ranks.iter().map(|&r| 1.0 / r as f64).sum::<f64>() / n,
        mrr_scaled: ranks.iter().map(|&r| 1.0 / r.div_ceil(100) as f64).sum::<f64>() / n,
        pairs_evaluated: ranks.len(),
        candidates: format!("all {} pins except the query", g.n_pins()),
        split,
    }
}
