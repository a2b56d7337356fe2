//! The inference view: the paper's "Run Job 1 / Run Job 2" animation of layer-wise inference
//! (layer 1 for every node once, then layer 2 reading those results), and the real full-graph
//! inference of the current model with a progress bar.

use std::sync::Arc;

use eframe::egui;

use crate::app::cache::CacheKey;
use crate::app::state::{AppState, Command, Ctx};
use crate::sampler::{NeighbourhoodKind, NodeNeighbourhoods, try_node_neighbourhoods};

/// The most cells a band draws; larger graphs put several nodes in one cell.
const MAX_CELLS: usize = 640;

/// The animation: which job runs, and how far it got.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Anim {
    #[default]
    Idle,
    /// Job `job` (1 or 2) is `t` ∈ [0, 1) of the way through the nodes.
    Running { job: u8, t: f32 },
}

/// The inference view's state.
pub struct InferencePanel {
    pub anim: Anim,
    /// Jobs finished by the animation: 0, 1 (layer 1 done) or 2 (both).
    pub done_jobs: u8,
    /// Seconds one job's animation takes.
    pub secs_per_job: f32,
    /// Run job 2 right after job 1.
    pub chain: bool,
    real_started: Option<f64>,
    real_seen: bool,
    /// Wall time of the last real inference, seconds.
    pub real_secs: Option<f64>,
}

impl Default for InferencePanel {
    fn default() -> Self {
        InferencePanel {
            anim: Anim::Idle,
            done_jobs: 0,
            secs_per_job: 4.0,
            chain: false,
            real_started: None,
            real_seen: false,
            real_secs: None,
        }
    }
}

impl InferencePanel {
    pub fn tick(&mut self, state: &AppState, ctx: &egui::Context) {
        let _ = state;
        if let Anim::Running { job, t } = self.anim {
            let dt = ctx.input(|i| i.stable_dt).min(0.1);
            let t = t + dt / self.secs_per_job.max(0.1);
            if t >= 1.0 {
                self.done_jobs = job;
                self.anim = if job == 1 && self.chain { Anim::Running { job: 2, t: 0.0 } } else { Anim::Idle };
            } else {
                self.anim = Anim::Running { job, t };
            }
            ctx.request_repaint();
        }
    }

    pub fn animating(&self) -> bool {
        matches!(self.anim, Anim::Running { .. })
    }

