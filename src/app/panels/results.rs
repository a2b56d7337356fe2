//! The results view: the ablation table written by `pinsage ablate` (baselines and PinSage
//! variants, same budget, same protocols) drawn as bars per metric — the paper's "PinSage vs
//! baselines" figure, measured — with each row's training config one click away.

use std::path::{Path, PathBuf};

use eframe::egui;

use super::training::PathPicker;
use crate::ablation::{AblationReport, AblationRow};
use crate::app::cache::CacheKey;
use crate::app::state::{Command, Ctx};

/// The metrics drawn, as (title, hover text, value of a row).
type MetricFn = fn(&AblationRow) -> f64;
pub const METRICS: [(&str, &str, MetricFn); 4] = [
    ("recall@20", "LightGCN all-ranking protocol: share of a board's held-out pins in its top 20", |r| {
        r.metrics.recall_at_20
    }),
    ("ndcg@20", "LightGCN all-ranking protocol, rank-discounted", |r| r.metrics.ndcg_at_20),
    ("hit rate", "pin-to-pin: share of held-out co-board pins ranked within the top k", |r| r.metrics.hit_rate),
    ("MRR (scaled)", "pin-to-pin: the paper's scaled MRR, mean of 1/ceil(rank/100)", |r| r.metrics.mrr_scaled),
];

/// The (row name, value) bars of metric `m` (an index into [`METRICS`]).
pub fn bars(report: &AblationReport, m: usize) -> Vec<(String, f64)> {
    report.rows.iter().map(|r| (r.name.clone(), (METRICS[m].2)(r))).collect()
}

/// The results view's state.
#[derive(Default)]
pub struct ResultsPanel {
    pub path: String,
    initialised: bool,
    loads: u64,
    /// The cache key of the report being shown (or loaded).
    key: Option<CacheKey>,
    /// Row whose config is shown.
    pub config_row: Option<usize>,
    picker: PathPicker,
    /// The bars drawn last frame: (metric title, bars).
    pub drawn: Vec<(String, Vec<(String, f64)>)>,
    /// The loaded graph's model and baselines, above the report.
    pub baselines: super::baselines::BaselinesPanel,
}

