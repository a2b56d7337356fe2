//! The walks lab's pictures: the radial picture of the walks (the tree of first discoveries, the
//! walker's trail, visited pins sized by count), the visit counts against the sampler's, and the
//! error curve.

use eframe::egui;
use egui_plot::{Bar, BarChart, Legend, Line, Plot, Points};

use super::{OTHER_COLOUR, TOP_COLOUR, WALKER_COLOUR, WalkLab, WalkPhase};
use crate::explain::{WalkErrorCurve, WalkReplay};
use crate::walk::WalkConfig;

impl WalkLab {
    pub(super) fn picture_ui(&self, ui: &mut egui::Ui, r: &WalkReplay, top: &[(u32, u32)], g: &crate::graph::Graph) {
        let size = egui::vec2(ui.available_width(), (ui.available_height() - 4.0).clamp(260.0, 620.0));
        let (resp, painter) = ui.allocate_painter(size, egui::Sense::hover());
        let rect = resp.rect;
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
        let centre = rect.center();
        let radius = 0.5 * rect.width().min(rect.height()) - 14.0;
        let at = |p: u32| r.positions.get(&p).map(|q| centre + radius * egui::vec2(q[0], q[1]));
        for ring in 1..=r.rings {
            painter.circle_stroke(
                centre,
                radius * ring as f32 / r.rings as f32,
                egui::Stroke::new(1.0, ui.visuals().faint_bg_color),
            );
        }
        let max_count = self.counts.iter().copied().max().unwrap_or(0).max(1) as f32;
        let in_top: std::collections::HashSet<u32> = top.iter().map(|t| t.0).collect();
        self.paint_paths(&painter, r, &at);
        let mut hovered = None;
        let hover = resp.hover_pos();
        for &v in r.positions.keys() {
            let c = self.counts[v as usize];
            if c == 0 || v == r.pin {
                continue;
            }
            let Some(pos) = at(v) else { continue };
            let rad = 2.0 + 6.0 * (c as f32 / max_count).sqrt();
            let fill = if in_top.contains(&v) { TOP_COLOUR } else { OTHER_COLOUR };
            painter.circle_filled(pos, rad, fill);
            if hover.is_some_and(|h| h.distance(pos) <= rad + 2.0) {
                hovered = Some((v, c));
            }
        }
        if let Some(p) = at(r.pin) {
            painter.circle(p, 8.0, egui::Color32::WHITE, egui::Stroke::new(2.0, WALKER_COLOUR));
        }
        self.paint_walker(ui, &painter, rect, r, g, &at);
        painter.text(
            rect.left_top() + egui::vec2(8.0, 6.0),
            egui::Align2::LEFT_TOP,
            format!(
                "rings = pin-steps from the start · {} pins reached · orange = current top {}",
                self.counts.iter().filter(|&&c| c > 0).count(),
                top.len()
            ),
            egui::FontId::proportional(12.0),
            ui.visuals().weak_text_color(),
        );
        if let Some((v, c)) = hovered {
            resp.on_hover_text(format!("{} (id {v}): {c} visits", g.pin_label(v)));
        }
    }

    /// The tree of first discoveries (faint, for the pins reached so far) and the walker's trail.
    fn paint_paths(&self, painter: &egui::Painter, r: &WalkReplay, at: &impl Fn(u32) -> Option<egui::Pos2>) {
        // The tree of first discoveries, faint, for the pins reached so far.
        for (&v, &p) in &r.parents {
            if self.counts[v as usize] > 0
                && let (Some(a), Some(b)) = (at(v), at(p))
            {
                painter.line_segment([a, b], egui::Stroke::new(0.5, egui::Color32::from_gray(60)));
            }
        }
        // The walker's trail: the last steps of the current walk.
        let trail_start = self.cursor.saturating_sub(12);
        for (i, s) in r.steps[trail_start..self.cursor].iter().enumerate() {
            if let (Some(a), Some(b)) = (at(s.from), at(s.pin)) {
                let alpha = (40 + 200 * (i + 1) / (self.cursor - trail_start).max(1)) as u8;
                painter.line_segment(
                    [a, b],
                    egui::Stroke::new(1.5, egui::Color32::from_rgba_unmultiplied(120, 255, 160, alpha)),
                );
            }
        }
    }

    /// The walker, moving along its current step, and what that step was.
    fn paint_walker(
        &self,
        ui: &egui::Ui,
        painter: &egui::Painter,
        rect: egui::Rect,
        r: &WalkReplay,
        g: &crate::graph::Graph,
        at: &impl Fn(u32) -> Option<egui::Pos2>,
    ) {
        if self.cursor > 0 && self.cursor <= r.steps.len() {
            let s = r.steps[self.cursor - 1];
            if let Some(to) = at(s.pin) {
                let pos = match (self.phase, r.steps.get(self.cursor)) {
                    (WalkPhase::Running, Some(next)) => {
                        at(next.from).zip(at(next.pin)).map_or(to, |(a, b)| a.lerp(b, self.step_phase))
                    }
                    _ => to,
                };
                painter.circle(pos, 5.0, WALKER_COLOUR, egui::Stroke::new(1.5, egui::Color32::BLACK));
                painter.text(
                    rect.left_bottom() + egui::vec2(8.0, -8.0),
                    egui::Align2::LEFT_BOTTOM,
                    format!(
                        "last step: {} to {} via {}{}",
                        g.pin_label(s.from),
                        g.pin_label(s.pin),
                        g.board_label(s.board),
                        if s.restarted { " (then restart)" } else { "" }
                    ),
                    egui::FontId::proportional(12.0),
                    ui.visuals().text_color(),
                );
            }
        }
    }