    fn start(&mut self, job: u8) {
        if job == 1 {
            self.done_jobs = 0;
        }
        self.anim = Anim::Running { job, t: 0.0 };
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let g = ctx.state.graph.clone();
        let nb: Option<Arc<NodeNeighbourhoods>> = match &ctx.state.model {
            Some(m) => Some(m.neighbourhoods.clone()),
            None => {
                let key = CacheKey::InferenceNeighbourhoods { graph: ctx.state.graph_generation };
                let g2 = g.clone();
                let walk = ctx.state.settings.train.walk.clone();
                ctx.need(&key, move || {
                    try_node_neighbourhoods(&g2, NeighbourhoodKind::Walks, &walk)
                        .map(Arc::new)
                        .map_err(|e| e.to_string())
                })
                .cloned()
            }
        };
        ui.heading("Layer-wise inference");
        ui.label(
            "PinSage embeds the whole graph without recomputing neighbourhoods: Job 1 computes every node's layer-1 \
             vector h¹ once from the inputs h⁰; Job 2 computes every node's layer-2 vector h² (then the dense head and L2 \
             norm) reading only those stored h¹ of its K neighbours — the paper's MapReduce scheme.",
        );
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let running = self.animating();
            if ui
                .add_enabled(!running, egui::Button::new("Run Job 1"))
                .on_hover_text("Animate layer 1 over all nodes")
                .clicked()
            {
                self.chain = false;
                self.start(1);
            }
            if ui
                .add_enabled(!running && self.done_jobs >= 1, egui::Button::new("Run Job 2"))
                .on_hover_text("Animate layer 2; needs Job 1's results")
                .clicked()
            {
                self.chain = false;
                self.start(2);
            }
            if ui.add_enabled(!running, egui::Button::new("Run both")).clicked() {
                self.chain = true;
                self.start(1);
            }
            if running && ui.button("Stop").clicked() {
                self.anim = Anim::Idle;
            }
            ui.add(egui::Slider::new(&mut self.secs_per_job, 1.0..=20.0).text("seconds per job").fixed_decimals(0));
        });
        match nb {
            Some(nb) if nb.k > 0 => self.canvas_ui(ui, &nb, g.n_pins() as usize),
            _ => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("sampling neighbourhoods…");
                });
            }
        }
        ui.separator();
        self.real_ui(ui, ctx);
    }

    fn canvas_ui(&self, ui: &mut egui::Ui, nb: &NodeNeighbourhoods, n_pins: usize) {
        let n = nb.n_nodes();
        let k = nb.k;
        let per_cell = n.div_ceil(MAX_CELLS).max(1);
        let cells = n.div_ceil(per_cell).max(1);
        let width = ui.available_width();
        let band_h = ((ui.available_height() - 190.0) / 3.0).clamp(60.0, 170.0);
        let label_w = 150.0;
        let grid_w = width - label_w - 10.0;
        // Cells in a grid as square as the band allows.
        let cols = ((cells as f32 * grid_w / band_h).sqrt().ceil() as usize).clamp(1, cells);
        let rows = cells.div_ceil(cols);
        let cell = (grid_w / cols as f32).min(band_h / rows as f32);
        let (resp, painter) = ui.allocate_painter(egui::vec2(width, band_h * 3.0 + 30.0), egui::Sense::hover());
        let canvas = Canvas { origin: resp.rect.left_top(), label_w, band_h, cols, cell, cells, per_cell, n_pins };
        let (job, t) = match self.anim {
            Anim::Running { job, t } => (job as usize, t),
            Anim::Idle => (0, 0.0),
        };
        let filled = |band: usize| -> usize {
            match band {
                0 => cells,
                b if self.done_jobs as usize >= b => cells,
                b if job == b => (t * cells as f32) as usize,
                _ => 0,
            }
        };
        canvas.paint_bands(ui, &painter, filled);
        // The node being computed now, and the K stored neighbours it reads from the band above.
        if job > 0 {
            canvas.paint_current(ui, &painter, nb, job, t);
        }
        let legend = if per_cell > 1 { format!("one cell = {per_cell} nodes · ") } else { String::new() };
        ui.horizontal_wrapped(|ui| {
            super::map::swatch_ui(ui, PIN_COLOUR, true);
            ui.label("pins");
            super::map::swatch_ui(ui, BOARD_COLOUR, true);
            ui.label("boards");
            ui.weak(format!("{legend}{n} nodes, K = {k}"));
        });
        let layerwise = 2 * n;
        let naive = n * (k + 2);
        ui.label(format!(
            "Convolutions: layer-wise {layerwise} (2 per node) vs {naive} when each node recomputes its two-hop tree (K + 2 = {} per node): {:.1}× less work.",
            k + 2,
            naive as f64 / layerwise.max(1) as f64
        ));
    }

    fn real_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        ui.heading("Full-graph inference");
        let now = ui.input(|i| i.time);
        let progress = ctx.state.inference_progress;
        if let Some(start) = self.real_started {
            if progress.is_some() {
                self.real_seen = true;
            } else if self.real_seen {
                self.real_secs = Some(now - start);
                self.real_started = None;
            }
        }
        match &ctx.state.model {
            None => {
                ui.weak("No model yet: train one in the Training view, or load a run folder's model there.");
            }
            Some(m) => {
                ui.label(format!(
                    "model: {} · input {}, hidden {} dims, {:?} pooling",
                    m.origin, m.config.input_dim, m.config.hidden_dim, m.config.pooling
                ));
                ui.horizontal(|ui| {
                    let busy = progress.is_some() || self.real_started.is_some();
                    if ui
                        .add_enabled(!busy, egui::Button::new("Run full-graph inference"))
                        .on_hover_text("Embed every pin and board with the current model")
                        .clicked()
                    {
                        ctx.send(Command::RunInference);
                        self.real_started = Some(now);
                        self.real_seen = false;
                        self.real_secs = None;
                    }
                    if let Some((done, total)) = progress {
                        let stage = match (3 * done) / total.max(1) {
                            0 => "inputs",
                            1 => "layer 1",
                            _ => "layer 2 + head",
                        };
                        ui.add(
                            egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                                .text(format!("{stage}: {done}/{total} chunks"))
                                .show_percentage(),
                        );
                    }
                });
            }
        }
        if let Some(e) = &ctx.state.embeddings {
            let took = self.real_secs.map(|s| format!(" in {s:.2} s")).unwrap_or_default();
            ui.label(format!(
                "Embeddings ready{took}: {} nodes × {} dims ({} pins, {} boards). See them in the Embedding map.",
                e.n_nodes(),
                e.dim,
                e.n_pins,
                e.n_nodes() - e.n_pins
            ));
        }
    }
}

