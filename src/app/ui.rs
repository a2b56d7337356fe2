//! The frame around the views: top bar (open, tabs), side panel (graph and pin), error toasts,
//! keyboard shortcuts, and the central view.

use eframe::egui;

use super::ExplorerApp;
use super::state::{CacheKey, Command, Ctx, View};
use crate::eval::EmbeddingScorer;
use crate::load::{LoadProgress, LoadStage};
use crate::recommend::{Query, Recommendations, find_boards, recommend};

/// How many recommendations the search box lists (as `pinsage recommend -k 20`).
pub const RECOMMEND_K: usize = 20;

const OPEN: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);
const DEFAULT: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::D);

/// Draws the whole app.
pub fn app_ui(app: &mut ExplorerApp, ui: &mut egui::Ui) {
    let mut commands = std::mem::take(&mut app.state.commands);
    shortcuts_ui(ui, &mut commands);
    {
        let mut ctx = Ctx { state: &app.state, commands: &mut commands };
        top_bar_ui(ui, &mut ctx);
        side_panel_ui(ui, &mut ctx, &mut app.panels.pin_search);
        errors_ui(ui, &mut ctx);
        egui::CentralPanel::default().show(ui, |ui| {
            app.panels.ui(ui, &mut ctx);
        });
        app.panels.open.ui(ui, &mut ctx);
    }
    app.state.commands.extend(commands);
}

fn shortcuts_ui(ui: &mut egui::Ui, commands: &mut Vec<Command>) {
    if ui.input_mut(|i| i.consume_shortcut(&OPEN)) {
        commands.push(Command::PickFile);
    }
    if ui.input_mut(|i| i.consume_shortcut(&DEFAULT)) {
        commands.push(Command::Open("default".into()));
    }
    // Alt+1 … Alt+9 switch views.
    let keys = [
        egui::Key::Num1,
        egui::Key::Num2,
        egui::Key::Num3,
        egui::Key::Num4,
        egui::Key::Num5,
        egui::Key::Num6,
        egui::Key::Num7,
        egui::Key::Num8,
        egui::Key::Num9,
    ];
    for (key, view) in keys.iter().zip(View::ALL) {
        if ui.input_mut(|i| i.consume_key(egui::Modifiers::ALT, *key)) {
            commands.push(Command::SetView(view));
        }
    }
}

fn top_bar_ui(ui: &mut egui::Ui, ctx: &mut Ctx) {
    egui::Panel::top("top_bar").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.strong("PinSage Explorer");
            ui.separator();
            if ui
                .button("Open…")
                .on_hover_text("Open a graph file with its held-out split, or drop one on the window (Ctrl+O)")
                .clicked()
            {
                ctx.send(Command::PickFile);
            }
            if ui.button("Default graph").on_hover_text("The embedded synthetic graph (Ctrl+D)").clicked() {
                ctx.send(Command::Open("default".into()));
            }
            ui.separator();
            for (i, view) in View::ALL.into_iter().enumerate() {
                let selected = ctx.state.settings.view == view;
                if ui.selectable_label(selected, view.title()).on_hover_text(format!("Alt+{}", i + 1)).clicked() {
                    ctx.send(Command::SetView(view));
                }
            }
            if let Some(what) = &ctx.state.loading {
                ui.separator();
                ui.spinner();
                let name = std::path::Path::new(what).file_name().map_or(what.clone(), |n| n.to_string_lossy().into());
                let how =
                    ctx.state.load_progress.as_ref().map(|p| format!(" · {}", progress_text(p))).unwrap_or_default();
                ui.label(format!("loading {name}{how}")).on_hover_text(what.as_str());
                if let Some(p) = &ctx.state.load_progress
                    && p.total_bytes > 0
                    && p.stage != LoadStage::Building
                {
                    let f = p.bytes as f32 / p.total_bytes as f32;
                    ui.add(egui::ProgressBar::new(f.clamp(0.0, 1.0)).desired_width(120.0));
                }
                if ui.button("Cancel").on_hover_text("Stop loading; the graph you have stays").clicked() {
                    ctx.send(Command::CancelLoad);
                }
            }
        });
    });
}

/// "12.0 of 40.0 MiB read", "parsing: 1,200,000 lines (40 %)", "building the graph".
pub fn progress_text(p: &LoadProgress) -> String {
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    match p.stage {
        LoadStage::Reading => format!("{:.1} of {:.1} MiB read", mib(p.bytes), mib(p.total_bytes)),
        LoadStage::Parsing => {
            format!("parsing: {} lines ({:.0} %)", p.lines, 100.0 * p.bytes as f64 / p.total_bytes.max(1) as f64)
        }
        LoadStage::Building => format!("building the graph ({} edges)", p.lines),
    }
}

/// The search box: its text and what it found (recomputed when the text or the graph changes).
#[derive(Default)]
pub struct PinSearch {
    pub query: String,
    /// (query, graph generation) the matches are for.
    matched: Option<(String, u64)>,
    pub pins: Vec<u32>,
    pub boards: Vec<u32>,
    /// The recommendation lists shown last frame (a board's top pins, a pin's related pins).
    pub shown: Vec<Recommendations>,
}

