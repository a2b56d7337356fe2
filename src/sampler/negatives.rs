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
