//! Native file dialogs (rfd). Only the app opens them; background jobs never do.

use std::path::PathBuf;

/// Shows a native folder (`folder`) or file dialog and returns the choice (None when cancelled).
/// It blocks, so run it off the UI thread, e.g. through `Command::Compute` / `Ctx::need`.
pub fn pick_path(title: String, folder: bool) -> Result<Option<PathBuf>, String> {
    let dialog = rfd::FileDialog::new().set_title(title);
    Ok(if folder { dialog.pick_folder() } else { dialog.pick_file() })
}
