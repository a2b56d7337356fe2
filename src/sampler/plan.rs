//! Algorithm 1's two-layer gather plans: the input nodes S⁰ ⊇ S¹ ⊇ targets of a batch, with the
//! self and neighbour gathers and pooling weights between them, as plain vectors.

use super::NodeNeighbourhoods;

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
    pub(super) fn clear(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        self.nodes.clear();
    }
    /// Position of `node`, inserting it at the end if new.
    pub(super) fn insert(&mut self, node: u32) -> u32 {
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

/// What a batch's gather plan can be built as: the gathers themselves ([`HostBlock`]) or only the
/// node sets ([`HostNodeSets`]), for a device that holds every node's neighbourhood and derives
/// the gathers itself.
pub trait BlockPlan: Sized + Send + 'static {
    /// The plan for `targets` (which must be distinct), using two reusable node sets.
    fn build(
        nb: &NodeNeighbourhoods,
        targets: &[u32],
        features: Option<&crate::graph::Features>,
        sets: &mut [NodeSet; 2],
    ) -> Self;
    /// Adds a row for target row `target` in both layers with the neighbourhood weights
    /// `weights` (its K neighbours unchanged) and returns the new target's row.
    fn own_row(&mut self, target: u32, weights: &[f32]) -> u32;
}

/// Fills `s1` with the targets then their neighbours and `s0` with `s1` then the neighbours of
/// `s1`'s nodes, calling `layer2(target, rows in s1)` and `layer1(node of s1, rows in s0)` for
/// each node's K neighbours.
fn fill_sets(
    nb: &NodeNeighbourhoods,
    targets: &[u32],
    [s1, s0]: &mut [NodeSet; 2],
    mut layer2: impl FnMut(u32, &mut dyn Iterator<Item = u32>),
    mut layer1: impl FnMut(u32, &mut dyn Iterator<Item = u32>),
) {
    s1.clear();
    for &t in targets {
        s1.insert(t);
    }
    for &t in targets {
        layer2(t, &mut nb.ids_of(t).iter().map(|&v| s1.insert(v)));
    }
    s0.clear();
    for i in 0..s1.nodes.len() {
        s0.insert(s1.nodes[i]);
    }
    for i in 0..s1.nodes.len() {
        let u = s1.nodes[i];
        layer1(u, &mut nb.ids_of(u).iter().map(|&v| s0.insert(v)));
    }
}

/// `[nodes.len() × dim]` feature rows of `nodes` (zeros for boards).
fn feature_rows(nodes: &[u32], n_pins: u32, f: &crate::graph::Features) -> Vec<f32> {
    let mut out = vec![0f32; nodes.len() * f.dim];
    for (row, &node) in nodes.iter().enumerate() {
        if node < n_pins {
            out[row * f.dim..(row + 1) * f.dim].copy_from_slice(f.row(node));
        }
    }
    out
}

/// Builds the gather plan for `targets` (which must be distinct). Uses two reusable node sets.
pub fn build_block(
    nb: &NodeNeighbourhoods,
    targets: &[u32],
    features: Option<&crate::graph::Features>,
    sets: &mut [NodeSet; 2],
) -> HostBlock {
    let k = nb.k;
    let mut l2 = HostLayer { self_idx: (0..targets.len() as u32).collect(), k, ..HostLayer::default() };
    let mut l1 = HostLayer { k, ..HostLayer::default() };
    fill_sets(
        nb,
        targets,
        sets,
        |t, rows| {
            l2.nbr_idx.extend(rows);
            l2.weights.extend_from_slice(nb.weights_of(t));
        },
        |u, rows| {
            l1.nbr_idx.extend(rows);
            l1.weights.extend_from_slice(nb.weights_of(u));
        },
    );
    let s0 = &sets[1].nodes;
    l1.self_idx = (0..sets[0].nodes.len() as u32).collect();
    HostBlock {
        input_nodes: s0.clone(),
        input_features: features.map(|f| feature_rows(s0, nb.n_pins, f)),
        feature_dim: features.map_or(0, |f| f.dim),
        layers: [l1, l2],
        n_targets: targets.len(),
    }
}

impl BlockPlan for HostBlock {
    fn build(
        nb: &NodeNeighbourhoods,
        targets: &[u32],
        features: Option<&crate::graph::Features>,
        sets: &mut [NodeSet; 2],
    ) -> Self {
        build_block(nb, targets, features, sets)
    }

    fn own_row(&mut self, target: u32, weights: &[f32]) -> u32 {
        let [l1, l2] = &mut self.layers;
        let (k, target) = (l1.k, target as usize);
        let s1 = l2.self_idx[target] as usize;
        // Layer 1: the target's own representation, from the same input rows.
        let row1 = l1.self_idx.len() as u32;
        l1.self_idx.push(l1.self_idx[s1]);
        l1.nbr_idx.extend_from_within(s1 * k..(s1 + 1) * k);
        l1.weights.extend_from_slice(weights);
        // Layer 2: its embedding, from its new layer-1 row and the same neighbour rows.
        let row2 = l2.self_idx.len() as u32;
        l2.self_idx.push(row1);
        l2.nbr_idx.extend_from_within(target * k..(target + 1) * k);
        l2.weights.extend_from_slice(weights);
        self.n_targets += 1;
        row2
    }
}

/// A batch's node sets without its gathers: S⁰ ⊇ S¹ ⊇ targets as one list (S¹ first, the targets
/// first within it), for a device that holds every node's K neighbours and weights
/// (`model::ResidentNeighbourhoods`) and derives the gathers itself. Uploading this instead of a
/// [`HostBlock`] moves n⁰ ids rather than (n¹ + n²)·K ids and weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostNodeSets {
    pub input_nodes: Vec<u32>,
    /// `[input_nodes.len() × feature_dim]`, zeros for boards, when the graph has features.
    pub input_features: Option<Vec<f32>>,
    pub feature_dim: usize,
    /// |S¹|: the first `n1` input nodes.
    pub n1: usize,
    /// The targets: the first `n_targets` input nodes.
    pub n_targets: usize,
    /// Own rows (see [`BlockPlan::own_row`]): the target row each copies, in order, and its
    /// `[own_rows.len() × k]` weights.
    pub own_rows: Vec<u32>,
    pub own_weights: Vec<f32>,
    pub k: usize,
}

impl BlockPlan for HostNodeSets {
    fn build(
        nb: &NodeNeighbourhoods,
        targets: &[u32],
        features: Option<&crate::graph::Features>,
        sets: &mut [NodeSet; 2],
    ) -> Self {
        fill_sets(nb, targets, sets, |_, rows| rows.for_each(drop), |_, rows| rows.for_each(drop));
        let s0 = &sets[1].nodes;
        HostNodeSets {
            input_nodes: s0.clone(),
            input_features: features.map(|f| feature_rows(s0, nb.n_pins, f)),
            feature_dim: features.map_or(0, |f| f.dim),
            n1: sets[0].nodes.len(),
            n_targets: targets.len(),
            own_rows: Vec::new(),
            own_weights: Vec::new(),
            k: nb.k,
        }
    }

    fn own_row(&mut self, target: u32, weights: &[f32]) -> u32 {
        self.own_rows.push(target);
        self.own_weights.extend_from_slice(weights);
        (self.n_targets + self.own_rows.len() - 1) as u32
    }
}
