//! The epoch's positive pairs (every edge, or uniform boards), the triplets of a batch (shared
//! random and hard negatives), its random stream, and the batch ready for upload.

use rand::rngs::SmallRng;
use rand::{Rng, RngExt, SeedableRng};

use super::{BlockPlan, HardPools, HostBlock, NodeNeighbourhoods, NodeSet, PairSampling};
use crate::graph::Graph;

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

/// A training batch ready for upload: the gather plan for all distinct targets (its gathers, or
/// only its node sets: see [`BlockPlan`]) and, for each role, the row of each node among the
/// targets.
#[derive(Clone, Debug, Default)]
pub struct TrainBatch<B = HostBlock> {
    pub block: B,
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
    make_plan_batch(nb, t, features, sets, targets)
}

/// [`make_batch`] with the plan as `B`.
pub fn make_plan_batch<B: BlockPlan>(
    nb: &NodeNeighbourhoods,
    t: &Triplets,
    features: Option<&crate::graph::Features>,
    sets: &mut [NodeSet; 2],
    targets: &mut NodeSet,
) -> TrainBatch<B> {
    targets.clear();
    let mut rows = |ids: &[u32]| ids.iter().map(|&v| targets.insert(v)).collect::<Vec<u32>>();
    let query_rows = rows(&t.queries);
    let positive_rows = rows(&t.positives);
    let negative_rows = rows(&t.negatives);
    let hard_rows = rows(&t.hard);
    let block = B::build(nb, &targets.nodes, features, sets);
    TrainBatch { block, query_rows, positive_rows, negative_rows, hard_rows, hard_per_query: t.hard_per_query }
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
