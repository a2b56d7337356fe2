//! Random-walk neighbourhoods (PinSage's importance sampler), exact Personalized PageRank, and the
//! uniform (GraphSAGE-style) sampler it is contrasted with.
//!
//! A walk from pin `u` alternates pin → board → pin for `length` pin-steps; after each step it jumps
//! back to `u` with probability `restart`. Every pin reached (other than `u`) is counted. Each walk
//! `w` of pin `u` draws from its own random stream, seeded from `(seed, u, w)`, so results do not
//! depend on the thread count, nor on whether many walks advance together with prefetched reads
//! ([`neighbourhoods`]) or one step at a time ([`WalkAnimation`]).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::graph::Graph;

/// Walk parameters. Defaults: T = 10 walks, L = 50 steps, K = 25 neighbours (the paper's), with
/// restart probability 0.5 so that the counts estimate *Personalized* PageRank around the pin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WalkConfig {
    /// T: walks per start pin.
    pub walks: u32,
    /// L: pin-steps per walk.
    pub length: u32,
    /// K: neighbours kept.
    pub top_k: usize,
    /// Probability of jumping back to the start pin after each step.
    pub restart: f32,
    pub seed: u64,
}

impl Default for WalkConfig {
    fn default() -> Self {
        WalkConfig { walks: 10, length: 50, top_k: 25, restart: 0.5, seed: 1 }
    }
}

/// An invalid walk or sampler parameter, naming the field.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid {field}: {reason}")]
pub struct ParamError {
    pub field: &'static str,
    pub reason: String,
}

impl WalkConfig {
    pub fn validate(&self) -> Result<(), ParamError> {
        let err = |field, reason: &str| Err(ParamError { field, reason: reason.to_string() });
        if self.walks == 0 {
            return err("walks", "must be at least 1");
        }
        if self.length == 0 {
            return err("length", "must be at least 1");
        }
        if self.top_k == 0 {
            return err("top_k", "must be at least 1");
        }
        if !(0.0..1.0).contains(&self.restart) {
            return err("restart", "must be in [0, 1)");
        }
        Ok(())
    }
}

/// SplitMix64 finaliser: a well-mixed 64-bit hash, used to derive per-walk seeds.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random stream of walk `w` from pin `u`.
fn walk_rng(seed: u64, u: u32, w: u32) -> SmallRng {
    SmallRng::seed_from_u64(mix64(seed ^ mix64(((u as u64) << 32) | w as u64)))
}

/// A uniform index in `0..n` from 32 random bits (Lemire's multiply-shift; bias < n/2³²).
#[inline]
fn bounded(bits: u32, n: u32) -> u32 {
    ((bits as u64 * n as u64) >> 32) as u32
}

/// One pin-step from `pin`: (board, next pin), or None for a pin with no boards.
#[inline]
fn step(g: &Graph, pin: u32, rng: &mut SmallRng) -> Option<(u32, u32)> {
    let r = rng.next_u64();
    let boards = g.boards_of(pin);
    if boards.is_empty() {
        return None;
    }
    let b = boards[bounded(r as u32, boards.len() as u32) as usize];
    let pins = g.pins_of(b);
    let next = pins[bounded((r >> 32) as u32, pins.len() as u32) as usize];
    Some((b, next))
}

#[inline]
fn restart_threshold(restart: f32) -> u32 {
    (restart as f64 * u32::MAX as f64) as u32
}

/// Top-K neighbourhoods of many pins: `ids[i*k..]`, `weights[i*k..]`, `counts[i*k..]` for the i-th
/// requested pin, padded with the pin itself and weight 0 when fewer than K pins were visited.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Neighbourhoods {
    pub k: usize,
    pub ids: Vec<u32>,
    /// Importance weights α (visit counts normalised over the top K), summing to 1 (or 0 if none).
    pub weights: Vec<f32>,
    pub counts: Vec<u32>,
    /// How many real (non-padding) neighbours each pin has.
    pub lens: Vec<u16>,
}

impl Neighbourhoods {
    pub fn len(&self) -> usize {
        self.lens.len()
    }
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }
    /// The real neighbours of the i-th pin: (ids, weights, counts).
    pub fn of(&self, i: usize) -> (&[u32], &[f32], &[u32]) {
        let s = i * self.k;
        let e = s + self.lens[i] as usize;
        (&self.ids[s..e], &self.weights[s..e], &self.counts[s..e])
    }
}

