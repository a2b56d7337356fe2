//! A native path dialog (rfd, through `app::dialogs`) run in the background as a computation, so
//! the frame never blocks on it; the answer is picked up by key on a later frame.

use std::path::PathBuf;

use crate::app::cache::CacheKey;
use crate::app::state::Ctx;

/// A native path dialog run in the background (through `Ctx::need`), remembered by key.
#[derive(Default)]
pub struct PathPicker {
    requests: u64,
    pending: Option<(CacheKey, u8)>,
}

impl PathPicker {
    /// Opens the dialog; `slot` tells the caller later which field the answer is for.
    pub fn open(&mut self, ctx: &mut Ctx, panel: &str, slot: u8, title: &str, folder: bool) {
        self.requests += 1;
        let key = CacheKey::PickPath { panel: panel.to_string(), request: self.requests };
        let title = title.to_string();
        let _ = ctx.need::<Option<PathBuf>>(&key, move || crate::app::dialogs::pick_path(title, folder));
        self.pending = Some((key, slot));
    }
    /// The chosen path and its slot, once the dialog has closed with a choice.
    pub fn poll(&mut self, ctx: &Ctx) -> Option<(PathBuf, u8)> {
        let (key, slot) = self.pending.clone()?;
        let answer = ctx.state.result::<Option<PathBuf>>(&key)?;
        self.pending = None;
        answer.clone().map(|p| (p, slot))
    }
    pub fn waiting(&self) -> bool {
        self.pending.is_some()
    }
}
