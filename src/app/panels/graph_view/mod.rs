//! The graph view: the selected pin's ego network (pins and boards, a bounded breadth-first slice
//! built in the background by `explain::ego_slice`) in a force-directed layout that settles and
//! then stops repainting. Pins are coloured by their visual feature or category; clicking a pin
//! highlights its boards and co-pinned pins. Large slices are drawn by a WGSL shader
//! (`shaders/graph.wgsl`) through an egui_wgpu paint callback.
//!
//! This file holds the view's state, its toolbar and its input; `layout` the simulation, `draw`
//! the painter's picture, `gpu` the shader's.

mod draw;
mod gpu;
mod layout;

use std::sync::Arc;

use eframe::egui;

pub use self::draw::pin_colour;
use self::draw::{Frame, Highlight};
pub use self::gpu::{GpuScene, init_gpu};
pub use self::layout::Layout;
use crate::app::cache::CacheKey;
use crate::app::state::{AppState, Command, Ctx};
use crate::explain::{EgoNode, EgoSlice, ego_slice};
use crate::graph::Graph;

/// Above this many nodes + edges the shader draws the picture (when the GPU renderer is up).
pub const SHADER_THRESHOLD: usize = 3000;
/// Time budget of the layout per frame.
const LAYOUT_BUDGET_SECS: f64 = 0.004;

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
        // Iterate while another iteration like the last still fits the frame's budget.
        let t = std::time::Instant::now();
        loop {
            let started = std::time::Instant::now();
            layout.iterate();
            let next_ends_secs = t.elapsed().as_secs_f64() + started.elapsed().as_secs_f64();
            if layout.settled || next_ends_secs > LAYOUT_BUDGET_SECS {
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
        // Requested here; `tick` makes the layout of it, which is what is drawn.
        let _ = ctx.need(&key, move || ego_slice(&g2, centre, max_nodes).map(Arc::new).map_err(|e| e.to_string()));
        self.toolbar_ui(ui, state, &g, centre);
        if g.features.as_ref().is_none_or(|f| f.dim < 3) && self.colour_by == ColourBy::Visual {
            self.colour_by = ColourBy::Category;
        }
        // Out of `self` while it is drawn (the drawing changes the view's other fields).
        let Some(layout) = self.layout.take_if(|l| l.key == key) else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("building the neighbourhood…");
            });
            return;
        };
        self.picture_ui(ui, ctx, &g, &layout);
        self.layout = Some(layout);
    }

    /// The heading, Centre on selected (C), Fit (F), the size of the slice, colouring, renderer.
    fn toolbar_ui(&mut self, ui: &mut egui::Ui, state: &AppState, g: &Graph, centre: u32) {
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
    }

    /// The status line, then the picture with its input: pan, zoom, click, hover.
    fn picture_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, g: &Graph, layout: &Layout) {
        let state = ctx.state;
        let n_elems = layout.pos.len() + layout.slice.edges.len();
        let use_shader = self.gpu_ready
            && match self.renderer {
                Renderer::Auto => n_elems > SHADER_THRESHOLD,
                Renderer::Painter => false,
                Renderer::Shader => true,
            };
        status_ui(ui, state, g, layout, use_shader);
        ui.weak("Click a pin to select it (its boards and co-pinned pins light up); double-click to centre on it. Drag to pan, scroll to zoom.");

        let size = ui.available_size().max(egui::vec2(200.0, 200.0));
        let (resp, painter) = ui.allocate_painter(size, egui::Sense::click_and_drag());
        let rect = resp.rect;
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
        self.move_view(ui, &resp, layout);
        let frame = Frame {
            layout,
            rect,
            view_centre: self.view_centre,
            scale: self.scale,
            size_factor: self.scale.sqrt().clamp(0.5, 1.6),
            selected: state.selected_pin,
        };
        let hl = Highlight::of(layout, frame.selected);
        let hovered = resp.hover_pos().and_then(|p| frame.hit(p));
        self.pointer(ctx, &resp, &frame, hovered);
        if use_shader {
            self.shader_paint(&painter, g, &frame, &hl);
        } else {
            draw::paint(&painter, g, &frame, &hl, self.colour_by);
        }
        self.drew_with_shader = use_shader;
        self.screen = layout.pos.iter().map(|p| frame.to_screen(*p)).collect();
        self.ringed = draw::rings(&painter, state, &frame, &self.screen);
        draw::labels(ui, &painter, g, &frame, &hl);
        if let Some(i) = hovered {
            resp.on_hover_text(draw::hover_text(g, layout.slice.nodes[i]));
        }
    }

    /// The view transform: fitted to the slice until the user drags (pan) or scrolls (zoom).
    fn move_view(&mut self, ui: &egui::Ui, resp: &egui::Response, layout: &Layout) {
        let rect = resp.rect;
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
    }

    /// Clicks select (double-click centres on a pin); hovering sets the shared hover.
    fn pointer(&mut self, ctx: &mut Ctx, resp: &egui::Response, frame: &Frame, hovered: Option<usize>) {
        let (state, layout) = (ctx.state, frame.layout);
        if (resp.clicked() || resp.double_clicked())
            && let Some(i) = resp.interact_pointer_pos().and_then(|p| frame.hit(p))
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
    }
}

/// The counts, the layout's progress and the renderer; the selected board.
fn status_ui(ui: &mut egui::Ui, state: &AppState, g: &Graph, layout: &Layout, use_shader: bool) {
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
}
