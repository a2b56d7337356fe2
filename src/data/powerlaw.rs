//! A synthetic pin–board graph of any size with heavy-tailed degrees like Gowalla's, built straight
//! into CSR form: board sizes follow a power law by rank (plus a floor), pin popularity is a mix of
//! a power law by rank and a uniform share, and each board's row is drawn from its own random
//! stream, so rows can be filled in parallel and in place. No edge list is ever held: the board →
//! pin rows are written where they belong, then transposed. Deterministic for a seed.
//!
//! Reached as `--data powerlaw:edges=1e7,pins=…,boards=…,seed=…` (see [`parse`]).

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::graph::{Csr, Graph};

/// Parameters of the power-law generator. Leaving `pins`/`boards` out gives Gowalla's ratios
/// (17.8 edges per pin, 24.4 per board).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PowerLawConfig {
    /// Training edges, exactly.
    pub edges: u64,
    pub pins: u32,
    pub boards: u32,
    /// Exponent `a` of the board-size law: the board of rank r gets a share ∝ (r + 1)^−a of the
    /// edges above the floor.
    pub board_exponent: f64,
    /// Every board has at least this many pins.
    pub min_board: u32,
    /// Exponent of pin popularity by rank: a pin-draw picks rank r with probability ∝ (r + 1)^−a.
    pub pin_exponent: f64,
    /// Share of pin draws that are uniform over all pins (what gives every pin a few boards).
    pub pin_uniform: f64,
    pub seed: u64,
}

/// Mean edges per pin and per board in Gowalla (LightGCN's split), used when `pins`/`boards` are not given.
pub const GOWALLA_EDGES_PER_PIN: f64 = 17.76;
pub const GOWALLA_EDGES_PER_BOARD: f64 = 24.38;

impl PowerLawConfig {
    /// A config with `edges` edges and Gowalla-like defaults for everything else.
    pub fn with_edges(edges: u64) -> PowerLawConfig {
        let pins = ((edges as f64 / GOWALLA_EDGES_PER_PIN).round() as u64).clamp(2, u32::MAX as u64) as u32;
        let boards = ((edges as f64 / GOWALLA_EDGES_PER_BOARD).round() as u64).clamp(1, u32::MAX as u64) as u32;
        PowerLawConfig {
            edges,
            pins,
            boards,
            // Fitted to Gowalla's degree distributions (BENCHMARKS.md, "Power-law defaults"): the
            // top-1 % edge shares, max/mean and median/mean of both sides.
            board_exponent: 0.45,
            min_board: default_min_board(edges, boards),
            pin_exponent: 0.5,
            pin_uniform: 0.1,
            seed: 1,
        }
    }

    /// Fails with a message naming the parameter when the graph cannot be built as asked.
    pub fn validate(&self) -> Result<(), PowerLawError> {
        let bad = |m: String| Err(PowerLawError::Config(m));
        if self.edges == 0 {
            return bad("edges must be at least 1".into());
        }
        if self.edges > u32::MAX as u64 {
            return bad(format!("edges: {} is more than the 32-bit CSR offsets hold ({})", self.edges, u32::MAX));
        }
        if self.pins < 2 || self.boards < 1 {
            return bad(format!("need at least 2 pins and 1 board (got {} and {})", self.pins, self.boards));
        }
        for (name, v) in [("board_exponent", self.board_exponent), ("pin_exponent", self.pin_exponent)] {
            if !(0.0..=3.0).contains(&v) {
                return bad(format!("{name}: {v} is not in [0, 3]"));
            }
        }
        if !(0.0..=1.0).contains(&self.pin_uniform) {
            return bad(format!("pin_uniform: {} is not in [0, 1]", self.pin_uniform));
        }
        if self.min_board as u64 * self.boards as u64 > self.edges {
            return bad(format!(
                "min_board {} × {} boards is more than the {} edges",
                self.min_board, self.boards, self.edges
            ));
        }
        let largest = self.board_size(0);
        if largest as u64 > self.pins as u64 / 2 {
            return bad(format!(
                "the largest board would hold {largest} pins, more than half of the {} pins: add pins or lower board_exponent",
                self.pins
            ));
        }
        Ok(())
    }

    /// Edges above the boards' floor, shared out by the power law.
    fn extra_edges(&self) -> u64 {
        self.edges - self.min_board as u64 * self.boards as u64
    }

    /// Size of the board of size-rank `rank` (0 = largest). Sizes sum to `edges` exactly.
    pub fn board_size(&self, rank: u32) -> u32 {
        let extra = self.extra_edges() as f64;
        let n = self.boards;
        let cum = |r: u32| -> u64 {
            if r >= n {
                self.extra_edges()
            } else {
                (extra * power_cdf(r as f64, n as f64, self.board_exponent)).floor() as u64
            }
        };
        self.min_board + cum(rank + 1).saturating_sub(cum(rank)) as u32
    }

