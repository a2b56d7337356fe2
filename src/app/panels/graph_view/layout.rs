//! The graph view's force-directed layout of one ego slice: rings by breadth-first depth to start,
//! then Fruchterman–Reingold iterations (grid-bucketed repulsion, a weak pull to the centre) that
//! cool until the layout settles. Plain numbers: it knows nothing of drawing.

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui;

use crate::app::cache::CacheKey;
use crate::explain::{EgoNode, EgoSlice};

/// Ideal edge length of the layout, in world units.
const EDGE_LEN: f32 = 30.0;

/// The force-directed layout of one slice.
pub struct Layout {
    pub key: CacheKey,
    pub slice: Arc<EgoSlice>,
    pub pos: Vec<[f32; 2]>,
    pub(super) pin_index: HashMap<u32, u32>,
    /// Node index → adjacent node indices.
    pub(super) adjacency: Vec<Vec<u32>>,
    temperature: f32,
    pub iterations: usize,
    pub settled: bool,
}

impl Layout {
    pub(super) fn new(key: CacheKey, slice: Arc<EgoSlice>) -> Layout {
        let n = slice.nodes.len();
        // Rings by breadth-first depth: each depth fills an annulus just outside the previous one,
        // by the golden angle at equal area per node (about one EDGE_LEN square), so the layout
        // starts near its working density. Packed tighter, every node would start with hundreds of
        // others inside its repulsion cell: 5,000 nodes cost ~50 ms an iteration on 2 cores.
        let golden = std::f32::consts::PI * (3.0 - 5f32.sqrt());
        let area_per_node = EDGE_LEN * EDGE_LEN / std::f32::consts::PI;
        let max_depth = slice.depth.iter().copied().max().unwrap_or(0) as usize;
        let mut count = vec![0u32; max_depth + 1];
        for &d in &slice.depth {
            count[d as usize] += 1;
        }
        let mut inner = vec![0f32; max_depth + 1];
        let mut outer = 0f32;
        for d in 1..=max_depth {
            inner[d] = outer + EDGE_LEN * 1.5;
            outer = (inner[d] * inner[d] + count[d] as f32 * area_per_node).sqrt();
        }
        let mut placed = vec![0u32; max_depth + 1];
        let mut pos = Vec::with_capacity(n);
        for &d in &slice.depth {
            let i = &mut placed[d as usize];
            let a = *i as f32 * golden;
            let r0 = inner[d as usize];
            let r = (r0 * r0 + *i as f32 * area_per_node).sqrt();
            pos.push([r * a.cos(), r * a.sin()]);
            *i += 1;
        }
        let mut adjacency = vec![Vec::new(); n];
        for &(a, b) in &slice.edges {
            adjacency[a as usize].push(b);
            adjacency[b as usize].push(a);
        }
        let pin_index = slice
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| if let EgoNode::Pin(p) = n { Some((*p, i as u32)) } else { None })
            .collect();
        Layout { key, slice, pos, pin_index, adjacency, temperature: EDGE_LEN * 3.0, iterations: 0, settled: n <= 1 }
    }

    /// One Fruchterman–Reingold iteration with grid-bucketed repulsion and a weak pull to the
    /// centre; cools, and settles when the temperature is low.
    pub(super) fn iterate(&mut self) {
        let k = EDGE_LEN;
        let mut disp = crate::teach::repulsion::repulsion(&self.pos, k, 2.0 * k);
        for (i, nbrs) in self.adjacency.iter().enumerate() {
            for &j in nbrs {
                let (p, q) = (self.pos[i], self.pos[j as usize]);
                let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
                let d = (dx * dx + dy * dy).sqrt();
                let f = d / k; // = (d²/k) / d
                disp[i][0] += dx * f;
                disp[i][1] += dy * f;
            }
        }
        let t = self.temperature;
        for (p, d) in self.pos.iter_mut().zip(&disp) {
            let (gx, gy) = (-p[0] * 0.01, -p[1] * 0.01);
            let (dx, dy) = (d[0] + gx, d[1] + gy);
            let len = (dx * dx + dy * dy).sqrt().max(1e-6);
            let step = len.min(t);
            p[0] += dx / len * step;
            p[1] += dy / len * step;
        }
        self.temperature *= 0.97;
        self.iterations += 1;
        if self.temperature < k * 0.02 {
            self.settled = true;
        }
    }

    pub(super) fn bounds(&self) -> egui::Rect {
        let mut r = egui::Rect::NOTHING;
        for p in &self.pos {
            r.extend_with(egui::pos2(p[0], p[1]));
        }
        if r.is_negative() { egui::Rect::from_center_size(egui::Pos2::ZERO, egui::vec2(100.0, 100.0)) } else { r }
    }
}
