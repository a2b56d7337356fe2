//! CPU-side batch construction: node neighbourhoods, training triplets, random and hard negatives
//! (the curriculum), and the two-layer gather plans (Algorithm 1's node sets) the model consumes.
//!
//! Nothing here knows about tensors: batches are plain vectors that the trainer uploads.
//!
//! This file holds the node neighbourhoods; `plan` the gather plans, `negatives` the hard-negative
//! pools, `pairs` the epoch's pairs, the triplets and the batches.

mod negatives;
mod pairs;
mod plan;

mod exclude;
pub use exclude::exclude_positive_edges;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::walk::{Neighbourhoods, WalkConfig, uniform_neighbourhoods};

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
/// (a deterministic sample of K when a board has more), equally weighted. Every row depends only
/// on its own node (walks and samples are seeded per node), so any partition of the nodes can be
/// computed apart ([`pin_rows`], [`board_row`]) and gives the same rows.
pub fn node_neighbourhoods(g: &Graph, kind: NeighbourhoodKind, walk: &WalkConfig) -> NodeNeighbourhoods {
    let k = walk.top_k;
    let pins: Vec<u32> = (0..g.n_pins()).collect();
    let nb = pin_rows(g, kind, walk, &pins);
    let mut ids = nb.ids;
    let mut weights = nb.weights;
    ids.reserve(g.n_boards() as usize * k);
    weights.reserve(g.n_boards() as usize * k);
    for b in 0..g.n_boards() {
        board_row(g, b, k, walk.seed, &mut ids, &mut weights);
    }
    NodeNeighbourhoods { k, n_pins: g.n_pins(), ids, weights }
}

/// The neighbourhood rows of `pins` (K per pin, padded with the pin itself at weight 0).
pub fn pin_rows(g: &Graph, kind: NeighbourhoodKind, walk: &WalkConfig, pins: &[u32]) -> Neighbourhoods {
    match kind {
        NeighbourhoodKind::Walks => crate::walk::neighbourhoods(g, pins, walk).0,
        NeighbourhoodKind::Uniform => uniform_neighbourhoods(g, pins, walk.top_k, walk.seed),
    }
}

/// Appends board `b`'s row (K entries): its pins, or a sample of K of them seeded by (seed, b),
/// equally weighted; padded with the board's own node id at weight 0.
pub fn board_row(g: &Graph, b: u32, k: usize, seed: u64, ids: &mut Vec<u32>, weights: &mut Vec<f32>) {
    let pins = g.pins_of(b);
    let chosen: Vec<u32> = if pins.len() <= k {
        pins.to_vec()
    } else {
        // Partial Fisher–Yates over a copy: k distinct pins.
        let mut rng = SmallRng::seed_from_u64(seed ^ 0xB0A2D ^ u64::from(b).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut pool = pins.to_vec();
        for i in 0..k {
            let j = rng.random_range(i..pool.len());
            pool.swap(i, j);
        }
        pool.truncate(k);
        pool
    };
    let w = if chosen.is_empty() { 0.0 } else { 1.0 / chosen.len() as f32 };
    let node = g.n_pins() + b;
    for i in 0..k {
        ids.push(chosen.get(i).copied().unwrap_or(node));
        weights.push(if i < chosen.len() { w } else { 0.0 });
    }
}

pub use self::negatives::*;
pub use self::pairs::*;
pub use self::plan::*;
