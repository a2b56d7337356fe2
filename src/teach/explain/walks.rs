//! The walks and graph views' computations: the animated walks of one pin (with a radial layout of
//! the pins they reach), the visit-count error curve, and a bounded ego slice of the graph.

use super::ExplainError;
use crate::graph::Graph;
use crate::walk::WalkConfig;

/// Every step of the animated walks of one pin, with a radial layout of the pins they reach.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WalkReplay {
    pub pin: u32,
    pub cfg: WalkConfig,
    /// All T × L pin-steps, in order (empty when the pin has no boards).
    pub steps: Vec<crate::walk::WalkStep>,
    /// Position in [-1, 1]² of every pin the walks reach (and of the start, at the origin): ring r
    /// holds the pins r pin-steps away, each near the pin it was first reached from.
    pub positions: std::collections::HashMap<u32, [f32; 2]>,
    /// BFS parent of each reached pin (for drawing the tree of first discoveries).
    pub parents: std::collections::HashMap<u32, u32>,
    /// How many rings the layout has.
    pub rings: u32,
}

/// Records the walks of `pin` step by step ([`crate::walk::WalkAnimation`]) and lays out the pins
/// they reach.
pub fn walk_replay(g: &Graph, pin: u32, cfg: &WalkConfig) -> Result<WalkReplay, ExplainError> {
    use std::collections::{HashMap, HashSet};
    if pin >= g.n_pins() {
        return Err(ExplainError::NoSuchPin { pin, n_pins: g.n_pins() });
    }
    cfg.validate().map_err(|e| ExplainError::Mismatch(e.to_string()))?;
    let mut anim = crate::walk::WalkAnimation::new(g, pin, cfg.clone());
    let mut steps = Vec::with_capacity(cfg.walks as usize * cfg.length as usize);
    while let Some(s) = anim.advance(g) {
        steps.push(s);
    }
    let visited: HashSet<u32> = steps.iter().map(|s| s.pin).chain([pin]).collect();
    // BFS over pin → board → pin, restricted to pins the walks reached (their paths stay inside).
    let mut ring_of: HashMap<u32, u32> = HashMap::from([(pin, 0)]);
    let mut parents = HashMap::new();
    let mut frontier = vec![pin];
    let mut rings: Vec<Vec<u32>> = vec![vec![pin]];
    while !frontier.is_empty() {
        let r = rings.len() as u32;
        let mut next = Vec::new();
        for &p in &frontier {
            for &b in g.boards_of(p) {
                for &v in g.pins_of(b) {
                    if visited.contains(&v) && !ring_of.contains_key(&v) {
                        ring_of.insert(v, r);
                        parents.insert(v, p);
                        next.push(v);
                    }
                }
            }
        }
        if !next.is_empty() {
            rings.push(next.clone());
        }
        frontier = next;
    }
    let n_rings = rings.len().saturating_sub(1) as u32;
    let mut positions: HashMap<u32, [f32; 2]> = HashMap::from([(pin, [0.0, 0.0])]);
    let mut angle: HashMap<u32, f32> = HashMap::from([(pin, 0.0)]);
    for (r, ring) in rings.iter().enumerate().skip(1) {
        let mut ring = ring.clone();
        ring.sort_by(|a, b| angle[&parents[a]].total_cmp(&angle[&parents[b]]).then(a.cmp(b)));
        let radius = r as f32 / n_rings.max(1) as f32;
        let n = ring.len() as f32;
        for (i, &v) in ring.iter().enumerate() {
            let a = (i as f32 + 0.5) / n * std::f32::consts::TAU;
            angle.insert(v, a);
            positions.insert(v, [radius * a.cos(), radius * a.sin()]);
        }
    }
    Ok(WalkReplay { pin, cfg: cfg.clone(), steps, positions, parents, rings: n_rings })
}

/// How far visit-count estimates are from the exact distributions, as the number of walks grows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WalkErrorCurve {
    /// Exact Personalized PageRank of the pin (start excluded, renormalised).
    pub ppr: Vec<f64>,
    /// (walks T, L1 distance of normalised counts to the exact PPR).
    pub vs_ppr: Vec<(u32, f64)>,
    /// (walks T, L1 distance to the exact expected visits of length-L walks — the unbiased target).
    pub vs_expected: Vec<(u32, f64)>,
}