/// Per-thread scratch: dense visit counters, the list of touched pins, and the walkers in flight
/// (structure of arrays, one entry per walker).
struct Scratch {
    counts: Vec<u32>,
    touched: Vec<u32>,
    /// Each walker's current pin.
    cur: Vec<u32>,
    /// Each walker's position in the adjacency being read (an index into targets), or its board.
    pos: Vec<u32>,
    /// Each walker's 64 random bits for the current step (board choice, then pin choice).
    bits: Vec<u64>,
    /// Index of each walker's start in the group.
    home: Vec<u32>,
    rngs: Vec<SmallRng>,
    /// Pins reached (start excluded) by each start of the group, in no particular order.
    visits: Vec<Vec<u32>>,
}

impl Scratch {
    fn new(n_pins: u32) -> Scratch {
        let counts = vec![0; n_pins as usize];
        crate::huge_pages::advise(&counts);
        Scratch {
            counts,
            touched: Vec::new(),
            cur: Vec::new(),
            pos: Vec::new(),
            bits: Vec::new(),
            home: Vec::new(),
            rngs: Vec::new(),
            visits: Vec::new(),
        }
    }
}

/// Walkers a thread keeps in flight. A pin-step is five dependent reads that miss the caches on a
/// large graph; the walkers advance one read at a time in lock-step, each prefetching its next
/// address, so one pass over this many walkers hides one memory latency.
const WALKERS_IN_FLIGHT: usize = 128;

/// Starts walked together so that about [`WALKERS_IN_FLIGHT`] walkers are in flight.
fn starts_per_group(cfg: &WalkConfig) -> usize {
    (WALKERS_IN_FLIGHT / cfg.walks.max(1) as usize).max(1)
}

/// Asks the CPU to start loading `p`'s cache line (no effect where there is no prefetch hint).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults and reads nothing, whatever the address.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Runs all T walks of every pin in `starts` together, leaving in `s.visits[j]` the pins the walks
/// of `starts[j]` reached. Returns the number of pin-steps taken.
///
/// The walkers move in lock-step through the five reads of a pin-step (the pin's board range, the
/// board, the board's pin range, the pin, then the restart draw), each read prefetched one pass
/// ahead. Every walker draws from its own stream in the same order as [`step`] does, so the
/// visits are those of walking each chain alone.
fn walk_group(g: &Graph, starts: &[u32], cfg: &WalkConfig, s: &mut Scratch) -> u64 {
    let threshold = restart_threshold(cfg.restart);
    s.cur.clear();
    s.home.clear();
    s.rngs.clear();
    s.visits.resize_with(starts.len().max(s.visits.len()), Vec::new);
    let mut steps = 0;
    for (j, &u) in starts.iter().enumerate() {
        s.visits[j].clear();
        if g.boards_of(u).is_empty() {
            continue;
        }
        steps += cfg.walks as u64 * cfg.length as u64;
        for w in 0..cfg.walks {
            s.cur.push(u);
            s.home.push(j as u32);
            s.rngs.push(walk_rng(cfg.seed, u, w));
        }
    }
    let n = s.cur.len();
    s.pos.resize(n, 0);
    s.bits.resize(n, 0);
    let (pin_boards, board_pins) = (g.pin_boards(), g.board_pins());
    for _ in 0..cfg.length {
        for &c in &s.cur {
            prefetch(pin_boards.offsets.as_ptr().wrapping_add(c as usize));
        }
        // A pin reachable from a start always has a board, so no range below is empty.
        for i in 0..n {
            let c = s.cur[i] as usize;
            let (lo, hi) = (pin_boards.offsets[c], pin_boards.offsets[c + 1]);
            let r = s.rngs[i].next_u64();
            s.bits[i] = r;
            s.pos[i] = lo + bounded(r as u32, hi - lo);
            prefetch(pin_boards.targets.as_ptr().wrapping_add(s.pos[i] as usize));
        }
        for p in &mut s.pos {
            *p = pin_boards.targets[*p as usize];
            prefetch(board_pins.offsets.as_ptr().wrapping_add(*p as usize));
        }
        for (p, &r) in s.pos.iter_mut().zip(&s.bits) {
            let b = *p as usize;
            let (lo, hi) = (board_pins.offsets[b], board_pins.offsets[b + 1]);
            *p = lo + bounded((r >> 32) as u32, hi - lo);
            prefetch(board_pins.targets.as_ptr().wrapping_add(*p as usize));
        }
        for i in 0..n {
            let next = board_pins.targets[s.pos[i] as usize];
            let home = s.home[i] as usize;
            let start = starts[home];
            if next != start {
                s.visits[home].push(next);
            }
            s.cur[i] = if threshold > 0 && s.rngs[i].next_u32() < threshold { start } else { next };
        }
    }
    steps
}

