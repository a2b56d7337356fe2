//! Cached looks at folders for the panels (is it a file, does it hold a run's `metrics.jsonl`,
//! `config.json`): a panel asks every frame, the filesystem is read only when the path changes or
//! at most once every [`RECHECK_SECS`] (a run being written gains its files while the view shows).

use std::path::{Path, PathBuf};
use std::time::Instant;

/// How often an unchanged path is looked at again.
pub const RECHECK_SECS: f64 = 1.0;

/// What a look at a folder found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FolderFacts {
    /// The path is a file, not a folder.
    pub is_file: bool,
    /// It holds a `metrics.jsonl` (a run folder, finished or being written).
    pub has_metrics: bool,
    /// It holds a `config.json` (a run folder with a model to load).
    pub has_config: bool,
}

/// The last look at one path.
#[derive(Debug, Default)]
pub struct FolderProbe {
    path: PathBuf,
    checked: Option<Instant>,
    facts: FolderFacts,
}

impl FolderProbe {
    /// Forgets the last look, so the next one reads the folder (a run just wrote to it).
    pub fn invalidate(&mut self) {
        self.checked = None;
    }

    /// The facts about `path`, from the last look when it is recent and of the same path.
    pub fn look(&mut self, path: &Path) -> FolderFacts {
        let fresh = self.checked.is_some_and(|t| t.elapsed().as_secs_f64() < RECHECK_SECS);
        if !fresh || self.path != path {
            self.facts = FolderFacts {
                is_file: path.is_file(),
                has_metrics: path.join("metrics.jsonl").is_file(),
                has_config: path.join("config.json").is_file(),
            };
            self.path = path.to_path_buf();
            self.checked = Some(Instant::now());
        }
        self.facts
    }
}
