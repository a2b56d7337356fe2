//! The explorer GUI (eframe/egui, wgpu renderer). State lives apart from drawing: `state.rs` holds
//! what the app knows and `logic.rs` changes it (commands in, job events in); `ui.rs` and the
//! panels only draw and push commands. No file here spawns threads or touches Burn tensors.

pub mod cache;
pub mod dialogs;
pub mod fs_probe;
pub mod jobs;
pub mod logic;
pub mod palette;
pub mod panels;
pub mod state;
pub mod ui;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eframe::egui;

use crate::jobs::Jobs;
pub use state::{AppState, Command, View};

/// How the app is started.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// A graph to open instead of the last one (`default` for the embedded graph).
    pub data: Option<String>,
    /// Render `view` once the layout settles, save it as a PNG here, and exit.
    pub screenshot: Option<PathBuf>,
    pub view: Option<View>,
    /// Don't read or write persisted settings (tests, screenshots).
    pub ephemeral: bool,
    /// Follow this run folder's metrics.jsonl and load its model (e.g. a run on a GPU server).
    pub run: Option<PathBuf>,
}

/// The eframe application: state, panels, jobs.
pub struct ExplorerApp {
    pub state: AppState,
    pub panels: panels::Panels,
    pub jobs: Jobs,
    shot: Option<Screenshot>,
    ephemeral: bool,
}

/// The `--screenshot` state machine: wait for the layout to settle, capture, save, close.
struct Screenshot {
    path: PathBuf,
    frames: u32,
    requested: bool,
    image: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
}

impl ExplorerApp {
    /// Builds the app; with a creation context, restores settings and shares the wgpu device.
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> ExplorerApp {
        let ctx = cc.egui_ctx.clone();
        let mut jobs = Jobs::new(move || ctx.request_repaint());
        if let Some(rs) = cc.wgpu_render_state.as_ref() {
            jobs.shared_device = logic::burn_device_from_renderer(rs);
        }
        let settings = if options.ephemeral {
            state::Settings::default()
        } else {
            cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default()
        };
        let mut app = ExplorerApp {
            state: AppState::new(settings),
            panels: panels::Panels::default(),
            jobs,
            shot: options.screenshot.clone().map(|path| Screenshot {
                path,
                frames: 0,
                requested: false,
                image: Arc::new(Mutex::new(None)),
            }),
            ephemeral: options.ephemeral,
        };
        if let Some(rs) = cc.wgpu_render_state.as_ref() {
            app.panels.graph.gpu_ready = panels::graph_view::init_gpu(rs);
        }
        if let Some(view) = options.view {
            app.state.settings.view = view;
        }
        if options.screenshot.is_some() {
            app.panels.prepare_screenshot(app.state.settings.view);
        }
        if let Some(run) = &options.run {
            app.state.commands.push(Command::FollowRun(run.clone()));
            app.state.commands.push(Command::LoadRunModel(run.clone()));
        }
        let open = options.data.clone().or_else(|| app.state.settings.last_file.clone());
        if let Some(spec) = open.filter(|s| s != "default") {
            app.state.commands.push(Command::Open(spec));
        }
        app
    }

    fn screenshot_step(&mut self, ctx: &egui::Context) {
        let Some(shot) = &mut self.shot else { return };
        shot.frames += 1;
        let settled = self.state.loading.is_none() && self.state.pending.is_empty() && !self.panels.animating();
        if !shot.requested && shot.frames >= 10 && (settled || shot.frames > 600) {
            shot.requested = true;
            let slot = shot.image.clone();
            let ctx2 = ctx.clone();
            ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(egui::ScreenshotCallback::new(move |img| {
                if let Ok(mut s) = slot.lock() {
                    *s = Some(img);
                }
                ctx2.request_repaint();
            })));
        }
        let image = shot.image.lock().ok().and_then(|mut s| s.take());
        if let Some(img) = image {
            let rgba: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_srgba_unmultiplied()).collect();
            let saved = crate::export::create_parent(&shot.path).map_err(|e| e.to_string()).and_then(|_| {
                image::save_buffer(
                    &shot.path,
                    &rgba,
                    img.width() as u32,
                    img.height() as u32,
                    image::ExtendedColorType::Rgba8,
                )
                .map_err(|e| e.to_string())
            });
            if let Err(e) = saved {
                eprintln!("error: {}: {e}", shot.path.display());
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        } else {
            ctx.request_repaint();
        }
    }
}

impl eframe::App for ExplorerApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        logic::tick(self, ctx);
        self.screenshot_step(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        ui::app_ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if !self.ephemeral {
            eframe::set_value(storage, eframe::APP_KEY, &self.state.settings);
        }
    }
}

/// Opens the explorer window.
pub fn run(options: AppOptions) -> eframe::Result {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("PinSage Explorer")
            .with_inner_size([1360.0, 860.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        wgpu_options: logic::wgpu_options(),
        ..Default::default()
    };
    eframe::run_native("PinSage Explorer", native, Box::new(move |cc| Ok(Box::new(ExplorerApp::new(cc, options)))))
}