    /// Expected share of all pin draws that land on the `top` most popular pins.
    pub fn expected_pin_share(&self, top: u32) -> f64 {
        let p = self.pins as f64;
        self.pin_uniform * top as f64 / p + (1.0 - self.pin_uniform) * power_cdf(top as f64, p, self.pin_exponent)
    }

    /// Expected share of the edges held by the `top` largest boards.
    pub fn expected_board_share(&self, top: u32) -> f64 {
        let sum: u64 = (0..top.min(self.boards)).map(|r| self.board_size(r) as u64).sum();
        sum as f64 / self.edges as f64
    }

    /// Bytes the generator allocates at its peak: both CSR directions (offsets and targets) and
    /// the transpose's two counters.
    pub fn bytes(&self) -> u64 {
        let (e, p, b) = (self.edges, self.pins as u64, self.boards as u64);
        crate::memory::bytes(4, 2 * e + 3 * (p + 1) + (b + 1))
    }
}

fn default_min_board(edges: u64, boards: u32) -> u32 {
    // Gowalla's boards have at least 7 pins; keep the floor below half the mean board.
    (edges / (2 * boards.max(1) as u64)).min(7) as u32
}

/// Continuous power law on ranks: the share of mass on ranks `[0, x)` out of `[0, n)` when rank r
/// has density ∝ (r + 1)^−a (the integral of t^−a over [1, x + 1]).
fn power_cdf(x: f64, n: f64, a: f64) -> f64 {
    let x = x.clamp(0.0, n);
    if (a - 1.0).abs() < 1e-9 {
        (x + 1.0).ln() / (n + 1.0).ln()
    } else {
        let e = 1.0 - a;
        ((x + 1.0).powf(e) - 1.0) / ((n + 1.0).powf(e) - 1.0)
    }
}

/// Inverse of [`power_cdf`]: the rank a uniform `u` in [0, 1) maps to.
fn power_rank(u: f64, n: f64, a: f64) -> u32 {
    let x = if (a - 1.0).abs() < 1e-9 {
        (n + 1.0).powf(u)
    } else {
        let e = 1.0 - a;
        (1.0 + u * ((n + 1.0).powf(e) - 1.0)).powf(1.0 / e)
    };
    ((x - 1.0).floor().max(0.0) as u64).min(n as u64 - 1) as u32
}

/// A bijection of `0..n` (rank → id) so that popular pins and large boards are spread over the id
/// range rather than packed at its start.
#[derive(Clone, Copy)]
struct Scramble {
    n: u64,
    mul: u64,
    add: u64,
}

