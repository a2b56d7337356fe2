//! The app frame: opening files (good and bad) on a background thread, keyboard shortcuts.

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use pinsage_explorer::app::{AppOptions, Command, ExplorerApp, View};

use crate::common::temp_file;

fn harness() -> Harness<'static, ExplorerApp> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(|cc| ExplorerApp::new(cc, AppOptions { ephemeral: true, ..Default::default() }))
}

fn wait_for(h: &mut Harness<'static, ExplorerApp>, what: &str, done: impl Fn(&ExplorerApp) -> bool) {
    crate::common::wait_for_app(h, what, 30, done);
}

#[test]
fn a_bad_file_shows_an_error_and_keeps_the_graph_a_good_one_replaces_it() {
    let mut h = harness();
    h.step();
    let before = h.state().state.graph.clone();
    let (_d, bad) = temp_file("broken.txt", b"0 1 2\n1 99999999999\n");
    h.state_mut().state.commands.push(Command::Open(bad.display().to_string()));
    wait_for(&mut h, "the load to fail", |a| a.state.loading.is_none() && !a.state.errors.is_empty());
    let err = &h.state().state.errors[0];
    assert!(err.contains("broken.txt:2:") && err.contains("32 bits"), "{err}");
    assert!(std::sync::Arc::ptr_eq(&h.state().state.graph, &before), "the current graph is kept");
    // The message is on screen and can be dismissed.
    h.get_by_label("Dismiss").click();
    h.step();
    h.step();
    assert!(h.state().state.errors.is_empty());

    let (_d2, good) = temp_file("edges.csv", b"pin,board\nlamp,den\nsofa,den\nrug,hall\nlamp,hall\n");
    h.state_mut().state.commands.push(Command::Open(good.display().to_string()));
    wait_for(&mut h, "the new graph", |a| a.state.graph_generation == 1);
    let g = &h.state().state.graph;
    // Opened files get the default held-out split: every edge is in one of the three.
    assert_eq!((g.n_pins(), g.n_boards(), g.n_edges() + g.n_test_edges() + g.n_validation_edges()), (3, 2, 4));
    assert_eq!(g.n_test_edges(), 2, "each two-pin board holds one pin out for testing");
    assert_eq!(
        h.state().state.settings.last_file.as_deref(),
        Some(good.display().to_string().as_str()),
        "remembered for next time"
    );
    assert!(h.state().state.selected_pin < 3);
}

#[test]
fn alt_number_switches_views() {
    let mut h = harness();
    h.step();
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::Num2);
    h.step();
    h.step();
    assert_eq!(h.state().state.settings.view, View::Walks);
    h.get_by_label("Results").click();
    h.step();
    h.step();
    assert_eq!(h.state().state.settings.view, View::Results);
}