    pub(super) fn counts_ui(
        &self,
        ui: &mut egui::Ui,
        top: &[(u32, u32)],
        curve: Option<&WalkErrorCurve>,
        g: &crate::graph::Graph,
        cfg: &WalkConfig,
    ) {
        let total: u64 = self.counts.iter().map(|&c| c as u64).sum();
        // Bars in a fixed order (the exact PPR ranking), so they grow in place; walk top-K outside it appended.
        let mut order: Vec<u32> = match curve {
            Some(c) => {
                let mut by_ppr: Vec<u32> = (0..c.ppr.len() as u32).filter(|&p| c.ppr[p as usize] > 0.0).collect();
                by_ppr.sort_by(|&a, &b| c.ppr[b as usize].total_cmp(&c.ppr[a as usize]).then(a.cmp(&b)));
                by_ppr.truncate((2 * cfg.top_k).max(30));
                by_ppr
            }
            None => top.iter().map(|t| t.0).collect(),
        };
        for &(p, _) in top {
            if !order.contains(&p) {
                order.push(p);
            }
        }
        let in_top: std::collections::HashSet<u32> = top.iter().map(|t| t.0).collect();
        let bars: Vec<Bar> = order
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                Bar::new(i as f64 + 1.0, self.counts[p as usize] as f64)
                    .name(format!("{} (id {p})", g.pin_label(p)))
                    .fill(if in_top.contains(&p) { TOP_COLOUR } else { OTHER_COLOUR })
                    .width(0.8)
            })
            .collect();
        let expected: Vec<[f64; 2]> = match curve {
            Some(c) if total > 0 => {
                order.iter().enumerate().map(|(i, &p)| [i as f64 + 1.0, c.ppr[p as usize] * total as f64]).collect()
            }
            _ => Vec::new(),
        };
        let overlap = curve.map(|c| {
            let mut by_ppr: Vec<u32> = (0..c.ppr.len() as u32).collect();
            by_ppr.sort_by(|&a, &b| c.ppr[b as usize].total_cmp(&c.ppr[a as usize]).then(a.cmp(&b)));
            by_ppr.iter().take(cfg.top_k).filter(|p| in_top.contains(p)).count()
        });
        ui.horizontal_wrapped(|ui| {
            ui.strong("Visit counts");
            ui.label(format!("{total} visits"));
            if let Some(o) = overlap {
                ui.label(format!("· top {} shared with exact PPR top {}: {o}", top.len(), cfg.top_k));
            }
        });
        Plot::new("walk_counts")
            .height(220.0)
            .legend(Legend::default())
            .allow_scroll(false)
            .x_axis_label("pins, in exact-PPR order")
            .y_axis_label("visits")
            .include_y(0.0)
            .include_y(1.0)
            .show(ui, |p| {
                p.bar_chart(BarChart::new("visits (orange: top K)", bars));
                if !expected.is_empty() {
                    p.points(Points::new("exact PPR × visits", expected).radius(2.5).color(egui::Color32::WHITE));
                }
            });
    }

    pub(super) fn error_ui(&self, ui: &mut egui::Ui, c: &WalkErrorCurve, cfg: &WalkConfig) {
        ui.strong("Error of the estimate against the number of walks");
        let to_pts = |v: &[(u32, f64)]| -> Vec<[f64; 2]> { v.iter().map(|&(t, e)| [(t as f64).log10(), e]).collect() };
        // The live estimate: walks finished so far.
        let walks_done = (self.cursor / cfg.length.max(1) as usize) as u32;
        let live = (walks_done > 0).then(|| {
            let est = crate::walk::normalise(&self.counts);
            [(walks_done as f64).log10(), crate::walk::l1(&est, &c.ppr)]
        });
        Plot::new("walk_error")
            .height(170.0)
            .legend(Legend::default())
            .allow_scroll(false)
            .x_axis_label("walks T (log10)")
            .y_axis_label("L1 error")
            .include_y(0.0)
            .show(ui, |p| {
                p.line(Line::new("vs exact PPR", to_pts(&c.vs_ppr)).color(TOP_COLOUR).width(3.0));
                p.line(
                    Line::new(format!("vs exact expected visits (L = {})", cfg.length), to_pts(&c.vs_expected))
                        .color(OTHER_COLOUR)
                        .width(1.5),
                );
                if let Some(l) = live {
                    p.points(Points::new("this animation", vec![l]).radius(5.0).color(WALKER_COLOUR));
                }
            });
        ui.weak("The error falls like 1/√T. Against PPR it levels off where walks cut at L steps stop matching the infinite process (visible with small L and small restart).");
    }
}
