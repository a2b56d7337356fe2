//! The repulsive forces of a force-directed layout (Fruchterman–Reingold with grid buckets):
//! every node pushed away from the nodes in its own and the eight neighbouring cells, computed in
//! parallel over nodes. The graph view's layout calls it once per iteration; at 5,000 nodes it was
//! most of a frame when computed on one core.

use std::collections::HashMap;

use rayon::prelude::*;

/// Each node's displacement from repulsion: `Σ (p − q)·k²/|p − q|²` over the nodes `q` closer
/// than `cell` (the grid's cell size). Coincident nodes are pushed apart in a fixed direction
/// that depends on their indices, so the result is deterministic.
pub fn repulsion(pos: &[[f32; 2]], k: f32, cell: f32) -> Vec<[f32; 2]> {
    let cell_of = |p: &[f32; 2]| ((p[0] / cell).floor() as i32, (p[1] / cell).floor() as i32);
    let mut grid: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
    for (i, p) in pos.iter().enumerate() {
        grid.entry(cell_of(p)).or_default().push(i as u32);
    }
    pos.par_iter()
        .enumerate()
        .map(|(i, p)| {
            let (cx, cy) = cell_of(p);
            let mut d = [0f32; 2];
            for dx in -1..=1 {
                for dy in -1..=1 {
                    let Some(bucket) = grid.get(&(cx + dx, cy + dy)) else { continue };
                    for &j in bucket {
                        if j as usize == i {
                            continue;
                        }
                        let q = pos[j as usize];
                        let (mut ddx, mut ddy) = (p[0] - q[0], p[1] - q[1]);
                        let mut d2 = ddx * ddx + ddy * ddy;
                        if d2 < 1e-4 {
                            ddx = ((i * 7 + j as usize) % 13) as f32 * 0.01 + 0.01;
                            ddy = ((i * 3 + j as usize) % 11) as f32 * 0.01 - 0.05;
                            d2 = ddx * ddx + ddy * ddy;
                        }
                        if d2 > cell * cell {
                            continue;
                        }
                        let f = k * k / d2; // = (k²/d) / d
                        d[0] += ddx * f;
                        d[1] += ddy * f;
                    }
                }
            }
            d
        })
        .collect()
}
