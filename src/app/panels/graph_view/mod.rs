//! The graph view: the selected pin's ego network (pins and boards, a bounded breadth-first slice
//! built in the background by `explain::ego_slice`) in a force-directed layout that settles and
//! then stops repainting. Pins are coloured by their visual feature or category; clicking a pin
//! highlights its boards and co-pinned pins. Large slices are drawn by a WGSL shader
//! (`shaders/graph.wgsl`) through an egui_wgpu paint callback.

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui;
use eframe::egui_wgpu::{self, wgpu};
use wgpu::util::DeviceExt as _;

use crate::app::cache::CacheKey;
use crate::app::state::{AppState, Command, Ctx};
use crate::explain::{EgoNode, EgoSlice, ego_slice};
use crate::graph::Graph;

/// Above this many nodes + edges the shader draws the picture (when the GPU renderer is up).
pub const SHADER_THRESHOLD: usize = 3000;
/// Ideal edge length of the layout, in world units.
const EDGE_LEN: f32 = 30.0;
/// Time budget of the layout per frame.
const LAYOUT_BUDGET_SECS: f64 = 0.006;

/// Colour pins by …
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColourBy {
    #[default]
    Visual,
    Category,
}

/// Which renderer draws the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Renderer {
    /// The shader above [`SHADER_THRESHOLD`] elements, egui's painter below.
    #[default]
    Auto,
    Painter,
    Shader,
}

/// The force-directed layout of one slice.
pub struct Layout {
    pub key: CacheKey,
    pub slice: Arc<EgoSlice>,
    pub pos: Vec<[f32; 2]>,
    pin_index: HashMap<u32, u32>,
    /// Node index → adjacent node indices.
    adjacency: Vec<Vec<u32>>,
    temperature: f32,
    pub iterations: usize,
    pub settled: bool,
}

