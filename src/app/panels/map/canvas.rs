//! The embedding map's canvas: every pin as a point (fitted, zoomed and panned), the selection with
//! its two neighbour lists, hover and click.

use eframe::egui;

use super::{MODEL_COLOUR, MapPanel, NeighbourLists, VISUAL_COLOUR, category_colour};
use crate::app::state::{Command, Ctx};
use crate::embed_map::Map2d;
use crate::graph::Graph;

impl MapPanel {
    pub(super) fn canvas_ui(
        &mut self,
        ui: &mut egui::Ui,
        ctx: &mut Ctx,
        g: &Graph,
        proj: &Map2d,
        lists: Option<&NeighbourLists>,
    ) {
        let size = ui.available_size().max(egui::vec2(100.0, 100.0));
        let (resp, painter) = ui.allocate_painter(size, egui::Sense::click_and_drag());
        let rect = resp.rect;
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
        let (mid, scale) = fit(proj, rect, self.zoom);
        let centre = rect.center() + self.pan;
        // PC2 grows upwards.
        let to_screen = |p: &[f32; 2]| centre + egui::vec2((p[0] - mid.x) * scale, -(p[1] - mid.y) * scale);
        self.move_view(ui, &resp, centre);
        self.drawn = proj.points.iter().map(to_screen).collect();
        let painter = painter.with_clip_rect(rect);
        let cats = g.categories.as_ref();
        let colour =
            |p: usize| cats.map_or(crate::app::palette::NO_CATEGORY, |c| category_colour(c.of_pin[p] as usize));
        let radius = if self.drawn.len() > 20_000 { 1.5 } else { 3.0 };
        for (p, pos) in self.drawn.iter().enumerate() {
            if rect.contains(*pos) {
                painter.circle_filled(*pos, radius, colour(p).gamma_multiply(0.85));
            }
        }
        self.paint_selection(ui, &painter, ctx.state.selected_pin as usize, lists, colour);
        self.pointer(ui, ctx, g, resp, &painter);
        painter.text(
            rect.left_bottom() + egui::vec2(8.0, -8.0),
            egui::Align2::LEFT_BOTTOM,
            "scroll to zoom · drag to pan · double-click to reset",
            egui::FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
    }

    /// Drag pans, scroll zooms about the pointer, a double-click resets.
    fn move_view(&mut self, ui: &egui::Ui, resp: &egui::Response, centre: egui::Pos2) {
        let rect = resp.rect;
        if resp.dragged() {
            self.pan += resp.drag_delta();
        }
        if resp.hovered() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            let zoom = ui.input(|i| i.zoom_delta()) * (scroll / 200.0).exp();
            if zoom != 1.0
                && let Some(pos) = resp.hover_pos()
            {
                let new_zoom = (self.zoom * zoom).clamp(0.2, 50.0);
                let f = new_zoom / self.zoom;
                // Keep the point under the pointer still.
                self.pan = (pos - rect.center()) - (pos - centre) * f;
                self.zoom = new_zoom;
            }
        }
        if resp.double_clicked() {
            self.zoom = 1.0;
            self.pan = egui::Vec2::ZERO;
        }
    }

    /// The selected pin `sel` and its two neighbour lists.
    fn paint_selection(
        &self,
        ui: &egui::Ui,
        painter: &egui::Painter,
        sel: usize,
        lists: Option<&NeighbourLists>,
        colour: impl Fn(usize) -> egui::Color32,
    ) {
        if let Some(&sp) = self.drawn.get(sel) {
            if let Some(l) = lists.filter(|l| l.pin as usize == sel) {
                for (list, c, r) in [(&l.visual, VISUAL_COLOUR, 8.0), (&l.model, MODEL_COLOUR, 6.0)] {
                    for (q, _) in list {
                        if let Some(&qp) = self.drawn.get(*q as usize) {
                            painter.line_segment([sp, qp], egui::Stroke::new(1.0, c.gamma_multiply(0.6)));
                            painter.circle_stroke(qp, r, egui::Stroke::new(1.8, c));
                        }
                    }
                }
            }
            painter.circle_filled(sp, 5.0, colour(sel));
            painter.circle_stroke(sp, 8.0, egui::Stroke::new(2.5, ui.visuals().strong_text_color()));
        }
    }

    /// Hover and click: the nearest pin within 10 points, with its tooltip.
    fn pointer(&mut self, ui: &egui::Ui, ctx: &mut Ctx, g: &Graph, resp: egui::Response, painter: &egui::Painter) {
        let cats = g.categories.as_ref();
        let near = |pos: egui::Pos2| -> Option<u32> {
            self.drawn
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p.distance_sq(pos)))
                .filter(|(_, d)| *d <= 100.0)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i as u32)
        };
        self.hovered = resp.hover_pos().and_then(near);
        if resp.clicked()
            && let Some(p) = resp.interact_pointer_pos().and_then(near)
        {
            ctx.send(Command::SelectPin(p));
        }
        let mut resp = resp;
        if let Some(h) = self.hovered {
            if let Some(&hp) = self.drawn.get(h as usize) {
                painter.circle_stroke(hp, 6.0, egui::Stroke::new(1.5, ui.visuals().text_color()));
            }
            resp = resp.on_hover_ui_at_pointer(|ui| {
                ui.strong(g.pin_label(h));
                let cat = cats.map(|c| c.names[c.of_pin[h as usize] as usize].clone());
                ui.label(format!("pin {h}{}", cat.map(|c| format!(" · {c}")).unwrap_or_default()));
                ui.weak("click to select");
            });
        }
        let _ = resp;
    }
}

/// The middle of the points, and the scale that fits them in `rect` (the same on both axes, so
/// distances are faithful) times `zoom`.
fn fit(proj: &Map2d, rect: egui::Rect, zoom: f32) -> (egui::Vec2, f32) {
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in &proj.points {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let span = egui::vec2((hi[0] - lo[0]).max(1e-6), (hi[1] - lo[1]).max(1e-6));
    let inner = rect.shrink(24.0);
    let scale = (inner.width() / span.x).min(inner.height() / span.y) * zoom;
    let mid = egui::vec2((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0);
    (mid, scale)
}
