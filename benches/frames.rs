//! GUI frame time, offscreen: every view of the app rendered by egui's wgpu renderer (the app's
//! own, as eframe uses it) with no window or display, timed frame by frame, printed as JSON.
//!
//! `cargo bench --bench frames -- [--data DIR] [--frames N] [--scenes views,walk,graph]`; the
//! built binary runs alone on a GPU server. A frame is `step` (the app's `logic` + `ui`), then
//! `tessellate` (egui's shapes to meshes) and `render` (egui_wgpu's buffer uploads and draw into
//! a reused 1400 × 900 target, submitted and waited for): what eframe does for a window, less the
//! swap-chain present. Nothing is read back (egui_kittest's own renderer reads every frame back
//! into an image; `TimedRenderer` replaces it). Scenes: each view on the embedded graph after it
//! settles; the walk lab while a walk animates; and, with `--data`, the graph view with a
//! 5,000-node slice drawn by the WGSL shader, while its layout runs and after it settles.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use eframe::egui;
use eframe::egui_wgpu::{self, RenderState, ScreenDescriptor, wgpu};
use egui_kittest::kittest::Queryable as _;
use egui_kittest::{Harness, TestRenderer};
use pinsage_explorer::app::panels::walks::WalkPhase;
use pinsage_explorer::app::{AppOptions, ExplorerApp, View};

type App = Harness<'static, ExplorerApp>;

/// Milliseconds of each rendered frame: (tessellate, render), filled by [`TimedRenderer`].
type RenderTimes = Rc<RefCell<Vec<(f64, f64)>>>;

/// egui_wgpu's renderer as eframe drives it, into an offscreen target made once, timed, with no
/// read-back (the image it hands egui_kittest is a 1 × 1 placeholder).
struct TimedRenderer {
    state: RenderState,
    target: Option<(wgpu::TextureView, [u32; 2])>,
    times: RenderTimes,
}

impl TimedRenderer {
    fn new(times: RenderTimes) -> TimedRenderer {
        let setup = egui_kittest::wgpu::default_wgpu_setup();
        let state = egui_kittest::wgpu::create_render_state(setup, egui_wgpu::RendererOptions::default());
        let info = state.adapter.get_info();
        eprintln!("renderer: {} ({:?}, {:?})", info.name, info.device_type, info.backend);
        TimedRenderer { state, target: None, times }
    }

    fn target(&mut self, size: [u32; 2]) -> wgpu::TextureView {
        if self.target.as_ref().is_none_or(|t| t.1 != size) {
            let texture = self.state.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("frame target"),
                size: wgpu::Extent3d { width: size[0], height: size[1], depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: self.state.target_format,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
                view_formats: &[],
            });
            self.target = Some((texture.create_view(&wgpu::TextureViewDescriptor::default()), size));
        }
        self.target.as_ref().map(|t| t.0.clone()).expect("made above")
    }
}

impl TestRenderer for TimedRenderer {
    fn setup_eframe(&self, cc: &mut eframe::CreationContext<'_>, frame: &mut eframe::Frame) {
        cc.wgpu_render_state = Some(self.state.clone());
        frame.wgpu_render_state = Some(self.state.clone());
    }

    fn handle_delta(&mut self, delta: &mut egui::TexturesDelta) {
        let mut renderer = self.state.renderer.write();
        for (id, images) in delta.set.drain() {
            for image in images {
                renderer.update_texture(&self.state.device, &self.state.queue, id, &image);
            }
        }
        for id in delta.free.drain() {
            renderer.free_texture(&id);
        }
    }

    fn render(&mut self, ctx: &egui::Context, output: &egui::FullOutput) -> Result<image::RgbaImage, String> {
        let t0 = Instant::now();
        let meshes = ctx.tessellate(output.shapes.clone(), ctx.pixels_per_point());
        let t1 = Instant::now();
        let size = ctx.content_rect().size() * ctx.pixels_per_point();
        let screen = ScreenDescriptor {
            pixels_per_point: ctx.pixels_per_point(),
            size_in_pixels: [size.x.round() as u32, size.y.round() as u32],
        };
        let view = self.target(screen.size_in_pixels);
        let (device, queue) = (&self.state.device, &self.state.queue);
        let mut renderer = self.state.renderer.write();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("frame") });
        let user = renderer.update_buffers(device, queue, &mut encoder, &meshes, &screen);
        {
            let mut pass = encoder
                .begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("frame"),
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view: &view,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                            store: wgpu::StoreOp::Store,
                        },
                        depth_slice: None,
                    })],
                    ..Default::default()
                })
                .forget_lifetime();
            renderer.render(&mut pass, &meshes, &screen);
        }
        queue.submit(user.into_iter().chain(std::iter::once(encoder.finish())));
        device
            .poll(wgpu::PollType::Wait { submission_index: None, timeout: Some(Duration::from_secs(10)) })
            .map_err(|e| format!("poll: {e}"))?;
        self.times.borrow_mut().push((ms(t1 - t0), ms(t1.elapsed())));
        Ok(image::RgbaImage::new(1, 1))
    }
}

