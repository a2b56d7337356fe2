//! GUI frame time, offscreen: every view of the app rendered by egui's wgpu renderer (the app's
//! own, as eframe uses it) with no window or display, timed frame by frame, printed as JSON.
//!
//! `cargo bench --bench frames -- [--data DIR] [--frames N]`; the built binary runs alone on a
//! GPU server. A frame is `step` (the app's `logic` + `ui` and egui's tessellation) plus `render`
//! (the GPU draw and, as egui_kittest renders to an image, the read-back of the frame, so the
//! figure is an upper bound of what a window pays). Scenes: each view on the embedded graph after
//! it settles; the walk lab while a walk animates; and, with `--data`, the graph view with a
//! 5,000-node slice drawn by the WGSL shader, while its layout runs and after it settles.

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use pinsage_explorer::app::panels::walks::WalkPhase;
use pinsage_explorer::app::{AppOptions, ExplorerApp, View};

type App = Harness<'static, ExplorerApp>;

fn harness(view: View, data: Option<String>) -> App {
    let mut h = Harness::builder().with_size(egui::vec2(1400.0, 900.0)).wgpu().build_eframe(move |cc| {
        ExplorerApp::new(cc, AppOptions { ephemeral: true, view: Some(view), data, ..Default::default() })
    });
    h.step();
    h
}

/// Steps frames until `done` (background jobs finish on their own threads), at most `limit`.
fn wait(h: &mut App, limit: Duration, done: impl Fn(&ExplorerApp) -> bool) -> bool {
    let t = Instant::now();
    while !done(h.state()) {
        if t.elapsed() > limit {
            return false;
        }
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

/// Milliseconds of `frames` frames: (step, render) each.
fn time_frames(h: &mut App, frames: usize) -> Vec<(f64, f64)> {
    (0..frames)
        .map(|_| {
            let t0 = Instant::now();
            h.step();
            let t1 = Instant::now();
            if let Err(e) = h.render() {
                eprintln!("render failed: {e}");
            }
            (ms(t1 - t0), ms(t1.elapsed()))
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

fn row(scene: &str, times: &[(f64, f64)], extra: serde_json::Value) -> serde_json::Value {
    let total: Vec<f64> = times.iter().map(|(a, b)| a + b).collect();
    let p90 = {
        let mut t = total.clone();
        t.sort_by(f64::total_cmp);
        t.get(t.len() * 9 / 10).copied().unwrap_or(f64::NAN)
    };
    serde_json::json!({
        "scene": scene, "frames": times.len(),
        "median_frame_ms": median(total), "p90_frame_ms": p90,
        "median_step_ms": median(times.iter().map(|t| t.0).collect()),
        "median_render_ms": median(times.iter().map(|t| t.1).collect()),
        "extra": extra,
    })
}

fn settled_views(frames: usize) -> Vec<serde_json::Value> {
    View::ALL
        .iter()
        .map(|&view| {
            let mut h = harness(view, None);
            // Let background work (layouts, embeddings, maps) finish and the animation stop.
            let settled = wait(&mut h, Duration::from_secs(60), |a| !a.panels.animating());
            for _ in 0..100 {
                h.step();
                std::thread::sleep(Duration::from_millis(10));
            }
            row(&format!("{view}"), &time_frames(&mut h, frames), serde_json::json!({ "settled": settled }))
        })
        .collect()
}

fn walk_animating(frames: usize) -> serde_json::Value {
    let mut h = harness(View::Walks, None);
    wait(&mut h, Duration::from_secs(60), |a| !a.panels.animating());
    h.state_mut().panels.walks.speed_steps_per_sec = 50.0;
    h.get_by_label("Start").click();
    h.step();
    let times = time_frames(&mut h, frames);
    let running = h.state().panels.walks.phase == WalkPhase::Running;
    row("walks (animating)", &times, serde_json::json!({ "still_running_at_end": running }))
}

fn shader_5000(data: String, frames: usize) -> Vec<serde_json::Value> {
    let mut h = harness(View::Graph, Some(data));
    let loaded = wait(&mut h, Duration::from_secs(300), |a| {
        a.state.loading.is_none() && a.state.graph.n_pins() + a.state.graph.n_boards() >= 5000
    });
    h.state_mut().panels.graph.max_nodes = 5000;
    let laid_out = wait(&mut h, Duration::from_secs(120), |a| {
        a.panels.graph.layout.as_ref().is_some_and(|l| l.slice.nodes.len() > 400)
    });
    let nodes = |h: &App| h.state().panels.graph.layout.as_ref().map_or(0, |l| l.slice.nodes.len());
    let running = time_frames(&mut h, frames);
    let running_row = row(
        "graph 5000 nodes (layout running)",
        &running,
        serde_json::json!({ "loaded": loaded, "laid_out": laid_out, "nodes": nodes(&h),
            "shader": h.state().panels.graph.drew_with_shader, "gpu_ready": h.state().panels.graph.gpu_ready }),
    );
    let settled = wait(&mut h, Duration::from_secs(120), |a| !a.panels.animating());
    let idle = time_frames(&mut h, frames);
    let idle_row = row(
        "graph 5000 nodes (settled)",
        &idle,
        serde_json::json!({ "settled": settled, "nodes": nodes(&h), "shader": h.state().panels.graph.drew_with_shader }),
    );
    vec![running_row, idle_row]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let frames = arg("--frames").and_then(|f| f.parse().ok()).unwrap_or(120);
    let mut rows = settled_views(frames);
    rows.push(walk_animating(frames));
    if let Some(data) = arg("--data") {
        rows.extend(shader_5000(data, frames));
    }
    let out = serde_json::json!({ "size": [1400, 900], "frames_per_scene": frames, "rows": rows });
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
}