fn default_path(ctx: &Ctx) -> String {
    ctx.state
        .settings
        .last_run_folder
        .as_ref()
        .map(|d| Path::new(d).join("ablation.json"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("ablation.json"))
        .display()
        .to_string()
}

impl ResultsPanel {
    /// Reads the report in the path field.
    fn load(&mut self, ctx: &mut Ctx) {
        let path = PathBuf::from(self.path.trim());
        self.show(ctx, format!("ablation:{}", path.display()), move || AblationReport::load(&path));
    }

    /// Shows the report `read` gives (read in the background; `what` names it in the cache key).
    fn show(
        &mut self,
        ctx: &mut Ctx,
        what: String,
        read: impl FnOnce() -> Result<AblationReport, crate::ablation::AblationError> + Send + 'static,
    ) {
        self.loads += 1;
        let key = CacheKey::Report { what, load: self.loads };
        let _ = ctx.need::<AblationReport>(&key, move || read().map_err(|e| e.to_string()));
        self.key = Some(key);
        self.config_row = None;
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        if !self.initialised {
            self.initialised = true;
            self.path = default_path(ctx);
            if Path::new(&self.path).is_file() {
                self.load(ctx);
            }
        }
        if let Some((p, _)) = self.picker.poll(ctx) {
            self.path = p.display().to_string();
            self.load(ctx);
        }
        self.toolbar_ui(ui, ctx);
        egui::CollapsingHeader::new("This graph").id_salt("results_this_graph").default_open(true).show(ui, |ui| {
            self.baselines.ui(ui, ctx);
        });
        ui.separator();
        let Some(key) = self.key.clone() else {
            self.drawn.clear();
            ui.add_space(12.0);
            ui.label("No report loaded. Measure one with");
            ui.code("pinsage ablate --data default --out ablation.json");
            ui.label("then open that file here, or show one of the measured reports above.");
            return;
        };
        let Some(report) = ctx.state.result::<AblationReport>(&key) else {
            self.drawn.clear();
            let queued = ctx.commands.iter().any(|c| matches!(c, Command::Compute { key: k, .. } if *k == key));
            if ctx.state.is_pending(&key) || queued {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("loading…");
                });
            } else {
                ui.colored_label(ui.visuals().error_fg_color, "Could not read that report (see the message below).");
            }
            return;
        };
        self.report_ui(ui, report);
    }

    /// Heading, the report's path with Load and Browse…, and the measured reports built in.
    fn toolbar_ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx) {
        ui.horizontal(|ui| {
            ui.heading("Results");
            ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(320.0).hint_text("ablation.json"))
                .accessible_name("Ablation report");
            if ui.button("Load").on_hover_text("Read an ablation report written by `pinsage ablate`").clicked() {
                self.load(ctx);
            }
            if ui
                .add_enabled(!self.picker.waiting(), egui::Button::new("Browse…"))
                .on_hover_text("Choose an ablation.json")
                .clicked()
            {
                self.picker.open(ctx, "results", 0, "An ablation report (ablation.json)", false);
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.weak("Measured:");
            for (name, text) in crate::ablation::MEASURED {
                if ui
                    .small_button(name)
                    .on_hover_text("A report measured for BENCHMARKS.md, built into the app")
                    .clicked()
                {
                    self.show(ctx, format!("measured:{name}"), move || AblationReport::parse(text, name));
                    self.path.clear();
                }
            }
        });
    }

    /// A loaded report: its summary, the bars per metric, the table, and a row's config beside.
    fn report_ui(&mut self, ui: &mut egui::Ui, report: &AblationReport) {
        ui.label(format!(
            "{} · {} epochs per variant · {} · hit rate@{}",
            report.data,
            report.epochs,
            if report.device.is_empty() { "device not recorded" } else { &report.device },
            report.rows.first().map_or(0, |r| r.metrics.hit_k)
        ));
        let rest = match self.config_row.filter(|&i| i < report.rows.len()) {
            Some(i) => {
                let side = egui::Panel::right("results_config")
                    .resizable(true)
                    .default_size(320.0)
                    .show(ui, |ui| self.config_ui(ui, &report.rows[i]));
                super::rect_left_of(ui, side.response.rect)
            }
            None => ui.available_rect_before_wrap(),
        };
        ui.scope_builder(egui::UiBuilder::new().max_rect(rest), |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                self.bars_ui(ui, report);
                ui.add_space(8.0);
                ui.heading("Table");
                self.table_ui(ui, report);
            });
        });
    }

    /// One bar chart per metric, two to a row.
    fn bars_ui(&mut self, ui: &mut egui::Ui, report: &AblationReport) {
        self.drawn.clear();
        let w = (ui.available_width() - 16.0) / 2.0;
        let bar_h = 22.0;
        let chart_h = 30.0 + report.rows.len() as f32 * bar_h;
        egui::Grid::new("results_bars").num_columns(2).spacing([16.0, 16.0]).show(ui, |ui| {
            for (m, metric) in METRICS.iter().enumerate() {
                let b = bars(report, m);
                chart_ui(ui, metric.0, metric.1, &b, egui::vec2(w, chart_h));
                self.drawn.push((metric.0.to_string(), b));
                if m % 2 == 1 {
                    ui.end_row();
                }
            }
        });
    }

    /// Every row's numbers, its training time and its Config button.
    fn table_ui(&mut self, ui: &mut egui::Ui, report: &AblationReport) {
        egui::Grid::new("results_table").num_columns(8).striped(true).spacing([14.0, 4.0]).show(ui, |ui| {
            for h in ["method", "recall@20", "ndcg@20", "hit rate", "MRR", "MRR (scaled)", "training", "config"] {
                ui.strong(h);
            }
            ui.end_row();
            for (i, r) in report.rows.iter().enumerate() {
                ui.label(&r.name);
                for v in [
                    r.metrics.recall_at_20,
                    r.metrics.ndcg_at_20,
                    r.metrics.hit_rate,
                    r.metrics.mrr,
                    r.metrics.mrr_scaled,
                ] {
                    ui.monospace(format!("{v:.4}"));
                }
                ui.label(if r.config.is_some() {
                    crate::app::panels::training::format_secs(r.train_secs)
                } else {
                    "—".into()
                });
                if r.config.is_some() {
                    let open = self.config_row == Some(i);
                    if ui
                        .selectable_label(open, "Config")
                        .on_hover_text(format!("Show the training config of “{}”", r.name))
                        .clicked()
                    {
                        self.config_row = if open { None } else { Some(i) };
                    }
                } else {
                    ui.weak("baseline");
                }
                ui.end_row();
            }
        });
    }

    fn config_ui(&mut self, ui: &mut egui::Ui, row: &AblationRow) {
        ui.horizontal(|ui| {
            ui.heading(&row.name);
            if ui.button("Close").clicked() {
                self.config_row = None;
            }
        });
        let Some(c) = &row.config else { return };
        egui::Grid::new("results_config_grid").num_columns(2).striped(true).show(ui, |ui| {
            let mut line = |k: &str, v: String| {
                ui.label(k);
                ui.monospace(v);
                ui.end_row();
            };
            line("pooling", format!("{:?}", c.pooling).to_lowercase());
            line("neighbourhood", format!("{:?}", c.neighbourhood).to_lowercase());
            line(
                "hard negatives",
                if c.hard_negatives { format!("yes (≤ {} per query)", c.max_hard_per_query) } else { "no".into() },
            );
            line("epochs", c.epochs.to_string());
            line("batch size", c.batch_size.to_string());
            line("negatives", c.negatives.to_string());
            line("lr, Adam ε", format!("{}, {:e}", c.learning_rate, c.adam_epsilon));
            line("dims (input, hidden)", format!("{}, {}", c.input_dim, c.hidden_dim));
            line(
                "loss",
                match c.loss {
                    crate::train::LossKind::MaxMargin => format!("max-margin, Δ {}", c.margin),
                    crate::train::LossKind::Bpr => format!("BPR, τ {}", c.temperature()),
                    crate::train::LossKind::Softmax => format!("softmax, τ {}", c.temperature()),
                },
            );
            line(
                "pairs",
                format!("{:?}, {:.0} % board queries", c.pair_sampling, 100.0 * c.board_query_share).to_lowercase(),
            );
            line("K, walks, length", format!("{}, {}, {}", c.walk.top_k, c.walk.walks, c.walk.length));
            line("seed", c.seed.to_string());
        });
        let json = serde_json::to_string_pretty(c).unwrap_or_default();
        ui.horizontal(|ui| {
            if ui.button("Copy config.json").clicked() {
                ui.ctx().copy_text(json.clone());
            }
        });
        egui::CollapsingHeader::new("config.json").id_salt("results_config_json").show(ui, |ui| {
            egui::ScrollArea::vertical().max_height(300.0).show(ui, |ui| {
                ui.monospace(json);
            });
        });
    }
}