impl PinSearch {
    fn refresh(&mut self, g: &crate::graph::Graph, generation: u64) {
        let q = self.query.trim().to_string();
        if self.matched.as_ref().is_some_and(|(mq, mg)| *mq == q && *mg == generation) {
            return;
        }
        self.pins = g.find_pins(&q, 12);
        self.boards = find_boards(g, &q, 6);
        self.matched = Some((q, generation));
    }
}

/// The recommendation list for `query` from the current embeddings (computed in the background).
fn recommendations_ui(ui: &mut egui::Ui, ctx: &mut Ctx, query: Query, shown: &mut Vec<Recommendations>) {
    let state = ctx.state;
    let Some(emb) = state.embeddings.clone() else { return };
    let g = state.graph.clone();
    let key = CacheKey::Recommend { graph: state.graph_generation, embeddings: state.embeddings_generation, query };
    let Some(recs) = ctx
        .need::<Recommendations>(&key, move || Ok(recommend(&g, &EmbeddingScorer { emb: &emb }, query, RECOMMEND_K)))
    else {
        super::panels::waiting_ui(ui, "scoring…");
        return;
    };
    let heading = match query {
        Query::Board(_) => format!("Recommended for {} ({} known pins excluded)", recs.title, recs.excluded),
        Query::Pin(_) => format!("Related to {}", recs.title),
    };
    ui.label(egui::RichText::new(heading).strong());
    let p = state.selected_pin;
    for (i, &(pin, score)) in recs.items.iter().enumerate() {
        let text = format!("{:>2}. {}", i + 1, state.graph.pin_label(pin));
        if ui.selectable_label(pin == p, text).on_hover_text(format!("pin {pin} · score {score:.4}")).clicked() {
            ctx.send(Command::SelectPin(pin));
        }
    }
    shown.push(recs.clone());
}

fn side_panel_ui(ui: &mut egui::Ui, ctx: &mut Ctx, search: &mut PinSearch) {
    let g = ctx.state.graph.clone();
    egui::Panel::left("side").resizable(true).default_size(250.0).show(ui, |ui| {
        ui.heading("Graph");
        ui.label(egui::RichText::new(&g.source).small());
        egui::Grid::new("graph_stats").num_columns(2).show(ui, |ui| {
            ui.label("pins");
            ui.label(g.n_pins().to_string());
            ui.end_row();
            ui.label("boards");
            ui.label(g.n_boards().to_string());
            ui.end_row();
            ui.label("train edges");
            ui.label(g.n_edges().to_string());
            ui.end_row();
            ui.label("validation edges");
            ui.label(g.n_validation_edges().to_string());
            ui.end_row();
            ui.label("test edges");
            ui.label(g.n_test_edges().to_string());
            ui.end_row();
        });
        ui.separator();
        ui.heading("Selected pin");
        let p = ctx.state.selected_pin;
        ui.label(egui::RichText::new(g.pin_label(p)).strong());
        ui.label(format!("id {p} · {} boards", g.boards_of(p).len()));
        if let Some(c) = &g.categories {
            ui.label(format!("category: {}", c.names[c.of_pin[p as usize] as usize]));
        }
        ui.add_space(6.0);
        ui.add(egui::TextEdit::singleline(&mut search.query).hint_text("Search a pin or a board"))
            .accessible_name("Search pin by id or label");
        search.shown.clear();
        if !search.query.trim().is_empty() {
            search.refresh(&g, ctx.state.graph_generation);
            egui::ScrollArea::vertical().max_height((ui.available_height() - 60.0).max(120.0)).show(ui, |ui| {
                if search.pins.is_empty() && search.boards.is_empty() {
                    ui.weak("no pin or board matches");
                }
                for &f in &search.pins {
                    if ui.selectable_label(f == p, format!("{f}: {}", g.pin_label(f))).clicked() {
                        ctx.send(Command::SelectPin(f));
                    }
                }
                if ctx.state.embeddings.is_none() {
                    if !search.boards.is_empty() {
                        ui.weak(format!(
                            "boards: {}",
                            search.boards.iter().map(|&b| g.board_label(b)).collect::<Vec<_>>().join(", ")
                        ));
                    }
                    ui.weak("Train or load a model to see recommendations here.");
                    return;
                }
                ui.separator();
                let mut shown = std::mem::take(&mut search.shown);
                if let Some(&b) = search.boards.first() {
                    recommendations_ui(ui, ctx, Query::Board(b), &mut shown);
                }
                if let Some(&pin) = search.pins.first() {
                    recommendations_ui(ui, ctx, Query::Pin(pin), &mut shown);
                }
                search.shown = shown;
            });
        }
        ui.separator();
        match &ctx.state.model {
            Some(m) => {
                ui.label(format!("model: {}", m.origin));
            }
            None => {
                ui.weak("model: none yet (Training view)");
            }
        }
    });
}

fn errors_ui(ui: &mut egui::Ui, ctx: &mut Ctx) {
    if ctx.state.errors.is_empty() {
        return;
    }
    egui::Panel::bottom("errors").show(ui, |ui| {
        for (i, e) in ctx.state.errors.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.colored_label(ui.visuals().error_fg_color, e.as_str());
                if ui.small_button("Dismiss").clicked() {
                    ctx.commands.push(Command::DismissError(i));
                }
            });
        }
    });
}
