//! The random-walk lab: replays the walks of the selected pin step by step (computed in the
//! background by `explain::walk_replay`), accumulating visit counts live, beside the exact
//! Personalized PageRank and the estimate's error against the number of walks.

use eframe::egui;
use egui_plot::{Bar, BarChart, Legend, Line, Plot, Points};

use crate::app::cache::CacheKey;
use crate::app::state::{AppState, Command, Ctx};
use crate::explain::{WalkErrorCurve, WalkReplay, walk_error_curve, walk_replay};
use crate::walk::{WalkConfig, top_k_of_counts};

/// Where the animation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WalkPhase {
    /// Nothing replayed yet.
    #[default]
    Idle,
    Running,
    Paused,
    /// Every step replayed: the counts equal `walk::visit_counts`.
    Finished,
}

/// The walk lab's state.
pub struct WalkLab {
    pub phase: WalkPhase,
    /// Pin-steps replayed per second while running.
    pub speed_steps_per_sec: f32,
    /// How many steps of the replay have been applied to `counts`.
    pub cursor: usize,
    /// Visit counts so far (all pins, start excluded).
    pub counts: Vec<u32>,
    /// The replay `counts` belong to (graph generation, pin, walk settings).
    pub key: Option<CacheKey>,
    /// Steps owed to the animation (fractional, from speed × frame time).
    owed_steps: f64,
    /// Progress through the step now drawn (0..1), for the walker's motion.
    step_phase: f32,
}

impl Default for WalkLab {
    fn default() -> Self {
        WalkLab {
            phase: WalkPhase::Idle,
            speed_steps_per_sec: 40.0,
            cursor: 0,
            counts: Vec::new(),
            key: None,
            owed_steps: 0.0,
            step_phase: 0.0,
        }
    }
}

/// The key of the replay for the current state.
pub fn replay_key(state: &AppState) -> CacheKey {
    let c = &state.settings.walk;
    CacheKey::WalkReplay {
        graph: state.graph_generation,
        pin: state.selected_pin,
        walks: c.walks,
        length: c.length,
        restart_bits: c.restart.to_bits(),
        seed: c.seed,
    }
}

fn curve_key(state: &AppState) -> CacheKey {
    let c = &state.settings.walk;
    CacheKey::WalkError {
        graph: state.graph_generation,
        pin: state.selected_pin,
        length: c.length,
        restart_bits: c.restart.to_bits(),
        seed: c.seed,
    }
}

const TOP_COLOUR: egui::Color32 = egui::Color32::from_rgb(255, 160, 60);
const OTHER_COLOUR: egui::Color32 = egui::Color32::from_rgb(110, 140, 190);
const WALKER_COLOUR: egui::Color32 = egui::Color32::from_rgb(120, 255, 160);

impl WalkLab {
    /// Drops the counts when the pin, the graph or the settings changed.
    fn sync(&mut self, state: &AppState) {
        let key = replay_key(state);
        if self.key.as_ref() != Some(&key) || self.counts.len() != state.graph.n_pins() as usize {
            // A run requested before the first frame (screenshots) survives the first sync.
            let keep = self.key.is_none() && self.phase == WalkPhase::Running;
            self.key = Some(key);
            self.reset(state.graph.n_pins() as usize);
            if keep {
                self.phase = WalkPhase::Running;
            }
        }
    }

    fn reset(&mut self, n_pins: usize) {
        self.phase = WalkPhase::Idle;
        self.cursor = 0;
        self.counts = vec![0; n_pins];
        self.owed_steps = 0.0;
        self.step_phase = 0.0;
    }

    /// Applies the next `n` steps of `replay`; finishes at the end.
    fn apply(&mut self, replay: &WalkReplay, n: usize) {
        let end = (self.cursor + n).min(replay.steps.len());
        for s in &replay.steps[self.cursor..end] {
            if s.pin != replay.pin {
                self.counts[s.pin as usize] += 1;
            }
        }
        self.cursor = end;
        if self.cursor >= replay.steps.len() {
            self.phase = WalkPhase::Finished;
        }
    }