/// Adds the visits of the group's `j`-th start (`s.visits[j]`) to the dense counters, noting each
/// pin's first visit in `s.touched`.
fn count_visits(s: &mut Scratch, j: usize) {
    for &p in &s.visits[j] {
        let c = &mut s.counts[p as usize];
        if *c == 0 {
            s.touched.push(p);
        }
        *c += 1;
    }
}

/// Picks the top K touched pins by (count desc, id asc), writes them, and clears the scratch.
fn take_top_k(s: &mut Scratch, k: usize, start: u32, ids: &mut [u32], weights: &mut [f32], counts: &mut [u32]) -> u16 {
    let key = |p: &u32, c: &[u32]| (std::cmp::Reverse(c[*p as usize]), *p);
    let n = s.touched.len();
    if n > k {
        let c = &s.counts;
        s.touched.select_nth_unstable_by_key(k - 1, |p| key(p, c));
    }
    let m = n.min(k);
    {
        let c = &s.counts;
        s.touched[..m].sort_unstable_by_key(|p| key(p, c));
    }
    let total: u32 = s.touched[..m].iter().map(|&p| s.counts[p as usize]).sum();
    for i in 0..k {
        if i < m {
            let p = s.touched[i];
            ids[i] = p;
            counts[i] = s.counts[p as usize];
            weights[i] = counts[i] as f32 / total as f32;
        } else {
            ids[i] = start;
            counts[i] = 0;
            weights[i] = 0.0;
        }
    }
    for &p in &s.touched {
        s.counts[p as usize] = 0;
    }
    s.touched.clear();
    m as u16
}

/// Top-K importance neighbourhoods of `pins`, in parallel. Deterministic for a given seed,
/// whatever the number of threads. Also returns the total number of pin-steps walked.
pub fn neighbourhoods(g: &Graph, pins: &[u32], cfg: &WalkConfig) -> (Neighbourhoods, u64) {
    let k = cfg.top_k;
    let mut out = Neighbourhoods {
        k,
        ids: vec![0; pins.len() * k],
        weights: vec![0.0; pins.len() * k],
        counts: vec![0; pins.len() * k],
        lens: vec![0; pins.len()],
    };
    const CHUNK: usize = 64;
    let per_group = starts_per_group(cfg);
    let steps: u64 = out
        .ids
        .par_chunks_mut(k * CHUNK)
        .zip(out.weights.par_chunks_mut(k * CHUNK))
        .zip(out.counts.par_chunks_mut(k * CHUNK))
        .zip(out.lens.par_chunks_mut(CHUNK))
        .zip(pins.par_chunks(CHUNK))
        .map_init(
            || Scratch::new(g.n_pins()),
            |s, ((((ids, weights), counts), lens), chunk)| {
                let mut steps = 0;
                for (group, starts) in chunk.chunks(per_group).enumerate() {
                    steps += walk_group(g, starts, cfg, s);
                    for (j, &u) in starts.iter().enumerate() {
                        count_visits(s, j);
                        let i = group * per_group + j;
                        let r = i * k..(i + 1) * k;
                        lens[i] = take_top_k(s, k, u, &mut ids[r.clone()], &mut weights[r.clone()], &mut counts[r]);
                    }
                }
                steps
            },
        )
        .sum();
    (out, steps)
}

/// Bytes [`neighbourhoods`] needs for `starts` start pins on a graph of `n_pins` pins: the output
/// (ids, weights and counts, K each, and a length per start) plus one dense visit-count table of
/// `n_pins` counters per worker thread.
pub fn neighbourhoods_bytes(n_pins: u32, starts: usize, cfg: &WalkConfig) -> u64 {
    let output = crate::memory::bytes(starts as u64, 12 * cfg.top_k as u64 + 2);
    let threads = rayon::current_num_threads() as u64;
    let visit_tables = crate::memory::bytes(threads, 4 * n_pins as u64);
    output.saturating_add(visit_tables)
}

