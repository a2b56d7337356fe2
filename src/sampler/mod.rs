//! CPU-side batch construction: node neighbourhoods, training triplets, random and hard negatives
//! (the curriculum), and the two-layer gather plans (Algorithm 1's node sets) the model consumes.
//!
//! Nothing here knows about tensors: batches are plain vectors that the trainer uploads.

mod exclude;
pub use exclude::exclude_positive_edges;

use rand::rngs::SmallRng;
use rand::{Rng, RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::walk::{Neighbourhoods, WalkConfig, all_neighbourhoods, uniform_neighbourhoods};

/// How pin neighbourhoods are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NeighbourhoodKind {
    /// Top-K pins by random-walk visit count, weighted by normalised count (PinSage).
    #[default]
    Walks,
    /// K two-hop pins drawn uniformly, equal weights (GraphSAGE).
    Uniform,
}

crate::named_enum!(NeighbourhoodKind, "neighbourhood" { Walks => "walks", Uniform => "uniform" });

/// How an epoch's positive pairs are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairSampling {
    /// Every training edge once per epoch, shuffled: large boards dominate.
    #[default]
    Edges,
    /// As many draws as edges, each a board drawn uniformly and then one of its pins (LightGCN's
    /// reference sampler): every board weighs the same, as in the per-board recall average.
    Boards,
}

crate::named_enum!(PairSampling, "pair sampling" { Edges => "edges", Boards => "boards" });

/// Every node's neighbourhood in the shared index space (pins, then boards): `k` pin ids and their
/// weights per node, padded with the node's own id and weight 0.
#[derive(Clone, Debug, Default)]
pub struct NodeNeighbourhoods {
    pub k: usize,
    pub n_pins: u32,
    pub ids: Vec<u32>,
    pub weights: Vec<f32>,
}

impl NodeNeighbourhoods {
    pub fn n_nodes(&self) -> usize {
        self.ids.len() / self.k.max(1)
    }
    pub fn ids_of(&self, node: u32) -> &[u32] {
        let s = node as usize * self.k;
        &self.ids[s..s + self.k]
    }
    pub fn weights_of(&self, node: u32) -> &[f32] {
        let s = node as usize * self.k;
        &self.weights[s..s + self.k]
    }
}

/// Bytes [`node_neighbourhoods`] needs at its peak: the pins' walks (or uniform samples), then the
/// table of every node's K ids and weights, grown once while the pins' part is still held.
pub fn node_neighbourhoods_bytes(g: &Graph, kind: NeighbourhoodKind, walk: &WalkConfig) -> u64 {
    let pins = g.n_pins() as usize;
    let walks = match kind {
        NeighbourhoodKind::Walks => crate::walk::neighbourhoods_bytes(g.n_pins(), pins, walk),
        NeighbourhoodKind::Uniform => crate::memory::bytes(pins as u64, 12 * walk.top_k as u64 + 2),
    };
    let table = crate::memory::bytes(g.n_pins() as u64 + g.n_boards() as u64, 8 * walk.top_k as u64);
    walks.saturating_add(table)
}

/// [`node_neighbourhoods`] after checking that it fits the memory budget.
pub fn try_node_neighbourhoods(
    g: &Graph,
    kind: NeighbourhoodKind,
    walk: &WalkConfig,
) -> Result<NodeNeighbourhoods, crate::memory::OutOfMemory> {
    crate::memory::check(
        node_neighbourhoods_bytes(g, kind, walk),
        "building every node's neighbourhood (walk buffers and tables)",
    )?;
    Ok(node_neighbourhoods(g, kind, walk))
}

/// Builds all nodes' neighbourhoods: pins by walks (or uniformly), boards from their own pins
/// (a deterministic sample of K when a board has more), equally weighted.
pub fn node_neighbourhoods(g: &Graph, kind: NeighbourhoodKind, walk: &WalkConfig) -> NodeNeighbourhoods {
    let k = walk.top_k;
    let pins: Vec<u32> = (0..g.n_pins()).collect();
    let nb: Neighbourhoods = match kind {
        NeighbourhoodKind::Walks => all_neighbourhoods(g, walk).0,
        NeighbourhoodKind::Uniform => uniform_neighbourhoods(g, &pins, k, walk.seed),
    };
    let mut ids = nb.ids;
    let mut weights = nb.weights;
    ids.reserve(g.n_boards() as usize * k);
    weights.reserve(g.n_boards() as usize * k);
    let mut rng = SmallRng::seed_from_u64(walk.seed ^ 0xB0A2D);
    let mut chosen = Vec::with_capacity(k);
    for b in 0..g.n_boards() {
        let pins = g.pins_of(b);
        chosen.clear();
        if pins.len() <= k {
            chosen.extend_from_slice(pins);
        } else {
            // Partial Fisher–Yates over a copy: k distinct pins.
            let mut pool = pins.to_vec();
            for i in 0..k {
                let j = rng.random_range(i..pool.len());
                pool.swap(i, j);
            }
            chosen.extend_from_slice(&pool[..k]);
        }
        let w = if chosen.is_empty() { 0.0 } else { 1.0 / chosen.len() as f32 };
        let node = g.n_pins() + b;
        for i in 0..k {
            ids.push(chosen.get(i).copied().unwrap_or(node));
            weights.push(if i < chosen.len() { w } else { 0.0 });
        }
    }
    NodeNeighbourhoods { k, n_pins: g.n_pins(), ids, weights }
}

