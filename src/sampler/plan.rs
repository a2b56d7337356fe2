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
