//! ItemKNN: item–item cosine over all co-occurrences, computed per query by walking the graph
//! (never the n × n similarity matrix).

use crate::eval::Scorer;
use crate::graph::{Csr, Graph};

/// `1 / sqrt(degree)` of every row of `csr` (0 for rows without edges).
fn inv_sqrt_degrees(csr: &Csr) -> Vec<f32> {
    (0..csr.rows() as u32)
        .map(|i| match csr.degree(i) {
            0 => 0.0,
            d => 1.0 / (d as f32).sqrt(),
        })
        .collect()
}

/// Item–item cosine kNN over all co-occurrences (no top-k pruning).
///
/// `S[i][j] = c_ij / sqrt(n_i n_j)`, with `c_ij` the number of training boards holding both pins and
/// `n_i` the pin's training degree (so `S[i][i] = 1` for every pin with a board). A board scores pin
/// `j` with `Σ_{i ∈ board} S[i][j]`; a query pin `q` scores pin `j` with `S[q][j]`. Scores are
/// computed per query through the graph, never as a dense matrix.
#[derive(Clone, Debug)]
pub struct ItemKnn {
    board_pins: Csr,
    pin_boards: Csr,
    /// `1 / sqrt(n_i)`, 0 for pins without training boards.
    inv_sqrt_deg: Vec<f32>,
}

impl ItemKnn {
    /// Copies the training adjacency of `g` (O(edges) memory).
    pub fn new(g: &Graph) -> ItemKnn {
        ItemKnn {
            board_pins: g.board_pins().clone(),
            pin_boards: g.pin_boards().clone(),
            inv_sqrt_deg: inv_sqrt_degrees(g.pin_boards()),
        }
    }

    /// `S[a][b]`, by intersecting the two pins' sorted board lists (0 for unknown pins).
    pub fn similarity(&self, a: u32, b: u32) -> f32 {
        let n = self.pin_boards.rows() as u32;
        if a >= n || b >= n {
            return 0.0;
        }
        let (ra, rb) = (self.pin_boards.row(a), self.pin_boards.row(b));
        let (mut x, mut y, mut common) = (0, 0, 0u32);
        while x < ra.len() && y < rb.len() {
            match ra[x].cmp(&rb[y]) {
                std::cmp::Ordering::Less => x += 1,
                std::cmp::Ordering::Greater => y += 1,
                std::cmp::Ordering::Equal => {
                    common += 1;
                    x += 1;
                    y += 1;
                }
            }
        }
        common as f32 * self.inv_sqrt_deg[a as usize] * self.inv_sqrt_deg[b as usize]
    }
}

impl Scorer for ItemKnn {
    fn board_scores(&self, board: u32, out: &mut [f32]) {
        out.fill(0.0);
        if board as usize >= self.board_pins.rows() {
            return;
        }
        // Σ_i S[i][j] = (1/√n_j) Σ_{b'} w_{b'} [j ∈ b'], where w_{b'} = Σ_{i ∈ board ∩ b'} 1/√n_i.
        // Merging the weights per board b' first visits each neighbouring board's pins once.
        let pins = self.board_pins.row(board);
        let mut weights: Vec<(u32, f32)> = Vec::new();
        for &i in pins {
            let w = self.inv_sqrt_deg[i as usize];
            weights.extend(self.pin_boards.row(i).iter().map(|&b| (b, w)));
        }
        weights.sort_unstable_by_key(|&(b, _)| b);
        let mut k = 0;
        while k < weights.len() {
            let b = weights[k].0;
            let mut w = 0.0f32;
            while k < weights.len() && weights[k].0 == b {
                w += weights[k].1;
                k += 1;
            }
            for &j in self.board_pins.row(b) {
                if let Some(o) = out.get_mut(j as usize) {
                    *o += w;
                }
            }
        }
        for (o, &s) in out.iter_mut().zip(&self.inv_sqrt_deg) {
            *o *= s;
        }
    }

    fn pin_scores(&self, pin: u32, out: &mut [f32]) {
        out.fill(0.0);
        if pin as usize >= self.pin_boards.rows() {
            return;
        }
        for &b in self.pin_boards.row(pin) {
            for &j in self.board_pins.row(b) {
                if let Some(o) = out.get_mut(j as usize) {
                    *o += 1.0;
                }
            }
        }
        let q = self.inv_sqrt_deg[pin as usize];
        for (o, &s) in out.iter_mut().zip(&self.inv_sqrt_deg) {
            *o *= q * s;
        }
    }
}