    /// Advances the animation by the frame's time; requests a repaint only while running.
    pub fn tick(&mut self, state: &AppState, ctx: &egui::Context) {
        self.sync(state);
        if self.phase != WalkPhase::Running {
            return;
        }
        let Some(replay) = self.key.as_ref().and_then(|k| state.result::<WalkReplay>(k)) else { return };
        let dt = ctx.input(|i| i.stable_dt).min(0.25) as f64;
        self.owed_steps += self.speed_steps_per_sec as f64 * dt;
        let n = self.owed_steps.floor();
        self.owed_steps -= n;
        self.step_phase = self.owed_steps as f32;
        self.apply(replay, n as usize);
        if self.phase == WalkPhase::Running {
            ctx.request_repaint();
        }
    }

    /// Starts the walks at a speed that finishes them in a few frames (for screenshots).
    pub fn run_to_end(&mut self) {
        self.phase = WalkPhase::Running;
        self.speed_steps_per_sec = 20000.0;
    }

    pub fn animating(&self) -> bool {
        self.phase == WalkPhase::Running
    }

    /// The current top K (pin, count).
    pub fn top_k(&self, k: usize) -> Vec<(u32, u32)> {
        top_k_of_counts(&self.counts, k)
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        let state = ctx.state;
        self.sync(state);
        let g = state.graph.clone();
        let pin = state.selected_pin;
        let cfg = state.settings.walk.clone();
        let replay = {
            let (g2, cfg2) = (g.clone(), cfg.clone());
            ctx.need(replay_key(state), move || walk_replay(&g2, pin, &cfg2).map_err(|e| e.to_string()))
        };
        let curve = {
            let (g2, cfg2) = (g.clone(), cfg.clone());
            ctx.need(curve_key(state), move || walk_error_curve(&g2, pin, &cfg2, 3000).map_err(|e| e.to_string()))
        };

        ui.horizontal(|ui| {
            ui.heading("Random-walk lab");
            ui.label(format!("from {} (id {pin})", g.pin_label(pin)));
        });
        ui.label(
            "PinSage picks a pin's neighbours by simulating short random walks with restarts and counting visits; \
             the K most visited pins become its neighbourhood, weighted by their counts.",
        );
        self.controls_ui(ui, ctx, &cfg, replay);
        ui.separator();

        let top: Vec<(u32, u32)> = self.top_k(cfg.top_k);
        ui.columns(2, |cols| {
            let left = &mut cols[0];
            match replay {
                Some(r) => self.picture_ui(left, r, &top, &g),
                None => {
                    left.horizontal(|ui| {
                        ui.spinner();
                        ui.label("computing the walks…");
                    });
                }
            }
            let right = &mut cols[1];
            self.counts_ui(right, &top, curve, &g, &cfg);
            if let Some(c) = curve {
                self.error_ui(right, c, &cfg);
            }
        });
    }