/// One layer's gathers, relative to the previous layer's rows (see `model::LayerIndex`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostLayer {
    pub self_idx: Vec<u32>,
    pub nbr_idx: Vec<u32>,
    pub weights: Vec<f32>,
    pub k: usize,
}

/// The plan for embedding a set of target nodes with a 2-layer model (Algorithm 1, lines 1–7):
/// input nodes S⁰ ⊇ S¹ ⊇ targets, with the gathers between them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostBlock {
    pub input_nodes: Vec<u32>,
    /// `[input_nodes.len() × feature_dim]`, zeros for boards, when the graph has features.
    pub input_features: Option<Vec<f32>>,
    pub feature_dim: usize,
    pub layers: [HostLayer; 2],
    pub n_targets: usize,
}

/// Dense "node → position" map with generation stamps, reused across batches.
pub struct NodeSet {
    stamp: Vec<u32>,
    pos: Vec<u32>,
    generation: u32,
    pub nodes: Vec<u32>,
}

impl NodeSet {
    pub fn new(n_nodes: usize) -> NodeSet {
        NodeSet { stamp: vec![0; n_nodes], pos: vec![0; n_nodes], generation: 0, nodes: Vec::new() }
    }
    fn clear(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        self.nodes.clear();
    }
    /// Position of `node`, inserting it at the end if new.
    fn insert(&mut self, node: u32) -> u32 {
        let i = node as usize;
        if self.stamp[i] == self.generation {
            return self.pos[i];
        }
        self.stamp[i] = self.generation;
        let p = self.nodes.len() as u32;
        self.pos[i] = p;
        self.nodes.push(node);
        p
    }
}

/// Builds the gather plan for `targets` (which must be distinct). Uses two reusable node sets.
pub fn build_block(
    nb: &NodeNeighbourhoods,
    targets: &[u32],
    features: Option<&crate::graph::Features>,
    sets: &mut [NodeSet; 2],
) -> HostBlock {
    let k = nb.k;
    let [s1, s0] = sets;
    s1.clear();
    for &t in targets {
        s1.insert(t);
    }
    let mut l2 = HostLayer { self_idx: (0..targets.len() as u32).collect(), k, ..HostLayer::default() };
    for &t in targets {
        for &v in nb.ids_of(t) {
            l2.nbr_idx.push(s1.insert(v));
        }
        l2.weights.extend_from_slice(nb.weights_of(t));
    }
    s0.clear();
    for i in 0..s1.nodes.len() {
        s0.insert(s1.nodes[i]);
    }
    let mut l1 = HostLayer { self_idx: (0..s1.nodes.len() as u32).collect(), k, ..HostLayer::default() };
    for i in 0..s1.nodes.len() {
        let u = s1.nodes[i];
        for &v in nb.ids_of(u) {
            l1.nbr_idx.push(s0.insert(v));
        }
        l1.weights.extend_from_slice(nb.weights_of(u));
    }
    let input_features = features.map(|f| {
        let mut out = vec![0f32; s0.nodes.len() * f.dim];
        for (row, &node) in s0.nodes.iter().enumerate() {
            if node < nb.n_pins {
                out[row * f.dim..(row + 1) * f.dim].copy_from_slice(f.row(node));
            }
        }
        out
    });
    HostBlock {
        input_nodes: s0.nodes.clone(),
        input_features,
        feature_dim: features.map_or(0, |f| f.dim),
        layers: [l1, l2],
        n_targets: targets.len(),
    }
}

/// Hard-negative candidates per node, from the rank band of its Personalized-PageRank-like scores
/// (two pin-steps from a pin, one from a board's pins), as in the paper's curriculum.
#[derive(Clone, Debug, Default)]
pub struct HardPools {
    pub per_node: usize,
    /// `[n_nodes × per_node]` pin ids (u32::MAX where a node had too few candidates).
    pub ids: Vec<u32>,
    pub band: (usize, usize),
}

impl HardPools {
    pub fn of(&self, node: u32) -> &[u32] {
        let s = node as usize * self.per_node;
        &self.ids[s..s + self.per_node]
    }
}

