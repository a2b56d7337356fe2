//! Hard negatives for the curriculum: per node, pins from a rank band of its
//! Personalized-PageRank-like scores (two pin-steps of walk mass), drawn once per run.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use crate::graph::Graph;

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

/// Pins at which the band reaches the paper's ranks and stops growing (5 % and 12 % of 41,000 are
/// 2,050 and 4,920).
pub const PAPER_BAND_PINS: u32 = 41_000;

/// The default hard band scaled to the graph: the paper's ranks 2000–5000 are 5%–12% of Gowalla's
/// pins, so a smaller graph gets those shares of its pins and a larger one the paper's ranks.
pub fn default_band(n_pins: u32) -> (usize, usize) {
    let n = n_pins.min(PAPER_BAND_PINS) as f64;
    ((n * 0.05).round().max(1.0) as usize, (n * 0.12).round().max(2.0) as usize)
}

/// Bounds on one node's spread, so that a pool costs the same on any size of graph (a band that
/// stops growing with the graph, [`default_band`], needs only a bounded neighbourhood ranked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SpreadLimits {
    /// Most pins read from one board and boards read from one pin. A longer list is read at an even
    /// stride from a hashed offset, each read carrying the share of the entries it stands for.
    pub fanout: usize,
    /// Most adjacency reads in each half of the last pin-step (pins → boards, boards → pins). Past
    /// it the frontier is expanded in order of mass, heaviest first, until the reads are spent.
    pub reads: usize,
}

impl SpreadLimits {
    /// No bound: every walk path of the two pin-steps, as the scores are defined.
    pub const EXACT: SpreadLimits = SpreadLimits { fanout: usize::MAX, reads: usize::MAX };

    /// The default bounds for a band reaching rank `band.1`: fanout 256, and 8 reads per rank of
    /// the band's end (≈ 39 k for the paper's 4,920), at least 65,536 so that small graphs (the
    /// teaching views') stay exact. On Gowalla 73 % of the draws then fall in the exact band and
    /// 98.6 % within ×2 of it, in half the time of the exact spread (BENCHMARKS.md).
    pub fn for_band(band: (usize, usize)) -> SpreadLimits {
        SpreadLimits { fanout: 256, reads: band.1.saturating_mul(8).max(1 << 16) }
    }
}