    fn controls_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, cfg: &WalkConfig, replay: Option<&WalkReplay>) {
        self.playback_ui(ui, replay);
        walk_config_ui(ui, ctx, cfg);
        self.status_ui(ui, cfg, replay);
    }

    /// Start / Pause / Resume / Restart (Space), Step (→), Reset (R) and the speed.
    fn playback_ui(&mut self, ui: &mut egui::Ui, replay: Option<&WalkReplay>) {
        ui.horizontal_wrapped(|ui| {
            let running = self.phase == WalkPhase::Running;
            let start_label = match self.phase {
                WalkPhase::Paused => "Resume",
                WalkPhase::Finished => "Restart",
                _ => "Start",
            };
            if ui.add_enabled(!running, egui::Button::new(start_label)).on_hover_text("Space").clicked()
                || (!running && space(ui))
            {
                if self.phase == WalkPhase::Finished {
                    self.reset(self.counts.len());
                }
                self.phase = WalkPhase::Running;
            } else if running && (ui.button("Pause").on_hover_text("Space").clicked() || space(ui)) {
                self.phase = WalkPhase::Paused;
            }
            let can_step = !running && self.phase != WalkPhase::Finished;
            if (ui.add_enabled(can_step, egui::Button::new("Step")).on_hover_text("One pin-step (→)").clicked()
                || (can_step && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowRight))))
                && let Some(r) = replay
            {
                self.phase = WalkPhase::Paused;
                self.step_phase = 0.0;
                self.apply(r, 1);
            }
            if ui.button("Reset").on_hover_text("Clear the counts (R)").clicked()
                || ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::R))
            {
                self.reset(self.counts.len());
            }
            ui.separator();
            ui.add(
                egui::Slider::new(&mut self.speed_steps_per_sec, 1.0..=20000.0)
                    .logarithmic(true)
                    .text("Speed")
                    .suffix(" steps/s"),
            );
        });
    }

    /// How far the replay has got, and what it is doing.
    fn status_ui(&self, ui: &mut egui::Ui, cfg: &WalkConfig, replay: Option<&WalkReplay>) {
        let total = replay.map_or(0, |r| r.steps.len());
        ui.horizontal(|ui| {
            let (w, s) = match replay.and_then(|r| r.steps.get(self.cursor.saturating_sub(1))) {
                Some(st) if self.cursor > 0 => (st.walk + 1, st.step + 1),
                _ => (0, 0),
            };
            ui.add(
                egui::ProgressBar::new(if total == 0 { 0.0 } else { self.cursor as f32 / total as f32 })
                    .desired_width(220.0)
                    .text(format!("{} / {total} steps", self.cursor)),
            );
            ui.label(format!("walk {w} of {}, step {s} of {}", cfg.walks, cfg.length));
            ui.label(match self.phase {
                WalkPhase::Idle => "ready",
                WalkPhase::Running => "running",
                WalkPhase::Paused => "paused",
                WalkPhase::Finished => "finished: counts = the sampler's",
            });
            if replay.is_some_and(|r| r.steps.is_empty()) {
                ui.colored_label(ui.visuals().warn_fg_color, "this pin has no boards: no walk can leave it");
            }
        });
    }

    fn picture_ui(&self, ui: &mut egui::Ui, r: &WalkReplay, top: &[(u32, u32)], g: &crate::graph::Graph) {
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

    fn counts_ui(
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

    fn error_ui(&self, ui: &mut egui::Ui, c: &WalkErrorCurve, cfg: &WalkConfig) {
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

fn space(ui: &egui::Ui) -> bool {
    !ui.ctx().egui_wants_keyboard_input() && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Space))
}

/// T, L, K and the restart probability (changed through `Command::SetWalkConfig`).
fn walk_config_ui(ui: &mut egui::Ui, ctx: &mut Ctx, cfg: &WalkConfig) {
    ui.horizontal_wrapped(|ui| {
        let mut c = cfg.clone();
        let l = ui.label("T walks");
        ui.add(egui::DragValue::new(&mut c.walks).range(1..=5000))
            .labelled_by(l.id)
            .on_hover_text("Walks from the pin");
        let l = ui.label("L steps");
        ui.add(egui::DragValue::new(&mut c.length).range(1..=1000))
            .labelled_by(l.id)
            .on_hover_text("Pin-steps per walk");
        let l = ui.label("K neighbours");
        ui.add(egui::DragValue::new(&mut c.top_k).range(1..=200)).labelled_by(l.id).on_hover_text("Neighbours kept");
        ui.add(egui::Slider::new(&mut c.restart, 0.0..=0.95).text("Restart"));
        if c != *cfg {
            ctx.send(Command::SetWalkConfig(c));
        }
    });
}
