//! The random-walk lab: replays the walks of the selected pin step by step (computed in the
//! background by `explain::walk_replay`), accumulating visit counts live, beside the exact
//! Personalized PageRank and the estimate's error against the number of walks.

mod picture;

use eframe::egui;

use crate::app::cache::CacheKey;
use crate::app::state::{AppState, Command, Ctx};
use crate::explain::{WalkReplay, walk_error_curve, walk_replay};
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