/// `list` or, past `fanout` entries, `fanout` of them at an even stride from an offset drawn from
/// `salt`; each with the share of `mass` it stands for.
fn strided(list: &[u32], fanout: usize, mass: f32, salt: u64, mut each: impl FnMut(u32, f32)) {
    let n = list.len();
    if n <= fanout {
        let share = mass / n as f32;
        list.iter().for_each(|&x| each(x, share));
        return;
    }
    let share = mass / fanout as f32;
    let offset = (salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % n;
    for i in 0..fanout {
        each(list[(offset + i * n / fanout) % n], share);
    }
}

/// When reading all of `xs` takes `total` reads, more than `budget`, moves the heaviest entries to
/// the front: as many as `budget` reads cover at the list's mean reads per entry (a selection,
/// O(len), not a sort). The caller reads from the front until its budget is spent.
fn heaviest_within(xs: &mut [(u32, f32)], total: usize, budget: usize) {
    if total <= budget || xs.is_empty() {
        return;
    }
    let keep = ((budget as f64 / total as f64) * xs.len() as f64) as usize;
    if keep < xs.len() {
        xs.select_nth_unstable_by(keep, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    }
}

/// Scores pins by walk mass from `start` (a distribution over pins) over `steps` ≤ 2 pin-steps,
/// accumulating every step, in the dense scratch `score`; returns the touched pins. Within
/// `limits` (none on a small graph) every path is followed and the scores are exact.
fn spread(
    g: &Graph,
    start: &[(u32, f32)],
    steps: u32,
    limits: SpreadLimits,
    score: &mut [f32],
    board_mass: &mut [f32],
    touched: &mut Vec<u32>,
) {
    let mut frontier: Vec<(u32, f32)> = start.to_vec();
    let mut boards_touched: Vec<u32> = Vec::new();
    let fan = limits.fanout;
    for _ in 0..steps {
        // Past the read budget, the heaviest pins (then boards) first, each list read up to `fan`.
        let reads =
            |xs: &[(u32, f32)], len: &dyn Fn(u32) -> usize| xs.iter().map(|&(x, _)| len(x).min(fan)).sum::<usize>();
        let total = reads(&frontier, &|p| g.boards_of(p).len());
        heaviest_within(&mut frontier, total, limits.reads);
        let mut budget = limits.reads;
        for &(p, m) in &frontier {
            let bs = g.boards_of(p);
            if bs.is_empty() {
                continue;
            }
            if budget == 0 {
                break;
            }
            budget = budget.saturating_sub(bs.len().min(fan));
            strided(bs, fan, m, p as u64, |b, share| {
                if board_mass[b as usize] == 0.0 {
                    boards_touched.push(b);
                }
                board_mass[b as usize] += share;
            });
        }
        let mut boards: Vec<(u32, f32)> = boards_touched.drain(..).map(|b| (b, board_mass[b as usize])).collect();
        for &(b, _) in &boards {
            board_mass[b as usize] = 0.0;
        }
        let total = reads(&boards, &|b| g.pins_of(b).len());
        heaviest_within(&mut boards, total, limits.reads);
        let mut budget = limits.reads;
        for &(b, m) in &boards {
            if budget == 0 {
                break;
            }
            let ps = g.pins_of(b);
            budget = budget.saturating_sub(ps.len().min(fan));
            strided(ps, fan, m, b as u64 ^ 0x5555, |p, share| {
                if score[p as usize] == 0.0 {
                    touched.push(p);
                }
                score[p as usize] += share;
            });
        }
        // The next frontier is the mass accumulated so far, which equals this step's mass while
        // `steps` ≤ 2 (the only uses: the start pin itself is never a touched pin's score).
        frontier.clear();
        frontier.extend(touched.iter().map(|&p| (p, score[p as usize])));
    }
}

/// Dense per-thread scratch for [`spread`], all zero between nodes.
struct Scratch {
    score: Vec<f32>,
    board_mass: Vec<f32>,
    touched: Vec<u32>,
}

impl Scratch {
    fn new(g: &Graph) -> Scratch {
        Scratch {
            score: vec![0.0; g.n_pins() as usize],
            board_mass: vec![0.0; g.n_boards() as usize],
            touched: Vec::new(),
        }
    }
}

/// Highest score first, ties by pin: the order a node's candidates are ranked in.
fn by_score(a: &(f32, u32), b: &(f32, u32)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// Node `node`'s candidates with their scores, unordered: the pins two pin-steps from a pin, or
/// one from a board's pins, less the node itself and a board's own pins.
fn candidates(g: &Graph, node: u32, limits: SpreadLimits, scratch: &mut Scratch) -> Vec<(f32, u32)> {
    let Scratch { score, board_mass, touched } = scratch;
    let (start, steps, own): (Vec<(u32, f32)>, u32, &[u32]) = if node < g.n_pins() {
        (vec![(node, 1.0)], 2, &[])
    } else {
        let pins = g.pins_of(node - g.n_pins());
        let m = 1.0 / pins.len().max(1) as f32;
        (pins.iter().map(|&p| (p, m)).collect(), 1, pins)
    };
    spread(g, &start, steps, limits, score, board_mass, touched);
    let cands: Vec<(f32, u32)> = touched
        .iter()
        .filter(|&&p| p != node && own.binary_search(&p).is_err())
        .map(|&p| (score[p as usize], p))
        .collect();
    for &p in touched.iter() {
        score[p as usize] = 0.0;
    }
    touched.clear();
    cands
}

/// The scores that node `node`'s hard pool is ranked by (pin, score), highest first, ties by pin:
/// [`hard_pools`]' band is a slice of this list. One node at a time (allocates O(pins)).
pub fn hard_scores(g: &Graph, node: u32, limits: SpreadLimits) -> Vec<(u32, f32)> {
    let mut c = candidates(g, node, limits, &mut Scratch::new(g));
    c.sort_unstable_by(by_score);
    c.into_iter().map(|(s, p)| (p, s)).collect()
}

/// Precomputes hard-negative pools for every node (pins and boards) in parallel, each node's
/// spread bounded by [`SpreadLimits::for_band`] so that the cost grows with the nodes, not with
/// nodes × pins.
pub fn hard_pools(g: &Graph, band: (usize, usize), per_node: usize, seed: u64) -> HardPools {
    hard_pools_within(g, band, per_node, seed, SpreadLimits::for_band(band))
}

/// [`hard_pools`] with each node's spread bounded by `limits`.
pub fn hard_pools_within(
    g: &Graph,
    band: (usize, usize),
    per_node: usize,
    seed: u64,
    limits: SpreadLimits,
) -> HardPools {
    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
    let mut ids = vec![u32::MAX; n_nodes * per_node];
    ids.par_chunks_mut(per_node).enumerate().for_each_init(
        || Scratch::new(g),
        |scratch, (node, out)| {
            let node = node as u32;
            let mut cands = candidates(g, node, limits, scratch);
            // Band [lo, hi) of the ranking, shrunk proportionally if fewer candidates were reached.
            let n = cands.len();
            if n == 0 {
                return;
            }
            let (lo, hi) = if n > band.1 { band } else { ((band.0 * n) / band.1.max(1), n) };
            let lo = lo.min(n - 1);
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