/// The default hard band scaled to the graph: the paper's ranks 2000–5000 are 5%–12% of Gowalla's pins.
pub fn default_band(n_pins: u32) -> (usize, usize) {
    let n = n_pins as f64;
    ((n * 0.05).round().max(1.0) as usize, (n * 0.12).round().max(2.0) as usize)
}

/// Scores pins by walk mass from `start` (a distribution over pins) over `steps` ≤ 2 pin-steps,
/// accumulating every step, in the dense scratch `score`; returns the touched pins.
fn spread(
    g: &Graph,
    start: &[(u32, f32)],
    steps: u32,
    score: &mut [f32],
    board_mass: &mut [f32],
    touched: &mut Vec<u32>,
) {
    let mut frontier: Vec<(u32, f32)> = start.to_vec();
    let mut boards_touched: Vec<u32> = Vec::new();
    for _ in 0..steps {
        for &(p, m) in &frontier {
            let bs = g.boards_of(p);
            if bs.is_empty() {
                continue;
            }
            let share = m / bs.len() as f32;
            for &b in bs {
                if board_mass[b as usize] == 0.0 {
                    boards_touched.push(b);
                }
                board_mass[b as usize] += share;
            }
        }
        for &b in &boards_touched {
            let ps = g.pins_of(b);
            let share = board_mass[b as usize] / ps.len() as f32;
            board_mass[b as usize] = 0.0;
            for &p in ps {
                if score[p as usize] == 0.0 {
                    touched.push(p);
                }
                score[p as usize] += share;
            }
        }
        boards_touched.clear();
        // The next frontier is the mass accumulated so far, which equals this step's mass while
        // `steps` ≤ 2 (the only uses: the start pin itself is never a touched pin's score).
        frontier.clear();
        frontier.extend(touched.iter().map(|&p| (p, score[p as usize])));
    }
}