impl Layout {
    fn new(key: CacheKey, slice: Arc<EgoSlice>) -> Layout {
        let n = slice.nodes.len();
        let mut pos = Vec::with_capacity(n);
        // Rings by breadth-first depth, spread by the golden angle.
        let golden = std::f32::consts::PI * (3.0 - 5f32.sqrt());
        let mut per_depth: HashMap<u8, u32> = HashMap::new();
        for &d in &slice.depth {
            let i = per_depth.entry(d).or_insert(0);
            let a = *i as f32 * golden;
            let r = d as f32 * EDGE_LEN * 1.5 + (*i as f32).sqrt() * 2.0;
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
    fn iterate(&mut self) {
        let n = self.pos.len();
        let k = EDGE_LEN;
        let cell = 2.0 * k;
        let mut grid: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
        for (i, p) in self.pos.iter().enumerate() {
            grid.entry(((p[0] / cell).floor() as i32, (p[1] / cell).floor() as i32)).or_default().push(i as u32);
        }
        let mut disp = vec![[0f32; 2]; n];
        for (i, p) in self.pos.iter().enumerate() {
            let (cx, cy) = ((p[0] / cell).floor() as i32, (p[1] / cell).floor() as i32);
            for dx in -1..=1 {
                for dy in -1..=1 {
                    let Some(bucket) = grid.get(&(cx + dx, cy + dy)) else { continue };
                    for &j in bucket {
                        if j as usize == i {
                            continue;
                        }
                        let q = self.pos[j as usize];
                        let (mut ddx, mut ddy) = (p[0] - q[0], p[1] - q[1]);
                        let mut d2 = ddx * ddx + ddy * ddy;
                        if d2 < 1e-4 {
                            // Coincident nodes: push apart deterministically.
                            ddx = ((i * 7 + j as usize) % 13) as f32 * 0.01 + 0.01;
                            ddy = ((i * 3 + j as usize) % 11) as f32 * 0.01 - 0.05;
                            d2 = ddx * ddx + ddy * ddy;
                        }
                        if d2 > cell * cell {
                            continue;
                        }
                        let f = k * k / d2; // = (k²/d) / d
                        disp[i][0] += ddx * f;
                        disp[i][1] += ddy * f;
                    }
                }
            }
        }
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

    fn bounds(&self) -> egui::Rect {
        let mut r = egui::Rect::NOTHING;
        for p in &self.pos {
            r.extend_with(egui::pos2(p[0], p[1]));
        }
        if r.is_negative() { egui::Rect::from_center_size(egui::Pos2::ZERO, egui::vec2(100.0, 100.0)) } else { r }
    }
}

/// The graph view's state.
pub struct GraphView {
    /// The pin the slice is built around.
    pub centre: Option<u32>,
    centre_generation: u64,
    /// At most this many nodes in the slice.
    pub max_nodes: usize,
    pub layout: Option<Layout>,
    pub colour_by: ColourBy,
    pub renderer: Renderer,
    /// Set when the wgpu resources of the shader were created (see [`init_gpu`]).
    pub gpu_ready: bool,
    /// World point at the view's centre, and points per world unit.
    view_centre: egui::Pos2,
    scale: f32,
    /// Fit the whole slice until the user pans or zooms.
    auto_fit: bool,
    /// What the shader drew last (rebuilt only when something changed).
    scene: Option<Arc<GpuScene>>,
    scene_stamp: (usize, u32, ColourBy, bool),
    scene_version: u64,
    /// The renderer used for the last frame (for tests and the status line).
    pub drew_with_shader: bool,
    /// Where each node of the layout was drawn last frame (screen points), for tests.
    pub screen: Vec<egui::Pos2>,
    /// The nodes ringed last frame as the shared selection or hover (the selected board, the
    /// pin or board hovered here or in the matrix view).
    pub ringed: Vec<EgoNode>,
    /// The pointer was over the picture last frame (so this view owns the shared hover).
    hovering: bool,
}

impl Default for GraphView {
    fn default() -> Self {
        GraphView {
            centre: None,
            centre_generation: 0,
            max_nodes: 400,
            layout: None,
            colour_by: ColourBy::Visual,
            renderer: Renderer::Auto,
            gpu_ready: false,
            view_centre: egui::Pos2::ZERO,
            scale: 1.0,
            auto_fit: true,
            scene: None,
            scene_stamp: (usize::MAX, u32::MAX, ColourBy::Visual, false),
            scene_version: 0,
            drew_with_shader: false,
            screen: Vec::new(),
            ringed: Vec::new(),
            hovering: false,
        }
    }
}

fn slice_key(generation: u64, centre: u32, max_nodes: usize) -> CacheKey {
    CacheKey::EgoSlice { graph: generation, centre, max_nodes }
}

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

const BOARD_COLOUR: egui::Color32 = egui::Color32::from_rgb(150, 150, 160);
const HIGHLIGHT: egui::Color32 = egui::Color32::from_rgb(255, 220, 60);

/// What is highlighted: the selected pin, its boards and the pins co-pinned with it.
struct Highlight {
    selected: Option<u32>,
    boards: Vec<bool>,
    pins: Vec<bool>,
}

impl Highlight {
    fn of(layout: &Layout, selected: u32) -> Highlight {
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
    fn lit(&self, i: usize) -> bool {
        self.selected.is_none() || self.selected == Some(i as u32) || self.boards[i] || self.pins[i]
    }
    fn edge_lit(&self, a: usize, b: usize) -> bool {
        // pin a – board b: lit when b is one of the selected pin's boards.
        self.selected.is_some() && self.boards[b] && (self.selected == Some(a as u32) || self.pins[a])
    }
}

impl GraphView {
    /// Re-centres when the graph changed or the selected pin left the slice; advances the layout
    /// within a time budget; requests a repaint only while it has not settled.
    pub fn tick(&mut self, state: &AppState, ctx: &egui::Context) {
        if self.centre.is_none() || self.centre_generation != state.graph_generation {
            self.centre = Some(state.selected_pin);
            self.centre_generation = state.graph_generation;
            self.auto_fit = true;
        }
        if let Some(l) = &self.layout
            && l.key == self.key(state)
            && !l.pin_index.contains_key(&state.selected_pin)
        {
            self.centre = Some(state.selected_pin);
            self.auto_fit = true;
        }
        let key = self.key(state);
        if self.layout.as_ref().is_none_or(|l| l.key != key)
            && let Some(slice) = state.result::<Arc<EgoSlice>>(&key)
        {
            self.layout = Some(Layout::new(key.clone(), slice.clone()));
            self.auto_fit = true;
        }
        let Some(layout) = self.layout.as_mut().filter(|l| l.key == key) else { return };
        if layout.settled {
            return;
        }
        let t = std::time::Instant::now();
        loop {
            layout.iterate();
            if layout.settled || t.elapsed().as_secs_f64() > LAYOUT_BUDGET_SECS {
                break;
            }
        }
        if !layout.settled {
            ctx.request_repaint();
        }
    }

    fn key(&self, state: &AppState) -> CacheKey {
        slice_key(state.graph_generation, self.centre.unwrap_or(state.selected_pin), self.max_nodes)
    }

    pub fn animating(&self) -> bool {
        self.layout.as_ref().is_some_and(|l| !l.settled)
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let state = ctx.state;
        let g = state.graph.clone();
        let centre = self.centre.unwrap_or(state.selected_pin);
        let key = self.key(state);
        let (g2, max_nodes) = (g.clone(), self.max_nodes);
        let slice = ctx.need(&key, move || ego_slice(&g2, centre, max_nodes).map(Arc::new).map_err(|e| e.to_string()));

        ui.horizontal_wrapped(|ui| {
            ui.heading("Graph");
            ui.label(format!("around {} (id {centre})", g.pin_label(centre)));
            ui.separator();
            if ui
                .button("Centre on selected")
                .on_hover_text("Rebuild the picture around the selected pin (C)")
                .clicked()
                || (!ui.ctx().egui_wants_keyboard_input()
                    && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::C)))
            {
                self.centre = Some(state.selected_pin);
                self.auto_fit = true;
            }
            if ui.button("Fit").on_hover_text("Fit the picture to the view (F)").clicked()
                || (!ui.ctx().egui_wants_keyboard_input()
                    && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::F)))
            {
                self.auto_fit = true;
            }
            ui.add(egui::Slider::new(&mut self.max_nodes, 20..=20000).logarithmic(true).text("Max nodes"));
            if g.features.as_ref().is_some_and(|f| f.dim >= 3) {
                ui.selectable_value(&mut self.colour_by, ColourBy::Visual, "Colour: visual feature");
            }
            if g.categories.is_some() {
                ui.selectable_value(&mut self.colour_by, ColourBy::Category, "Colour: category");
            }
            egui::ComboBox::from_label("Renderer")
                .selected_text(match self.renderer {
                    Renderer::Auto => "auto",
                    Renderer::Painter => "egui painter",
                    Renderer::Shader => "WGSL shader",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.renderer, Renderer::Auto, "auto");
                    ui.selectable_value(&mut self.renderer, Renderer::Painter, "egui painter");
                    ui.add_enabled_ui(self.gpu_ready, |ui| {
                        ui.selectable_value(&mut self.renderer, Renderer::Shader, "WGSL shader");
                    });
                });
        });
        if g.features.as_ref().is_none_or(|f| f.dim < 3) && self.colour_by == ColourBy::Visual {
            self.colour_by = ColourBy::Category;
        }