/// Whether a bar is a baseline's (drawn in grey).
fn is_baseline(name: &str) -> bool {
    matches!(name, "most popular" | "visual only" | "MostPopular" | "ItemKNN" | "EASE^R")
}

/// One horizontal bar chart: a bar per method, baselines in grey.
pub(super) fn chart_ui(ui: &mut egui::Ui, title: &str, hint: &str, bars: &[(String, f64)], size: egui::Vec2) {
    let (rect, resp) = ui.allocate_exact_size(size, egui::Sense::hover());
    resp.on_hover_text(hint);
    let painter = ui.painter_at(rect);
    let v = ui.visuals();
    painter.rect_filled(rect, 4.0, v.faint_bg_color);
    painter.text(
        rect.left_top() + egui::vec2(8.0, 6.0),
        egui::Align2::LEFT_TOP,
        title,
        egui::FontId::proportional(14.0),
        v.strong_text_color(),
    );
    let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1e-9);
    let font = egui::FontId::proportional(12.0);
    let widest = bars
        .iter()
        .map(|b| painter.layout_no_wrap(b.0.clone(), font.clone(), v.text_color()).size().x)
        .fold(0.0f32, f32::max);
    let label_w = (widest + 16.0).min(rect.width() * 0.5);
    let (x0, x1) = (rect.left() + label_w, rect.right() - 110.0);
    let best = bars.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
    let mut variant = 0;
    for (i, (name, val)) in bars.iter().enumerate() {
        let y = rect.top() + 30.0 + i as f32 * 22.0;
        let baseline = is_baseline(name);
        let colour = if baseline {
            egui::Color32::from_gray(140)
        } else {
            variant += 1;
            [
                egui::Color32::from_rgb(120, 170, 240),
                egui::Color32::from_rgb(100, 200, 150),
                egui::Color32::from_rgb(240, 120, 110),
            ][(variant - 1) % 3]
        };
        painter.text(egui::pos2(x0 - 8.0, y + 9.0), egui::Align2::RIGHT_CENTER, name, font.clone(), v.text_color());
        let w = ((val / max) as f32 * (x1 - x0)).max(1.0);
        painter.rect_filled(egui::Rect::from_min_size(egui::pos2(x0, y + 2.0), egui::vec2(w, 15.0)), 2.0, colour);
        let text = format!("{val:.3}{}", if *val == best { "  (best)" } else { "" });
        painter.text(
            egui::pos2(x0 + w + 6.0, y + 9.0),
            egui::Align2::LEFT_CENTER,
            text,
            egui::FontId::monospace(11.0),
            v.text_color(),
        );
    }
}