impl Scramble {
    fn new(n: u32, seed: u64) -> Scramble {
        let n = n.max(1) as u64;
        let mut mul = ((n as f64 * 0.618_033_988_7) as u64) | 1;
        while gcd(mul, n) != 1 {
            mul += 1;
        }
        Scramble { n, mul: mul % n.max(2), add: splitmix(seed) % n }
    }
    #[inline]
    fn apply(&self, rank: u32) -> u32 {
        ((rank as u128 * self.mul as u128 + self.add as u128) % self.n as u128) as u32
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Why a power-law graph could not be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PowerLawError {
    #[error("power-law graph: {0}")]
    Config(String),
    #[error(transparent)]
    Memory(#[from] crate::memory::OutOfMemory),
}

/// Boards per parallel work item.
const BOARDS_PER_CHUNK: usize = 2048;

/// Builds the graph (training edges only; `load` makes the held-out splits). The memory estimate
/// ([`PowerLawConfig::bytes`]) goes through `memory::check` before anything is allocated.
pub fn generate(cfg: &PowerLawConfig) -> Result<Graph, PowerLawError> {
    cfg.validate()?;
    crate::memory::check(cfg.bytes(), "the power-law graph")?;
    let n_boards = cfg.boards as usize;
    let board_rank = Scramble::new(cfg.boards, cfg.seed ^ 0xB0A2D);
    let pin_of_rank = Scramble::new(cfg.pins, cfg.seed ^ 0x9125);
    // Offsets: board b has the size of its rank.
    let mut offsets = Vec::with_capacity(n_boards + 1);
    offsets.push(0u32);
    let mut acc = 0u64;
    for b in 0..cfg.boards {
        acc += cfg.board_size(board_rank.apply(b)) as u64;
        offsets.push(acc as u32);
    }
    debug_assert_eq!(acc, cfg.edges);
    let mut targets = vec![0u32; acc as usize];
    // Split the targets into one slice per chunk of boards, and fill the chunks in parallel.
    let mut slices = Vec::with_capacity(n_boards.div_ceil(BOARDS_PER_CHUNK));
    let mut rest: &mut [u32] = &mut targets;
    for first in (0..n_boards).step_by(BOARDS_PER_CHUNK) {
        let last = (first + BOARDS_PER_CHUNK).min(n_boards);
        let len = (offsets[last] - offsets[first]) as usize;
        let (head, tail) = rest.split_at_mut(len);
        slices.push((first, last, head));
        rest = tail;
    }
    slices.into_par_iter().for_each(|(first, last, slice)| {
        let base = offsets[first] as usize;
        let mut row = Vec::new();
        for b in first..last {
            let (s, e) = (offsets[b] as usize - base, offsets[b + 1] as usize - base);
            fill_board(cfg, &pin_of_rank, b as u32, e - s, &mut row);
            slice[s..e].copy_from_slice(&row);
        }
    });
    let board_pins = Csr { offsets, targets };
    let mut g = Graph::from_board_pins(cfg.pins, board_pins);
    g.source = format!("powerlaw (seed {}, {} edges, {} pins, {} boards)", cfg.seed, cfg.edges, cfg.pins, cfg.boards);
    Ok(g)
}

/// Draws `size` distinct pins for board `b` from its own stream into `row`, sorted: rounds of
/// popularity draws, duplicates dropped, then uniform draws for whatever is still missing (sizes
/// are at most half the pins, so these finish quickly).
fn fill_board(cfg: &PowerLawConfig, pin_of_rank: &Scramble, b: u32, size: usize, row: &mut Vec<u32>) {
    let mut rng = SmallRng::seed_from_u64(splitmix(cfg.seed ^ splitmix(b as u64 + 1)));
    let n = cfg.pins as f64;
    row.clear();
    let mut round = 0;
    while row.len() < size {
        let missing = size - row.len();
        for _ in 0..missing {
            let rank = if round >= 8 || rng.random::<f64>() < cfg.pin_uniform {
                rng.random_range(0..cfg.pins)
            } else {
                power_rank(rng.random::<f64>(), n, cfg.pin_exponent)
            };
            row.push(pin_of_rank.apply(rank));
        }
        row.sort_unstable();
        row.dedup();
        round += 1;
    }
}

/// Parses `key=value,…` (keys: edges, pins, boards, board_exponent, min_board, pin_exponent,
/// pin_uniform, seed; numbers may be written `1e7`); unknown keys and bad values are errors.
pub fn parse(params: &str) -> Result<PowerLawConfig, String> {
    let mut given: Vec<(String, String)> = Vec::new();
    for item in params.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item.split_once('=').ok_or_else(|| format!("`{item}` is not key=value"))?;
        given.push((key.trim().to_string(), value.trim().to_string()));
    }
    let whole = |key: &str, value: &str| -> Result<u64, String> {
        let v: f64 = value.parse().map_err(|_| format!("{key}: `{value}` is not a number"))?;
        if v < 0.0 || v.fract() != 0.0 || v > 1e15 {
            return Err(format!("{key}: `{value}` is not a whole number"));
        }
        Ok(v as u64)
    };
    let to_u32 = |key: &str, v: u64| u32::try_from(v).map_err(|_| format!("{key}: {v} is more than {}", u32::MAX));
    let edges = match given.iter().find(|(k, _)| k == "edges") {
        Some((k, v)) => whole(k, v)?,
        None => return Err("edges=N is required (e.g. powerlaw:edges=1e7)".into()),
    };
    let mut cfg = PowerLawConfig::with_edges(edges);
    let mut min_board = None;
    for (key, value) in &given {
        let real = || value.parse::<f64>().map_err(|_| format!("{key}: `{value}` is not a number"));
        match key.as_str() {
            "edges" => {}
            "pins" => cfg.pins = to_u32(key, whole(key, value)?)?,
            "boards" => cfg.boards = to_u32(key, whole(key, value)?)?,
            "min_board" => min_board = Some(to_u32(key, whole(key, value)?)?),
            "seed" => cfg.seed = whole(key, value)?,
            "board_exponent" => cfg.board_exponent = real()?,
            "pin_exponent" => cfg.pin_exponent = real()?,
            "pin_uniform" => cfg.pin_uniform = real()?,
            _ => {
                return Err(format!(
                    "unknown parameter `{key}` (edges, pins, boards, board_exponent, min_board, pin_exponent, pin_uniform, seed)"
                ));
            }
        }
    }
    cfg.min_board = min_board.unwrap_or_else(|| default_min_board(cfg.edges, cfg.boards));
    cfg.validate().map_err(|e| match e {
        PowerLawError::Config(m) => m,
        other => other.to_string(),
    })?;
    Ok(cfg)
}