        let layout = match (&self.layout, slice) {
            (Some(l), _) if l.key == key => l,
            _ => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("building the neighbourhood…");
                });
                return;
            }
        };
        let n_elems = layout.pos.len() + layout.slice.edges.len();
        let use_shader = self.gpu_ready
            && match self.renderer {
                Renderer::Auto => n_elems > SHADER_THRESHOLD,
                Renderer::Painter => false,
                Renderer::Shader => true,
            };
        let n_pins = layout.slice.nodes.iter().filter(|n| matches!(n, EgoNode::Pin(_))).count();
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "{} pins, {} boards, {} edges{} · layout {} after {} iterations · drawn by {}",
                n_pins,
                layout.pos.len() - n_pins,
                layout.slice.edges.len(),
                if layout.slice.truncated { " (a slice: raise Max nodes for more)" } else { "" },
                if layout.settled { "settled" } else { "settling" },
                layout.iterations,
                if use_shader { "the WGSL shader" } else { "egui's painter" },
            ));
            if let Some(b) = state.selected_board.filter(|&b| b < g.n_boards()) {
                ui.separator();
                ui.label(format!("board: {} ({} pins)", g.board_label(b), g.pins_of(b).len()));
            }
        });
        ui.weak("Click a pin to select it (its boards and co-pinned pins light up); double-click to centre on it. Drag to pan, scroll to zoom.");

        let size = ui.available_size().max(egui::vec2(200.0, 200.0));
        let (resp, painter) = ui.allocate_painter(size, egui::Sense::click_and_drag());
        let rect = resp.rect;
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);

        // View transform.
        if self.auto_fit {
            let b = layout.bounds();
            self.view_centre = b.center();
            self.scale = ((rect.width() - 40.0) / b.width().max(1.0))
                .min((rect.height() - 40.0) / b.height().max(1.0))
                .max(1e-3);
        }
        if resp.dragged() {
            self.view_centre -= resp.drag_delta() / self.scale;
            self.auto_fit = false;
        }
        if let Some(hover) = resp.hover_pos() {
            let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            let factor = (scroll * 0.002).exp() * zoom;
            if (factor - 1.0).abs() > 1e-4 {
                let world = self.view_centre + (hover - rect.center()) / self.scale;
                self.scale = (self.scale * factor).clamp(1e-3, 100.0);
                self.view_centre = world - (hover - rect.center()) / self.scale;
                self.auto_fit = false;
            }
        }
        let (vc, s, c) = (self.view_centre, self.scale, rect.center());
        let to_screen = |p: [f32; 2]| c + (egui::pos2(p[0], p[1]) - vc) * s;
        let size_factor = s.sqrt().clamp(0.5, 1.6);

        let selected = state.selected_pin;
        let hl = Highlight::of(layout, selected);
        let radius_of = |i: usize| -> f32 {
            match layout.slice.nodes[i] {
                EgoNode::Pin(p) if p == selected => 8.0,
                EgoNode::Pin(_) => 4.5 * size_factor,
                EgoNode::Board(_) => 4.0 * size_factor,
            }
        };

        // Hit test.
        let hit = |pos: egui::Pos2| -> Option<usize> {
            let mut best = None;
            let mut best_d = f32::INFINITY;
            for (i, p) in layout.pos.iter().enumerate() {
                let d = to_screen(*p).distance(pos);
                if d <= radius_of(i) + 3.0 && d < best_d {
                    best_d = d;
                    best = Some(i);
                }
            }
            best
        };
        let hovered = resp.hover_pos().and_then(hit);
        if (resp.clicked() || resp.double_clicked())
            && let Some(i) = resp.interact_pointer_pos().and_then(hit)
        {
            match layout.slice.nodes[i] {
                EgoNode::Pin(p) => {
                    ctx.send(Command::SelectPin(p));
                    ctx.send(Command::SelectBoard(None));
                    if resp.double_clicked() {
                        self.centre = Some(p);
                        self.auto_fit = true;
                    }
                }
                EgoNode::Board(b) => ctx.send(Command::SelectBoard(Some(b))),
            }
        }
        // The shared hover (the matrix view highlights the same pin or board).
        if resp.hovered() {
            let (hp, hb) = match hovered.map(|i| layout.slice.nodes[i]) {
                Some(EgoNode::Pin(p)) => (Some(p), None),
                Some(EgoNode::Board(b)) => (None, Some(b)),
                None => (None, None),
            };
            if (hp, hb) != (state.hovered_pin, state.hovered_board) {
                ctx.send(Command::Hover { pin: hp, board: hb });
            }
            self.hovering = true;
        } else if std::mem::take(&mut self.hovering) {
            ctx.send(Command::Hover { pin: None, board: None });
        }

        let dim = |c: egui::Color32, lit: bool| if lit { c } else { c.gamma_multiply(0.3) };
        if use_shader {
            let stamp = (layout.iterations, selected, self.colour_by, layout.settled);
            if self.scene.is_none() || self.scene_stamp != stamp {
                self.scene_version += 1;
                self.scene_stamp = stamp;
                let mut nodes = Vec::with_capacity(layout.pos.len());
                for (i, p) in layout.pos.iter().enumerate() {
                    let lit = hl.lit(i);
                    let (fill, shape) = match layout.slice.nodes[i] {
                        EgoNode::Pin(q) => (pin_colour(&g, q, self.colour_by), 0.0),
                        EgoNode::Board(_) => (BOARD_COLOUR, 1.0),
                    };
                    let stroke = if hl.selected == Some(i as u32) {
                        egui::Color32::WHITE
                    } else if hl.selected.is_some() && (hl.boards[i] || hl.pins[i]) {
                        HIGHLIGHT
                    } else {
                        egui::Color32::from_black_alpha(160)
                    };
                    let r = match layout.slice.nodes[i] {
                        EgoNode::Pin(q) if q == selected => 8.0,
                        EgoNode::Pin(_) => 4.5,
                        EgoNode::Board(_) => 4.0,
                    };
                    nodes.push(NodeInstance {
                        centre: *p,
                        radius: r,
                        shape,
                        fill: dim(fill, lit).to_array(),
                        stroke: dim(stroke, lit).to_array(),
                    });
                }
                let mut edges = Vec::with_capacity(layout.slice.edges.len() * 2);
                for &(a, b) in &layout.slice.edges {
                    let colour = if hl.edge_lit(a as usize, b as usize) {
                        HIGHLIGHT.gamma_multiply(0.8)
                    } else {
                        egui::Color32::from_gray(90).gamma_multiply(0.5)
                    };
                    edges.push(EdgeVertex { pos: layout.pos[a as usize], colour: colour.to_array() });
                    edges.push(EdgeVertex { pos: layout.pos[b as usize], colour: colour.to_array() });
                }
                self.scene = Some(Arc::new(GpuScene { version: self.scene_version, nodes, edges }));
            }
            if let Some(scene) = &self.scene {
                let half = rect.size() / 2.0;
                let uniform = ViewUniform {
                    scale: [s / half.x, -s / half.y],
                    offset: [-vc.x * s / half.x, vc.y * s / half.y],
                    point: [size_factor / half.x, size_factor / half.y],
                    _pad: [0.0; 2],
                };
                painter.add(egui_wgpu::Callback::new_paint_callback(
                    rect,
                    GraphCallback { scene: scene.clone(), uniform },
                ));
            }
        } else {
            let clip = rect;
            for &(a, b) in &layout.slice.edges {
                let (pa, pb) = (to_screen(layout.pos[a as usize]), to_screen(layout.pos[b as usize]));
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
                let pos = to_screen(*p);
                let r = radius_of(i);
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
                        painter.circle(pos, r, dim(pin_colour(&g, q, self.colour_by), lit), outline);
                    }
                    EgoNode::Board(_) => {
                        let sq = egui::Rect::from_center_size(pos, egui::vec2(2.0 * r, 2.0 * r));
                        painter.rect(sq, 1.5, dim(BOARD_COLOUR, lit), outline, egui::StrokeKind::Middle);
                    }
                }
            }
        }
        self.drew_with_shader = use_shader;
        self.screen = layout.pos.iter().map(|p| to_screen(*p)).collect();
        // Rings for the shared selection and hover, on top of either renderer.
        self.ringed.clear();
        for (i, node) in layout.slice.nodes.iter().enumerate() {
            let colour = match *node {
                EgoNode::Board(b) if state.selected_board == Some(b) => egui::Color32::WHITE,
                EgoNode::Board(b) if state.hovered_board == Some(b) => HIGHLIGHT,
                EgoNode::Pin(p) if state.hovered_pin == Some(p) => HIGHLIGHT,
                _ => continue,
            };
            self.ringed.push(*node);
            painter.circle_stroke(self.screen[i], radius_of(i) + 4.0, egui::Stroke::new(2.0, colour));
        }

        // Labels: the selected pin and (when few) its boards.
        let font = egui::FontId::proportional(12.0);
        let text_colour = ui.visuals().strong_text_color();
        if let Some(si) = hl.selected {
            let pos = to_screen(layout.pos[si as usize]);
            painter.text(
                pos + egui::vec2(10.0, -10.0),
                egui::Align2::LEFT_BOTTOM,
                g.pin_label(selected),
                font.clone(),
                text_colour,
            );
            let boards: Vec<usize> = (0..layout.pos.len()).filter(|&i| hl.boards[i]).collect();
            if boards.len() <= 12 {
                for i in boards {
                    if let EgoNode::Board(b) = layout.slice.nodes[i] {
                        painter.text(
                            to_screen(layout.pos[i]) + egui::vec2(7.0, 0.0),
                            egui::Align2::LEFT_CENTER,
                            g.board_label(b),
                            egui::FontId::proportional(10.5),
                            ui.visuals().weak_text_color(),
                        );
                    }
                }
            }
        }
        if let Some(i) = hovered {
            let text = match layout.slice.nodes[i] {
                EgoNode::Pin(p) => {
                    let cat = g
                        .categories
                        .as_ref()
                        .map(|c| format!(" · {}", c.names[c.of_pin[p as usize] as usize]))
                        .unwrap_or_default();
                    let name =
                        if g.pin_labels.is_some() { format!("{} (pin {p})", g.pin_label(p)) } else { g.pin_label(p) };
                    format!("{name} · {} boards{cat}", g.boards_of(p).len())
                }
                EgoNode::Board(b) => {
                    let name = if g.board_labels.is_some() {
                        format!("{} (board {b})", g.board_label(b))
                    } else {
                        g.board_label(b)
                    };
                    format!("{name} · {} pins", g.pins_of(b).len())
                }
            };
            resp.on_hover_text(text);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The WGSL renderer.

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ViewUniform {
    scale: [f32; 2],
    offset: [f32; 2],
    point: [f32; 2],
    _pad: [f32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct NodeInstance {
    centre: [f32; 2],
    radius: f32,
    shape: f32,
    fill: [u8; 4],
    stroke: [u8; 4],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct EdgeVertex {
    pos: [f32; 2],
    colour: [u8; 4],
}

/// What the shader draws: a versioned snapshot of nodes and edges.
pub struct GpuScene {
    version: u64,
    nodes: Vec<NodeInstance>,
    edges: Vec<EdgeVertex>,
}

/// The pipelines and buffers, kept in egui_wgpu's callback resources.
struct GraphGpu {
    node_pipeline: wgpu::RenderPipeline,
    edge_pipeline: wgpu::RenderPipeline,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    nodes: Option<(wgpu::Buffer, u32)>,
    edges: Option<(wgpu::Buffer, u32)>,
    version: u64,
}

/// Creates the shader's pipelines on eframe's device; returns whether it worked.
pub fn init_gpu(rs: &egui_wgpu::RenderState) -> bool {
    let device = &rs.device;
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("graph.wgsl"),
        source: wgpu::ShaderSource::Wgsl(include_str!("../../../../shaders/graph.wgsl").into()),
    });
    let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("graph view"),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::VERTEX,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<ViewUniform>() as u64),
            },
            count: None,
        }],
    });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("graph view"),
        bind_group_layouts: &[Some(&bgl)],
        immediate_size: 0,
    });
    let blend = Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING);
    let target = [Some(wgpu::ColorTargetState { format: rs.target_format, blend, write_mask: wgpu::ColorWrites::ALL })];
    let node_attrs = wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32, 2 => Float32, 3 => Unorm8x4, 4 => Unorm8x4];
    let edge_attrs = wgpu::vertex_attr_array![0 => Float32x2, 1 => Unorm8x4];
    let pipeline = |label: &str, vs: &str, fs: &str, buffer: wgpu::VertexBufferLayout, topology| {
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(label),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some(vs),
                compilation_options: Default::default(),
                buffers: &[Some(buffer)],
            },
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some(fs),
                compilation_options: Default::default(),
                targets: &target,
            }),
            primitive: wgpu::PrimitiveState { topology, ..Default::default() },
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            multiview_mask: None,
            cache: None,
        })
    };
    let node_pipeline = pipeline(
        "graph nodes",
        "vs_node",
        "fs_node",
        wgpu::VertexBufferLayout {
            array_stride: std::mem::size_of::<NodeInstance>() as u64,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &node_attrs,
        },
        wgpu::PrimitiveTopology::TriangleList,
    );
    let edge_pipeline = pipeline(
        "graph edges",
        "vs_edge",
        "fs_edge",
        wgpu::VertexBufferLayout {
            array_stride: std::mem::size_of::<EdgeVertex>() as u64,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes: &edge_attrs,
        },
        wgpu::PrimitiveTopology::LineList,
    );
    let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("graph view uniform"),
        contents: bytemuck::bytes_of(&ViewUniform {
            scale: [1.0; 2],
            offset: [0.0; 2],
            point: [0.0; 2],
            _pad: [0.0; 2],
        }),
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("graph view"),
        layout: &bgl,
        entries: &[wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }],
    });
    rs.renderer.write().callback_resources.insert(GraphGpu {
        node_pipeline,
        edge_pipeline,
        uniform,
        bind_group,
        nodes: None,
        edges: None,
        version: 0,
    });
    true
}

