//! Held-out splits: a per-board test holdout for graphs that come without one (random, or each
//! board's latest edges by time) and a validation split carved from the training edges.
//!
//! Nothing is ever chosen on the test edges: early stopping, the best epoch and EASE^R's λ use the
//! validation edges. Both splits are deterministic for the seed.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::graph::Graph;

/// How the test holdout picks a board's held-out pins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldoutBy {
    /// A random share of each board's pins.
    #[default]
    Random,
    /// Each board's latest pins (needs a timestamp column: MovieLens, edge lists with a time).
    Time,
}

crate::named_enum!(HoldoutBy, "holdout order" { Random => "random", Time => "time" });

/// How a graph's held-out edges are made. Saved in a run's `config.json`, so that `eval`, `embed`
/// and `recommend` rebuild exactly the graph the run was trained on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SplitConfig {
    /// Share of each board's pins held out for testing, when the data has no test edges of its
    /// own (a LightGCN `test.txt` is kept as it is). Boards with fewer than 2 pins stay whole.
    pub holdout: f32,
    pub holdout_by: HoldoutBy,
    /// Share of each board's remaining training pins moved to the validation split (0 for none).
    pub validation: f32,
    pub seed: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig { holdout: 0.2, holdout_by: HoldoutBy::Random, validation: 0.1, seed: 1 }
    }
}

impl SplitConfig {
    /// No holdout and no validation: the graph exactly as loaded.
    pub fn none() -> SplitConfig {
        SplitConfig { holdout: 0.0, validation: 0.0, ..SplitConfig::default() }
    }

    /// Rejects shares outside [0, 1).
    pub fn validate(&self) -> Result<(), SplitError> {
        for (field, value) in [("holdout", self.holdout), ("validation", self.validation)] {
            if !(0.0..1.0).contains(&value) {
                return Err(SplitError::Fraction { field, value });
            }
        }
        Ok(())
    }
}

/// A split that cannot be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SplitError {
    #[error("{field} must be in [0, 1), got {value}")]
    Fraction { field: &'static str, value: f32 },
    #[error("{source_name}: --holdout-by time needs a timestamp per edge, and this data has none")]
    NoTimes { source_name: String },
}

/// How many of a board's `n` pins a share `f` moves: none for boards under 2 pins, else at least
/// one and never all.
pub fn held_out_count(n: usize, f: f32) -> usize {
    if n < 2 || f <= 0.0 {
        return 0;
    }
    ((f as f64 * n as f64).round() as usize).clamp(1, n - 1)
}

/// Applies `cfg` to a loaded graph: a test holdout when the graph has no test edges, then the
/// validation split from what stays in training. Labels, features and categories are kept.
pub fn apply(g: Graph, cfg: &SplitConfig) -> Result<Graph, SplitError> {
    cfg.validate()?;
    let make_test = g.n_test_edges() == 0 && cfg.holdout > 0.0;
    if !make_test && cfg.validation == 0.0 {
        return Ok(g);
    }
    let by_time = cfg.holdout_by == HoldoutBy::Time;
    let times = g.edge_times.as_deref();
    if by_time && times.is_none() {
        return Err(SplitError::NoTimes { source_name: g.source.clone() });
    }
    let (mut train, mut test, mut validation) = (Vec::new(), Vec::new(), Vec::new());
    for b in 0..g.test().rows().min(g.n_boards() as usize) as u32 {
        test.extend(g.test_pins_of(b).iter().map(|&p| (b, p)));
    }
    let mut order: Vec<usize> = Vec::new();
    for b in 0..g.n_boards() {
        let pins = g.pins_of(b);
        let first = g.board_pins().offsets[b as usize] as usize;
        order.clear();
        order.extend(0..pins.len());
        // Held-out pins are taken from the end of `order`: the latest, or a random share.
        match times {
            Some(t) if by_time => order.sort_by_key(|&i| (t[first + i], pins[i])),
            _ => {
                let mut rng = SmallRng::seed_from_u64(cfg.seed ^ (b as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                for i in (1..order.len()).rev() {
                    let j = rng.random_range(0..=i);
                    order.swap(i, j);
                }
            }
        }
        let mut keep = order.len();
        if make_test {
            let h = held_out_count(keep, cfg.holdout);
            test.extend(order[keep - h..keep].iter().map(|&i| (b, pins[i])));
            keep -= h;
        }
        let v = held_out_count(keep, cfg.validation);
        validation.extend(order[keep - v..keep].iter().map(|&i| (b, pins[i])));
        keep -= v;
        train.extend(order[..keep].iter().map(|&i| (b, pins[i])));
    }
    let mut out = Graph::from_edges(g.n_pins(), g.n_boards(), &train, &test);
    out.set_validation(&validation);
    if let Some(t) = times {
        // Each kept edge keeps its time: find it in the old (sorted) row.
        let mut kept = Vec::with_capacity(out.n_edges());
        for b in 0..out.n_boards() {
            let (old, first) = (g.pins_of(b), g.board_pins().offsets[b as usize] as usize);
            for p in out.pins_of(b) {
                let i = old.binary_search(p).unwrap_or(0);
                kept.push(t[first + i]);
            }
        }
        out.edge_times = Some(kept);
    }
    out.pin_labels = g.pin_labels;
    out.pin_keys = g.pin_keys;
    out.board_labels = g.board_labels;
    out.features = g.features;
    out.categories = g.categories;
    out.source = g.source;
    Ok(out)
}