/// Precomputes hard-negative pools for every node (pins and boards) in parallel.
pub fn hard_pools(g: &Graph, band: (usize, usize), per_node: usize, seed: u64) -> HardPools {
    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
    let mut ids = vec![u32::MAX; n_nodes * per_node];
    ids.par_chunks_mut(per_node).enumerate().for_each_init(
        || (vec![0f32; g.n_pins() as usize], vec![0f32; g.n_boards() as usize], Vec::<u32>::new()),
        |(score, board_mass, touched), (node, out)| {
            let node = node as u32;
            let (start, steps, own): (Vec<(u32, f32)>, u32, &[u32]) = if node < g.n_pins() {
                (vec![(node, 1.0)], 2, &[])
            } else {
                let pins = g.pins_of(node - g.n_pins());
                let m = 1.0 / pins.len().max(1) as f32;
                (pins.iter().map(|&p| (p, m)).collect(), 1, pins)
            };
            spread(g, &start, steps, score, board_mass, touched);
            let mut cands: Vec<(f32, u32)> = touched
                .iter()
                .filter(|&&p| p != node && own.binary_search(&p).is_err())
                .map(|&p| (score[p as usize], p))
                .collect();
            for &p in touched.iter() {
                score[p as usize] = 0.0;
            }
            touched.clear();
            // Band [lo, hi) of the ranking, shrunk proportionally if fewer candidates were reached.
            let n = cands.len();
            if n == 0 {
                return;
            }
            let (lo, hi) = if n > band.1 { band } else { ((band.0 * n) / band.1.max(1), n) };
            let lo = lo.min(n - 1);
            let by_score = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            if hi < n {
                cands.select_nth_unstable_by(hi, by_score);
                cands.truncate(hi);
            }
            if lo > 0 {
                cands.select_nth_unstable_by(lo, by_score);
            }
            let band_slice = &cands[lo..];
            let mut rng = SmallRng::seed_from_u64(seed ^ (node as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            for slot in out.iter_mut() {
                *slot = band_slice[rng.random_range(0..band_slice.len())].1;
            }
        },
    );
    HardPools { per_node, ids, band }
}

/// One training triplet set: queries with one positive each, shared random negatives, and
/// `hard_per_query` hard negatives per query. All ids are global node ids.
#[derive(Clone, Debug, Default)]
pub struct Triplets {
    pub queries: Vec<u32>,
    pub positives: Vec<u32>,
    pub negatives: Vec<u32>,
    pub hard: Vec<u32>,
    pub hard_per_query: usize,
}

/// A training batch ready for upload: the gather plan for all distinct targets and, for each role,
/// the row of each node among the targets.
#[derive(Clone, Debug, Default)]
pub struct TrainBatch {
    pub epoch: usize,
    pub step: usize,
    pub block: HostBlock,
    pub query_rows: Vec<u32>,
    pub positive_rows: Vec<u32>,
    pub negative_rows: Vec<u32>,
    pub hard_rows: Vec<u32>,
    pub hard_per_query: usize,
}

/// Turns triplets into a batch: distinct targets, their rows, and the gather plan.
pub fn make_batch(
    nb: &NodeNeighbourhoods,
    t: &Triplets,
    features: Option<&crate::graph::Features>,
    sets: &mut [NodeSet; 2],
    targets: &mut NodeSet,
) -> TrainBatch {
    targets.clear();
    let mut rows = |ids: &[u32]| ids.iter().map(|&v| targets.insert(v)).collect::<Vec<u32>>();
    let query_rows = rows(&t.queries);
    let positive_rows = rows(&t.positives);
    let negative_rows = rows(&t.negatives);
    let hard_rows = rows(&t.hard);
    let block = build_block(nb, &targets.nodes, features, sets);
    TrainBatch {
        epoch: 0,
        step: 0,
        block,
        query_rows,
        positive_rows,
        negative_rows,
        hard_rows,
        hard_per_query: t.hard_per_query,
    }
}

/// Draws the positive pairs of one epoch: for each drawn training edge (board, pin) (every edge
/// once, or a uniformly drawn board and one of its pins, see [`PairSampling`]), either the board
/// queries the pin (with probability `board_query_share`) or the pin queries another pin of that
/// board. Shuffled; deterministic for (seed, epoch).
pub fn epoch_pairs(
    g: &Graph,
    sampling: PairSampling,
    board_query_share: f32,
    seed: u64,
    epoch: usize,
) -> Vec<(u32, u32)> {
    let mut rng = SmallRng::seed_from_u64(seed ^ (epoch as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    // Out of 2³² so that a share of 1 (LightGCN, board-only runs) never draws a pin–pin pair.
    let threshold = (board_query_share.clamp(0.0, 1.0) as f64 * 4_294_967_296.0) as u64;
    let mut pairs = Vec::with_capacity(g.n_edges());
    let mut push = |rng: &mut SmallRng, b: u32, p: u32| {
        let pins = g.pins_of(b);
        if pins.len() < 2 || u64::from(rng.next_u32()) < threshold {
            pairs.push((g.n_pins() + b, p));
        } else {
            let mut q = pins[rng.random_range(0..pins.len())];
            while q == p {
                q = pins[rng.random_range(0..pins.len())];
            }
            pairs.push((p, q));
        }
    };
    match sampling {
        PairSampling::Edges => {
            for b in 0..g.n_boards() {
                for &p in g.pins_of(b) {
                    push(&mut rng, b, p);
                }
            }
        }
        PairSampling::Boards => {
            let boards: Vec<u32> = (0..g.n_boards()).filter(|&b| !g.pins_of(b).is_empty()).collect();
            if !boards.is_empty() {
                for _ in 0..g.n_edges() {
                    let b = boards[rng.random_range(0..boards.len())];
                    let pins = g.pins_of(b);
                    let p = pins[rng.random_range(0..pins.len())];
                    push(&mut rng, b, p);
                }
            }
        }
    }
    // Fisher–Yates.
    for i in (1..pairs.len()).rev() {
        let j = rng.random_range(0..=i);
        pairs.swap(i, j);
    }
    pairs
}

/// The random stream of batch `batch` in `epoch`: a batch's content depends only on (seed, epoch,
/// batch index), whichever thread builds it (and the curriculum view replays it).
pub fn batch_rng(seed: u64, epoch: usize, batch: usize) -> SmallRng {
    SmallRng::seed_from_u64(seed ^ ((epoch as u64) << 40) ^ (batch as u64).wrapping_mul(0x2545_F491_4F6C_DD1D))
}

/// The curriculum: no hard negatives in epoch 1, `epoch − 1` per query after, capped.
pub fn hard_per_query(epoch: usize, enabled: bool, cap: usize) -> usize {
    if enabled { epoch.saturating_sub(1).min(cap) } else { 0 }
}

/// Fills `t` for one batch of pairs: shared random negatives and pooled hard negatives.
pub fn fill_triplets(
    g: &Graph,
    pairs: &[(u32, u32)],
    n_negatives: usize,
    hard: Option<(&HardPools, usize)>,
    rng: &mut SmallRng,
    t: &mut Triplets,
) {
    t.queries.clear();
    t.positives.clear();
    t.negatives.clear();
    t.hard.clear();
    for &(q, p) in pairs {
        t.queries.push(q);
        t.positives.push(p);
    }
    for _ in 0..n_negatives {
        t.negatives.push(rng.random_range(0..g.n_pins()));
    }
    t.hard_per_query = 0;
    if let Some((pools, h)) = hard
        && h > 0
    {
        t.hard_per_query = h;
        for &q in &t.queries {
            let pool = pools.of(q);
            for _ in 0..h {
                let c = pool[rng.random_range(0..pool.len())];
                t.hard.push(if c == u32::MAX { rng.random_range(0..g.n_pins()) } else { c });
            }
        }
    }
}