struct GraphCallback {
    scene: Arc<GpuScene>,
    uniform: ViewUniform,
}

impl egui_wgpu::CallbackTrait for GraphCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        let Some(gpu) = resources.get_mut::<GraphGpu>() else { return Vec::new() };
        queue.write_buffer(&gpu.uniform, 0, bytemuck::bytes_of(&self.uniform));
        if gpu.version != self.scene.version {
            gpu.version = self.scene.version;
            let make = |label, data: &[u8]| {
                device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: data,
                    usage: wgpu::BufferUsages::VERTEX,
                })
            };
            gpu.nodes = (!self.scene.nodes.is_empty())
                .then(|| (make("graph nodes", bytemuck::cast_slice(&self.scene.nodes)), self.scene.nodes.len() as u32));
            gpu.edges = (!self.scene.edges.is_empty())
                .then(|| (make("graph edges", bytemuck::cast_slice(&self.scene.edges)), self.scene.edges.len() as u32));
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        let Some(gpu) = resources.get::<GraphGpu>() else { return };
        pass.set_bind_group(0, &gpu.bind_group, &[]);
        if let Some((buf, n)) = &gpu.edges {
            pass.set_pipeline(&gpu.edge_pipeline);
            pass.set_vertex_buffer(0, buf.slice(..));
            pass.draw(0..*n, 0..1);
        }
        if let Some((buf, n)) = &gpu.nodes {
            pass.set_pipeline(&gpu.node_pipeline);
            pass.set_vertex_buffer(0, buf.slice(..));
            pass.draw(0..6, 0..*n);
        }
    }
}