fn harness(view: View, data: Option<String>, times: &RenderTimes) -> App {
    let times = times.clone();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .renderer(TimedRenderer::new(times))
        .build_eframe(move |cc| {
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

/// Milliseconds of `frames` frames: (step, tessellate, render) each.
fn time_frames(h: &mut App, times: &RenderTimes, frames: usize) -> Vec<[f64; 3]> {
    (0..frames)
        .map(|_| {
            let t0 = Instant::now();
            h.step();
            let step = ms(t0.elapsed());
            times.borrow_mut().clear();
            if let Err(e) = h.render() {
                eprintln!("render failed: {e}");
            }
            let (tessellate, render) = times.borrow().last().copied().unwrap_or((f64::NAN, f64::NAN));
            [step, tessellate, render]
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

fn row(scene: &str, times: &[[f64; 3]], extra: serde_json::Value) -> serde_json::Value {
    let total: Vec<f64> = times.iter().map(|t| t.iter().sum()).collect();
    let p90 = {
        let mut t = total.clone();
        t.sort_by(f64::total_cmp);
        t.get(t.len() * 9 / 10).copied().unwrap_or(f64::NAN)
    };
    serde_json::json!({
        "scene": scene, "frames": times.len(),
        "median_frame_ms": median(total), "p90_frame_ms": p90,
        "median_step_ms": median(times.iter().map(|t| t[0]).collect()),
        "median_tessellate_ms": median(times.iter().map(|t| t[1]).collect()),
        "median_render_ms": median(times.iter().map(|t| t[2]).collect()),
        "extra": extra,
    })
}

fn settled_views(frames: usize) -> Vec<serde_json::Value> {
    View::ALL
        .iter()
        .map(|&view| {
            let times = RenderTimes::default();
            let mut h = harness(view, None, &times);
            // Let background work (layouts, embeddings, maps) finish and the animation stop.
            let settled = wait(&mut h, Duration::from_secs(60), |a| !a.panels.animating());
            for _ in 0..100 {
                h.step();
                std::thread::sleep(Duration::from_millis(10));
            }
            row(&format!("{view}"), &time_frames(&mut h, &times, frames), serde_json::json!({ "settled": settled }))
        })
        .collect()
}

fn walk_animating(frames: usize) -> serde_json::Value {
    let times = RenderTimes::default();
    let mut h = harness(View::Walks, None, &times);
    wait(&mut h, Duration::from_secs(60), |a| !a.panels.animating());
    h.state_mut().panels.walks.speed_steps_per_sec = 50.0;
    h.get_by_label("Start").click();
    h.step();
    let timed = time_frames(&mut h, &times, frames);
    let running = h.state().panels.walks.phase == WalkPhase::Running;
    row("walks (animating)", &timed, serde_json::json!({ "still_running_at_end": running }))
}

fn shader_5000(data: String, frames: usize) -> Vec<serde_json::Value> {
    let times = RenderTimes::default();
    let mut h = harness(View::Graph, Some(data), &times);
    let loaded = wait(&mut h, Duration::from_secs(300), |a| {
        a.state.loading.is_none() && a.state.graph.n_pins() + a.state.graph.n_boards() >= 5000
    });
    h.state_mut().panels.graph.max_nodes = 5000;
    let laid_out = wait(&mut h, Duration::from_secs(120), |a| {
        a.panels.graph.layout.as_ref().is_some_and(|l| l.slice.nodes.len() > 400)
    });
    let nodes = |h: &App| h.state().panels.graph.layout.as_ref().map_or(0, |l| l.slice.nodes.len());
    let running = time_frames(&mut h, &times, frames);
    let running_row = row(
        "graph 5000 nodes (layout running)",
        &running,
        serde_json::json!({ "loaded": loaded, "laid_out": laid_out, "nodes": nodes(&h),
            "shader": h.state().panels.graph.drew_with_shader, "gpu_ready": h.state().panels.graph.gpu_ready }),
    );
    let settled = wait(&mut h, Duration::from_secs(120), |a| !a.panels.animating());
    let idle = time_frames(&mut h, &times, frames);
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
    let scenes = arg("--scenes").unwrap_or_else(|| "views,walk,graph".into());
    let mut rows = Vec::new();
    if scenes.contains("views") {
        rows.extend(settled_views(frames));
    }
    if scenes.contains("walk") {
        rows.push(walk_animating(frames));
    }
    if let Some(data) = arg("--data").filter(|_| scenes.contains("graph")) {
        rows.extend(shader_5000(data, frames));
    }
    let out = serde_json::json!({ "size": [1400, 900], "frames_per_scene": frames, "rows": rows });
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
}