/// The error of the estimate from 1 … `max_walks` walks (log-spaced), against PPR and the exact
/// expectation of the finite-length walk.
pub fn walk_error_curve(g: &Graph, pin: u32, cfg: &WalkConfig, max_walks: u32) -> Result<WalkErrorCurve, ExplainError> {
    if pin >= g.n_pins() {
        return Err(ExplainError::NoSuchPin { pin, n_pins: g.n_pins() });
    }
    let ppr = crate::walk::personalized_pagerank(g, pin, cfg.restart, 1e-10);
    let expected = crate::walk::expected_visits(g, pin, cfg.length, cfg.restart);
    let mut ts: Vec<u32> = Vec::new();
    let mut t = 1.0f64;
    while (t as u32) <= max_walks.max(1) {
        let v = t.round() as u32;
        if ts.last() != Some(&v) {
            ts.push(v);
        }
        t *= 1.5;
    }
    let mut vs_ppr = Vec::new();
    let mut vs_expected = Vec::new();
    for &t in &ts {
        let c = crate::walk::visit_counts(g, pin, &WalkConfig { walks: t, ..cfg.clone() });
        let est = crate::walk::normalise(&c);
        vs_ppr.push((t, crate::walk::l1(&est, &ppr)));
        vs_expected.push((t, crate::walk::l1(&est, &expected)));
    }
    Ok(WalkErrorCurve { ppr, vs_ppr, vs_expected })
}

/// A node of an ego-network slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EgoNode {
    Pin(u32),
    Board(u32),
}

/// A bounded slice of the graph around one pin: breadth-first over pin → boards → pins → …, at
/// most `max_nodes` nodes, every edge between included nodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EgoSlice {
    pub centre: u32,
    pub nodes: Vec<EgoNode>,
    /// Breadth-first depth of each node (0 = the centre pin, 1 = its boards, 2 = co-pinned pins, …).
    pub depth: Vec<u8>,
    /// Edges as indices into `nodes` (pin index, board index).
    pub edges: Vec<(u32, u32)>,
    /// Whether the slice stopped at `max_nodes` before covering the connected component.
    pub truncated: bool,
}

/// The ego network of `centre` up to `max_nodes` nodes. A single node expands into at most an
/// eighth of the budget, so one huge board cannot take the whole picture.
pub fn ego_slice(g: &Graph, centre: u32, max_nodes: usize) -> Result<EgoSlice, ExplainError> {
    use std::collections::HashMap;
    if centre >= g.n_pins() {
        return Err(ExplainError::NoSuchPin { pin: centre, n_pins: g.n_pins() });
    }
    let max_nodes = max_nodes.max(2);
    let per_node = (max_nodes / 8).max(8);
    let mut index: HashMap<EgoNode, u32> = HashMap::new();
    let mut nodes = vec![EgoNode::Pin(centre)];
    let mut depth = vec![0u8];
    index.insert(EgoNode::Pin(centre), 0);
    let mut head = 0;
    let mut truncated = false;
    while head < nodes.len() {
        let (node, d) = (nodes[head], depth[head]);
        head += 1;
        let nbrs: Vec<EgoNode> = match node {
            EgoNode::Pin(p) => g.boards_of(p).iter().map(|&b| EgoNode::Board(b)).collect(),
            EgoNode::Board(b) => g.pins_of(b).iter().map(|&p| EgoNode::Pin(p)).collect(),
        };
        let mut added = 0;
        for v in nbrs {
            if index.contains_key(&v) {
                continue;
            }
            if nodes.len() >= max_nodes || added >= per_node {
                truncated = true;
                break;
            }
            index.insert(v, nodes.len() as u32);
            nodes.push(v);
            depth.push(d.saturating_add(1));
            added += 1;
        }
    }
    // Boards beyond the centre's own that touch a single pin of the slice only add clutter.
    let degree_in = |n: &EgoNode| match n {
        EgoNode::Board(b) => g.pins_of(*b).iter().filter(|&&p| index.contains_key(&EgoNode::Pin(p))).count(),
        EgoNode::Pin(_) => usize::MAX,
    };
    let keep: Vec<bool> = nodes.iter().zip(&depth).map(|(n, &d)| d <= 1 || degree_in(n) >= 2).collect();
    if keep.iter().any(|k| !k) {
        let (mut kept_nodes, mut kept_depth) = (Vec::new(), Vec::new());
        for ((n, d), k) in nodes.iter().zip(&depth).zip(&keep) {
            if *k {
                kept_nodes.push(*n);
                kept_depth.push(*d);
            }
        }
        nodes = kept_nodes;
        depth = kept_depth;
        index = nodes.iter().enumerate().map(|(i, n)| (*n, i as u32)).collect();
    }
    let mut edges = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if let EgoNode::Pin(p) = n {
            for &b in g.boards_of(*p) {
                if let Some(&j) = index.get(&EgoNode::Board(b)) {
                    edges.push((i as u32, j));
                }
            }
        }
    }
    Ok(EgoSlice { centre, nodes, depth, edges, truncated })
}