const PIN_COLOUR: egui::Color32 = egui::Color32::from_rgb(86, 160, 230);
const BOARD_COLOUR: egui::Color32 = egui::Color32::from_rgb(230, 150, 80);

/// Where the animation's three bands (h⁰, h¹, h²) of node cells are drawn.
struct Canvas {
    origin: egui::Pos2,
    label_w: f32,
    band_h: f32,
    /// Cells per row, a cell's side, how many cells, nodes per cell.
    cols: usize,
    cell: f32,
    cells: usize,
    per_cell: usize,
    n_pins: usize,
}

impl Canvas {
    fn band_top(&self, b: usize) -> f32 {
        self.origin.y + b as f32 * (self.band_h + 15.0)
    }

    fn cell_rect(&self, band: usize, c: usize) -> egui::Rect {
        let (r, col) = (c / self.cols, c % self.cols);
        egui::Rect::from_min_size(
            egui::pos2(
                self.origin.x + self.label_w + col as f32 * self.cell,
                self.band_top(band) + r as f32 * self.cell,
            ),
            egui::vec2(self.cell, self.cell),
        )
        .shrink(self.cell * 0.08)
    }

    /// The bands' names and cells, the first `filled(band)` cells of each coloured.
    fn paint_bands(&self, ui: &egui::Ui, painter: &egui::Painter, filled: impl Fn(usize) -> usize) {
        let empty = ui.visuals().faint_bg_color;
        let names = ["h⁰  inputs", "h¹  Job 1: CONVOLVE₁", "h²  Job 2: CONVOLVE₂\n     + dense + L2"];
        for (band, name) in names.iter().enumerate() {
            painter.text(
                egui::pos2(self.origin.x, self.band_top(band) + 4.0),
                egui::Align2::LEFT_TOP,
                name,
                egui::FontId::proportional(13.0),
                ui.visuals().text_color(),
            );
            let f = filled(band);
            for c in 0..self.cells {
                let is_pin = c * self.per_cell < self.n_pins;
                let colour = if c < f { if is_pin { PIN_COLOUR } else { BOARD_COLOUR } } else { empty };
                painter.rect_filled(self.cell_rect(band, c), 1.0, colour);
            }
        }
    }

    /// The node `job` is computing at `t`, and the K stored neighbours it reads from the band above.
    fn paint_current(&self, ui: &egui::Ui, painter: &egui::Painter, nb: &NodeNeighbourhoods, job: usize, t: f32) {
        let (n, k, cells, per_cell, n_pins) = (nb.n_nodes(), nb.k, self.cells, self.per_cell, self.n_pins);
        let c = ((t * cells as f32) as usize).min(cells - 1);
        let node = (c * per_cell).min(n - 1) as u32;
        let target = self.cell_rect(job, c);
        let stroke = egui::Stroke::new(1.0, egui::Color32::from_rgba_unmultiplied(255, 230, 120, 150));
        for &v in nb.ids_of(node) {
            let src = self.cell_rect(job - 1, v as usize / per_cell);
            painter.line_segment([src.center(), target.center()], stroke);
            painter.rect_stroke(
                src,
                1.0,
                egui::Stroke::new(1.5, egui::Color32::from_rgb(255, 230, 120)),
                egui::StrokeKind::Outside,
            );
        }
        painter.rect_stroke(
            self.cell_rect(job - 1, c),
            1.0,
            egui::Stroke::new(1.5, egui::Color32::WHITE),
            egui::StrokeKind::Outside,
        );
        painter.rect_filled(target, 1.0, egui::Color32::WHITE);
        let kind =
            if (node as usize) < n_pins { format!("pin {node}") } else { format!("board {}", node as usize - n_pins) };
        painter.text(
            egui::pos2(self.origin.x, self.band_top(job) + 40.0),
            egui::Align2::LEFT_TOP,
            format!("now: {kind}\nreads {k} stored h{}", if job == 1 { "⁰" } else { "¹" }),
            egui::FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
    }
}
