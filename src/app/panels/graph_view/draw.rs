//! Drawing the graph view with egui's painter: where the layout lands on the screen this frame
//! ([`Frame`]), what is highlighted, pins and boards, the shared selection's rings, labels and the
//! hover text. The shader's path is in `gpu.rs`; input and state are in `mod.rs`.

use eframe::egui;

use super::ColourBy;
use super::layout::Layout;
use crate::app::state::AppState;
use crate::explain::EgoNode;
use crate::graph::Graph;

/// A pin's colour: its visual feature as RGB (3-d features), else its category's.
pub fn pin_colour(g: &Graph, p: u32, by: ColourBy) -> egui::Color32 {
    if by == ColourBy::Visual
        && let Some(f) = &g.features
        && f.dim >= 3
    {
        let r = f.row(p);
        let c = |x: f32| (x.clamp(0.0, 1.0) * 255.0) as u8;
        return egui::Color32::from_rgb(c(r[0]), c(r[1]), c(r[2]));
    }
    match &g.categories {
        Some(c) => crate::app::palette::category_colour(c.of_pin[p as usize] as usize),
        None => crate::app::palette::NO_CATEGORY,
    }
}

pub(super) const BOARD_COLOUR: egui::Color32 = egui::Color32::from_rgb(150, 150, 160);
pub(super) const HIGHLIGHT: egui::Color32 = egui::Color32::from_rgb(255, 220, 60);

/// What is highlighted: the selected pin, its boards and the pins co-pinned with it.
pub(super) struct Highlight {
    pub(super) selected: Option<u32>,
    pub(super) boards: Vec<bool>,
    pub(super) pins: Vec<bool>,
}

impl Highlight {
    pub(super) fn of(layout: &Layout, selected: u32) -> Highlight {
        let n = layout.pos.len();
        let mut h = Highlight {
            selected: layout.pin_index.get(&selected).copied(),
            boards: vec![false; n],
            pins: vec![false; n],
        };
        if let Some(s) = h.selected {
            for &b in &layout.adjacency[s as usize] {
                h.boards[b as usize] = true;
                for &p in &layout.adjacency[b as usize] {
                    h.pins[p as usize] = true;
                }
            }
            h.pins[s as usize] = false;
        }
        h
    }
    pub(super) fn lit(&self, i: usize) -> bool {
        self.selected.is_none() || self.selected == Some(i as u32) || self.boards[i] || self.pins[i]
    }
    pub(super) fn edge_lit(&self, a: usize, b: usize) -> bool {
        // pin a – board b: lit when b is one of the selected pin's boards.
        self.selected.is_some() && self.boards[b] && (self.selected == Some(a as u32) || self.pins[a])
    }
}

/// `c` as drawn: full strength when lit, faded otherwise.
pub(super) fn dim(c: egui::Color32, lit: bool) -> egui::Color32 {
    if lit { c } else { c.gamma_multiply(0.3) }
}

/// Where the layout lands on the screen this frame, and the selected pin.
pub(super) struct Frame<'a> {
    pub(super) layout: &'a Layout,
    pub(super) rect: egui::Rect,
    /// World point at the view's centre, and points per world unit.
    pub(super) view_centre: egui::Pos2,
    pub(super) scale: f32,
    /// How much node sizes follow the zoom.
    pub(super) size_factor: f32,
    pub(super) selected: u32,
}

impl Frame<'_> {
    pub(super) fn to_screen(&self, p: [f32; 2]) -> egui::Pos2 {
        self.rect.center() + (egui::pos2(p[0], p[1]) - self.view_centre) * self.scale
    }

    /// Node `i`'s radius on the screen.
    pub(super) fn radius(&self, i: usize) -> f32 {
        match self.layout.slice.nodes[i] {
            EgoNode::Pin(p) if p == self.selected => 8.0,
            EgoNode::Pin(_) => 4.5 * self.size_factor,
            EgoNode::Board(_) => 4.0 * self.size_factor,
        }
    }

    /// The node under `pos` (the nearest within its radius and 3 points).
    pub(super) fn hit(&self, pos: egui::Pos2) -> Option<usize> {
        let mut best = None;
        let mut best_d = f32::INFINITY;
        for (i, p) in self.layout.pos.iter().enumerate() {
            let d = self.to_screen(*p).distance(pos);
            if d <= self.radius(i) + 3.0 && d < best_d {
                best_d = d;
                best = Some(i);
            }
        }
        best
    }
}