/// All pins' neighbourhoods (row i is pin i).
pub fn all_neighbourhoods(g: &Graph, cfg: &WalkConfig) -> (Neighbourhoods, u64) {
    let pins: Vec<u32> = (0..g.n_pins()).collect();
    neighbourhoods(g, &pins, cfg)
}

/// Raw visit counts (all pins, start excluded) from `cfg.walks` walks of `start`.
pub fn visit_counts(g: &Graph, start: u32, cfg: &WalkConfig) -> Vec<u32> {
    let mut s = Scratch::new(g.n_pins());
    walk_group(g, &[start], cfg, &mut s);
    count_visits(&mut s, 0);
    s.counts
}

/// One event of an animated walk: walker `walk` moved at `step` via `board` to `pin`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WalkStep {
    pub walk: u32,
    pub step: u32,
    pub from: u32,
    pub board: u32,
    pub pin: u32,
    /// The walker jumped back to the start pin after this step.
    pub restarted: bool,
}

/// The same walks as [`neighbourhoods`], one pin-step at a time, for animation. The counts after the
/// last step equal [`visit_counts`] exactly.
#[derive(Clone, Debug)]
pub struct WalkAnimation {
    pub start: u32,
    pub cfg: WalkConfig,
    pub counts: Vec<u32>,
    walk: u32,
    step: u32,
    current: u32,
    rng: SmallRng,
    pub steps_taken: u64,
}

impl WalkAnimation {
    pub fn new(g: &Graph, start: u32, cfg: WalkConfig) -> WalkAnimation {
        WalkAnimation {
            start,
            counts: vec![0; g.n_pins() as usize],
            walk: 0,
            step: 0,
            current: start,
            rng: walk_rng(cfg.seed, start, 0),
            cfg,
            steps_taken: 0,
        }
    }

    /// Whether every walk has run to its end.
    pub fn finished(&self) -> bool {
        self.walk >= self.cfg.walks
    }

    /// Advances one pin-step; None once finished (or when the start pin has no boards).
    pub fn advance(&mut self, g: &Graph) -> Option<WalkStep> {
        if self.finished() {
            return None;
        }
        let from = self.current;
        let Some((board, pin)) = step(g, from, &mut self.rng) else {
            self.walk = self.cfg.walks;
            return None;
        };
        if pin != self.start {
            self.counts[pin as usize] += 1;
        }
        let threshold = restart_threshold(self.cfg.restart);
        let restarted = threshold > 0 && self.rng.next_u32() < threshold;
        self.current = if restarted { self.start } else { pin };
        let ev = WalkStep { walk: self.walk, step: self.step, from, board, pin, restarted };
        self.step += 1;
        self.steps_taken += 1;
        if self.step >= self.cfg.length {
            self.step = 0;
            self.walk += 1;
            self.current = self.start;
            if self.walk < self.cfg.walks {
                self.rng = walk_rng(self.cfg.seed, self.start, self.walk);
            }
        }
        Some(ev)
    }

    /// The current top-K (ids, counts), by count desc then id asc.
    pub fn top_k(&self) -> Vec<(u32, u32)> {
        top_k_of_counts(&self.counts, self.cfg.top_k)
    }
}

/// Top-k (pin, count) of a dense count vector, ties broken by smaller id; zero counts are skipped.
pub fn top_k_of_counts(counts: &[u32], k: usize) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> =
        counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(p, &c)| (p as u32, c)).collect();
    v.sort_unstable_by_key(|&(p, c)| (std::cmp::Reverse(c), p));
    v.truncate(k);
    v
}

/// Normalises counts (start excluded) to a probability vector.
pub fn normalise(counts: &[u32]) -> Vec<f64> {
    let total: u64 = counts.iter().map(|&c| c as u64).sum();
    counts.iter().map(|&c| if total == 0 { 0.0 } else { c as f64 / total as f64 }).collect()
}

