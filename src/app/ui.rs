//! The frame around the views: top bar (open, tabs), side panel (graph and pin), error toasts,
//! keyboard shortcuts, and the central view.

use eframe::egui;

use super::ExplorerApp;
use super::state::{Command, Ctx, View};

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
            if ui.button("Open…").on_hover_text("Open a graph file or drop one on the window (Ctrl+O)").clicked() {
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
                ui.label(format!("loading {what}…"));
            }
        });
    });
}

/// The pin search box's text.
#[derive(Default)]
pub struct PinSearch {
    pub query: String,
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
        ui.add(egui::TextEdit::singleline(&mut search.query).hint_text("Search pin by id or label"))
            .accessible_name("Search pin by id or label");
        if !search.query.trim().is_empty() {
            let found = g.find_pins(&search.query, 12);
            if found.is_empty() {
                ui.weak("no pin matches");
            }
            for f in found {
                if ui.selectable_label(f == p, format!("{f}: {}", g.pin_label(f))).clicked() {
                    ctx.send(Command::SelectPin(f));
                }
            }
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
