//! Median frame time of the explorer under a real window (run under Xvfb for the software
//! renderer): `frame_time walk` animates the walk lab on the default graph, `frame_time graph5000
//! DATA` draws a 5,000-node ego slice of DATA in the graph view with the WGSL shader
//! (`graph5000painter DATA`: with egui's painter), forcing a repaint every frame.

use std::time::{Duration, Instant};

use eframe::egui;
use pinsage_explorer::app::panels::walks::WalkPhase;
use pinsage_explorer::app::{AppOptions, ExplorerApp, View};

struct Bench {
    app: ExplorerApp,
    scenario: String,
    last: Option<Instant>,
    started: Option<Instant>,
    intervals_ms: Vec<f64>,
    ui_ms: Vec<f64>,
}

impl eframe::App for Bench {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        let now = Instant::now();
        let ready = match self.scenario.as_str() {
            "walk" => {
                let key = self.app.panels.walks.key.as_ref();
                key.is_some_and(|k| self.app.state.result::<pinsage_explorer::explain::WalkReplay>(k).is_some())
            }
            _ => {
                self.app.state.loading.is_none()
                    && self.app.panels.graph.layout.as_ref().is_some_and(|l| l.settled && l.pos.len() > 1000)
            }
        };
        if ready && self.started.is_none() {
            self.started = Some(now);
            if self.scenario == "walk" {
                self.app.panels.walks.phase = WalkPhase::Running;
            }
        }
        if let (Some(s), Some(l)) = (self.started, self.last)
            && s < l
        {
            self.intervals_ms.push((now - l).as_secs_f64() * 1e3);
        }
        self.last = Some(now);
        eframe::App::logic(&mut self.app, ctx, frame);
        if self.started.is_some_and(|s| s.elapsed() > Duration::from_secs(8)) {
            let med = |v: &mut Vec<f64>| {
                v.sort_by(|a, b| a.total_cmp(b));
                v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
            };
            let n = self.intervals_ms.len();
            let layout = self.app.panels.graph.layout.as_ref().map(|l| (l.pos.len(), l.slice.edges.len()));
            println!(
                "{}: {n} frames, median frame interval {:.1} ms, median logic+ui {:.2} ms, graph slice {:?}, shader {}",
                self.scenario,
                med(&mut self.intervals_ms),
                med(&mut self.ui_ms),
                layout,
                self.app.panels.graph.drew_with_shader
            );
            if let Ok(path) = std::env::var("FRAME_TIME_SHOT") {
                // Save what is on screen (to check the shader's picture by eye), then close.
                let ctx2 = ctx.clone();
                ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(egui::ScreenshotCallback::new(move |img| {
                    let rgba: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_srgba_unmultiplied()).collect();
                    let _ = image::save_buffer(
                        &path,
                        &rgba,
                        img.width() as u32,
                        img.height() as u32,
                        image::ExtendedColorType::Rgba8,
                    );
                    ctx2.send_viewport_cmd(egui::ViewportCommand::Close);
                })));
                self.started = Some(Instant::now() + Duration::from_secs(3600));
            } else {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
        ctx.request_repaint();
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let t = Instant::now();
        eframe::App::ui(&mut self.app, ui, frame);
        if self.started.is_some() {
            self.ui_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
}

fn main() -> eframe::Result {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args.get(1).cloned().unwrap_or_else(|| "walk".into());
    let data = args.get(2).cloned();
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([1360.0, 860.0]),
        wgpu_options: pinsage_explorer::app::logic::wgpu_options(),
        ..Default::default()
    };
    eframe::run_native(
        "frame time",
        native,
        Box::new(move |cc| {
            let view = if scenario == "walk" { View::Walks } else { View::Graph };
            let mut app =
                ExplorerApp::new(cc, AppOptions { ephemeral: true, data, view: Some(view), ..Default::default() });
            if scenario == "walk" {
                app.state.settings.walk.walks = 1000; // long enough to animate for the whole measurement
            } else {
                app.panels.graph.max_nodes = 5000;
                if scenario.ends_with("painter") {
                    app.panels.graph.renderer = pinsage_explorer::app::panels::graph_view::Renderer::Painter;
                }
            }
            Ok(Box::new(Bench {
                app,
                scenario,
                last: None,
                started: None,
                intervals_ms: Vec::new(),
                ui_ms: Vec::new(),
            }))
        }),
    )
}