/// Edges, then pins (circles) and boards (squares), with egui's painter.
pub(super) fn paint(painter: &egui::Painter, g: &Graph, frame: &Frame, hl: &Highlight, colour_by: ColourBy) {
    let layout = frame.layout;
    let clip = frame.rect;
    for &(a, b) in &layout.slice.edges {
        let (pa, pb) = (frame.to_screen(layout.pos[a as usize]), frame.to_screen(layout.pos[b as usize]));
        if !clip.intersects(egui::Rect::from_two_pos(pa, pb)) {
            continue;
        }
        let lit = hl.edge_lit(a as usize, b as usize);
        let stroke = if lit {
            egui::Stroke::new(1.6, HIGHLIGHT.gamma_multiply(0.8))
        } else {
            egui::Stroke::new(0.8, egui::Color32::from_gray(90).gamma_multiply(0.6))
        };
        painter.line_segment([pa, pb], stroke);
    }
    for (i, p) in layout.pos.iter().enumerate() {
        let pos = frame.to_screen(*p);
        let r = frame.radius(i);
        if !clip.expand(r).contains(pos) {
            continue;
        }
        let lit = hl.lit(i);
        let outline = if hl.selected == Some(i as u32) {
            egui::Stroke::new(2.5, egui::Color32::WHITE)
        } else if hl.selected.is_some() && (hl.boards[i] || hl.pins[i]) {
            egui::Stroke::new(1.5, HIGHLIGHT)
        } else {
            egui::Stroke::new(0.8, egui::Color32::from_black_alpha(160))
        };
        let outline = egui::Stroke::new(outline.width, dim(outline.color, lit));
        match layout.slice.nodes[i] {
            EgoNode::Pin(q) => {
                painter.circle(pos, r, dim(pin_colour(g, q, colour_by), lit), outline);
            }
            EgoNode::Board(_) => {
                let sq = egui::Rect::from_center_size(pos, egui::vec2(2.0 * r, 2.0 * r));
                painter.rect(sq, 1.5, dim(BOARD_COLOUR, lit), outline, egui::StrokeKind::Middle);
            }
        }
    }
}

/// Rings for the shared selection and hover, on top of either renderer; returns the nodes ringed.
pub(super) fn rings(painter: &egui::Painter, state: &AppState, frame: &Frame, screen: &[egui::Pos2]) -> Vec<EgoNode> {
    let mut ringed = Vec::new();
    for (i, node) in frame.layout.slice.nodes.iter().enumerate() {
        let colour = match *node {
            EgoNode::Board(b) if state.selected_board == Some(b) => egui::Color32::WHITE,
            EgoNode::Board(b) if state.hovered_board == Some(b) => HIGHLIGHT,
            EgoNode::Pin(p) if state.hovered_pin == Some(p) => HIGHLIGHT,
            _ => continue,
        };
        ringed.push(*node);
        painter.circle_stroke(screen[i], frame.radius(i) + 4.0, egui::Stroke::new(2.0, colour));
    }
    ringed
}

/// Labels: the selected pin and (when few) its boards.
pub(super) fn labels(ui: &egui::Ui, painter: &egui::Painter, g: &Graph, frame: &Frame, hl: &Highlight) {
    let layout = frame.layout;
    let font = egui::FontId::proportional(12.0);
    let text_colour = ui.visuals().strong_text_color();
    let Some(si) = hl.selected else { return };
    let pos = frame.to_screen(layout.pos[si as usize]);
    painter.text(
        pos + egui::vec2(10.0, -10.0),
        egui::Align2::LEFT_BOTTOM,
        g.pin_label(frame.selected),
        font,
        text_colour,
    );
    let boards: Vec<usize> = (0..layout.pos.len()).filter(|&i| hl.boards[i]).collect();
    if boards.len() <= 12 {
        for i in boards {
            if let EgoNode::Board(b) = layout.slice.nodes[i] {
                painter.text(
                    frame.to_screen(layout.pos[i]) + egui::vec2(7.0, 0.0),
                    egui::Align2::LEFT_CENTER,
                    g.board_label(b),
                    egui::FontId::proportional(10.5),
                    ui.visuals().weak_text_color(),
                );
            }
        }
    }
}

/// The tooltip of a hovered node: its name, its degree and (pins) its category.
pub(super) fn hover_text(g: &Graph, node: EgoNode) -> String {
    match node {
        EgoNode::Pin(p) => {
            let cat = g
                .categories
                .as_ref()
                .map(|c| format!(" · {}", c.names[c.of_pin[p as usize] as usize]))
                .unwrap_or_default();
            let name = if g.pin_labels.is_some() { format!("{} (pin {p})", g.pin_label(p)) } else { g.pin_label(p) };
            format!("{name} · {} boards{cat}", g.boards_of(p).len())
        }
        EgoNode::Board(b) => {
            let name =
                if g.board_labels.is_some() { format!("{} (board {b})", g.board_label(b)) } else { g.board_label(b) };
            format!("{name} · {} pins", g.pins_of(b).len())
        }
    }
}