/// One pin-step of the walk as a linear operator: `out = x · P`, P = pin→board→pin transitions.
fn propagate(g: &Graph, x: &[f64], board_mass: &mut [f64], out: &mut [f64]) {
    board_mass.iter_mut().for_each(|m| *m = 0.0);
    for (p, &mass) in x.iter().enumerate() {
        if mass == 0.0 {
            continue;
        }
        let boards = g.boards_of(p as u32);
        if boards.is_empty() {
            continue;
        }
        let share = mass / boards.len() as f64;
        for &b in boards {
            board_mass[b as usize] += share;
        }
    }
    out.iter_mut().for_each(|v| *v = 0.0);
    for (b, &mass) in board_mass.iter().enumerate() {
        if mass == 0.0 {
            continue;
        }
        let pins = g.pins_of(b as u32);
        let share = mass / pins.len() as f64;
        for &p in pins {
            out[p as usize] += share;
        }
    }
}

/// Exact expected visit distribution of the walk process (T → ∞) for finite `length`: what
/// normalised visit counts estimate without bias. Start pin excluded; sums to 1.
pub fn expected_visits(g: &Graph, start: u32, length: u32, restart: f32) -> Vec<f64> {
    let n = g.n_pins() as usize;
    let p = restart as f64;
    let mut y = vec![0.0; n];
    y[start as usize] = 1.0;
    let mut x = vec![0.0; n];
    let mut acc = vec![0.0; n];
    let mut boards = vec![0.0; g.n_boards() as usize];
    for _ in 0..length {
        propagate(g, &y, &mut boards, &mut x);
        for i in 0..n {
            acc[i] += x[i];
            y[i] = (1.0 - p) * x[i];
        }
        y[start as usize] += p;
    }
    exclude_and_normalise(acc, start)
}

/// Exact Personalized PageRank of `start` with teleport probability `restart`, by power iteration
/// to an L1 change below `tolerance`; start pin excluded and renormalised, as walk counts are.
pub fn personalized_pagerank(g: &Graph, start: u32, restart: f32, tolerance: f64) -> Vec<f64> {
    let n = g.n_pins() as usize;
    let p = (restart as f64).max(1e-3);
    let mut pi = vec![0.0; n];
    pi[start as usize] = 1.0;
    let mut next = vec![0.0; n];
    let mut boards = vec![0.0; g.n_boards() as usize];
    for _ in 0..10_000 {
        propagate(g, &pi, &mut boards, &mut next);
        let mut delta = 0.0;
        for i in 0..n {
            let v = (1.0 - p) * next[i] + if i == start as usize { p } else { 0.0 };
            delta += (v - pi[i]).abs();
            pi[i] = v;
        }
        if delta < tolerance {
            break;
        }
    }
    exclude_and_normalise(pi, start)
}

fn exclude_and_normalise(mut v: Vec<f64>, start: u32) -> Vec<f64> {
    v[start as usize] = 0.0;
    let total: f64 = v.iter().sum();
    if total > 0.0 {
        v.iter_mut().for_each(|x| *x /= total);
    }
    v
}

/// L1 distance between two distributions.
pub fn l1(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

/// GraphSAGE-style uniform neighbourhoods: up to K distinct two-hop pins drawn uniformly (4K draws),
/// all weighted equally. Same layout as [`neighbourhoods`].
pub fn uniform_neighbourhoods(g: &Graph, pins: &[u32], k: usize, seed: u64) -> Neighbourhoods {
    let mut out = Neighbourhoods {
        k,
        ids: vec![0; pins.len() * k],
        weights: vec![0.0; pins.len() * k],
        counts: vec![0; pins.len() * k],
        lens: vec![0; pins.len()],
    };
    out.ids
        .par_chunks_mut(k)
        .zip(out.weights.par_chunks_mut(k))
        .zip(out.counts.par_chunks_mut(k))
        .zip(out.lens.par_iter_mut())
        .zip(pins.par_iter())
        .for_each(|((((ids, weights), counts), len), &u)| {
            let mut rng = walk_rng(seed ^ 0x5A5A_5A5A, u, u32::MAX);
            let mut chosen: Vec<u32> = Vec::with_capacity(k);
            for _ in 0..4 * k {
                if chosen.len() == k {
                    break;
                }
                let Some((_, v)) = step(g, u, &mut rng) else { break };
                if v != u && !chosen.contains(&v) {
                    chosen.push(v);
                }
            }
            let m = chosen.len();
            for i in 0..k {
                ids[i] = if i < m { chosen[i] } else { u };
                weights[i] = if i < m { 1.0 / m as f32 } else { 0.0 };
                counts[i] = if i < m { 1 } else { 0 };
            }
            *len = m as u16;
        });
    out
}
