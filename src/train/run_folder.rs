//! Reading run folders defensively: `config.json` (unknown fields refused, missing ones defaulted
//! with a note), saved models and optimizer state (corrupt, truncated or another model's shape
//! refused, naming the file), and `metrics.jsonl` followed live (a half-written last line waits for
//! its end; a garbled line is reported with its file and line number and skipped).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use serde_json::Value;

use crate::train::{TrainConfig, TrainEvent};

/// A run folder's file that cannot be used, with the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum RunFolderError {
    #[error("{}: cannot read: {error}", path.display())]
    /// (`error` is shown in the message, so it is not also chained as the source.)
    Read { path: PathBuf, error: std::io::Error },
    /// `config.json` (or a `--config` file) is not a valid config.
    #[error("{}: {problem}", path.display())]
    Config { path: PathBuf, problem: String },
    /// A saved model or optimizer state cannot be used.
    #[error("{}: {problem}", path.display())]
    Saved { path: PathBuf, problem: String },
    /// A line of `metrics.jsonl` is not a training event.
    #[error("{}:{line}: {problem}", path.display())]
    MetricsLine { path: PathBuf, line: usize, problem: String },
    /// `metrics.jsonl` got shorter while it was followed.
    #[error(
        "{}: the file shrank from {was_bytes} to {now_bytes} bytes (truncated or replaced); following only what is appended from now on",
        path.display()
    )]
    MetricsTruncated { path: PathBuf, was_bytes: u64, now_bytes: u64 },
}

/// A config file read with [`load_config`]: the config and notes about fields it lacked.
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    pub config: TrainConfig,
    /// One line per missing field that took its default (empty when nothing was missing).
    pub notes: Vec<String>,
}

/// Fields a run folder's `config.json` must have: without `data` the run's graph is unknown.
const REQUIRED_IN_RUN: &[&str] = &["data"];

/// Settings whose default changed when they were added: a run folder written before a field existed
/// was made with the old behaviour, which is this value, not today's default.
fn value_before_it_existed(field: &str) -> Option<Value> {
    match field {
        // Runs before the skip path had none (today's default adds h⁰ to the embedding).
        "skip" => Some(Value::Bool(false)),
        // Runs before what-if edits trained on the graph as loaded.
        "graph_edits" => Some(Value::Array(Vec::new())),
        _ => None,
    }
}

/// Reads a config file (a run folder's `config.json`, or a `--config` file when `run_folder` is
/// false). Unknown fields (at any depth) are refused, naming the field: they are settings of
/// another version that this one would silently ignore. A field with a wrong type or value is
/// named with the problem. Missing fields take today's defaults, listed in the notes (configs
/// written before a field existed keep loading); a run folder's config must still name its data.
pub fn load_config(path: &Path, run_folder: bool) -> Result<LoadedConfig, RunFolderError> {
    let text = std::fs::read_to_string(path).map_err(|error| RunFolderError::Read { path: path.into(), error })?;
    let bad = |problem: String| RunFolderError::Config { path: path.into(), problem };
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let Value::Object(fields) = &value else { return Err(bad("must be a JSON object of settings".into())) };
    let defaults = serde_json::to_value(TrainConfig::default()).map_err(|e| bad(e.to_string()))?;
    let mut unknown = Vec::new();
    let mut missing = Vec::new();
    compare_keys(&value, &defaults, "", &mut unknown, &mut missing);
    if let Some(field) = unknown.first() {
        return Err(bad(format!(
            "unknown field `{field}`{} (a setting this version does not have; remove it or use the version that wrote it)",
            if unknown.len() > 1 { format!(" and {} more", unknown.len() - 1) } else { String::new() }
        )));
    }
    if run_folder && let Some(field) = REQUIRED_IN_RUN.iter().find(|f| !fields.contains_key(**f)) {
        return Err(bad(format!("missing field `{field}`, which a run's config must have")));
    }
    // Deserialize field by field first, so that an error names the field.
    for (key, v) in fields {
        let one = Value::Object([(key.clone(), v.clone())].into_iter().collect());
        if let Err(e) = serde_json::from_value::<TrainConfig>(one) {
            return Err(bad(format!("field `{key}`: {e}")));
        }
    }
    let mut value = value;
    if run_folder && let Value::Object(fields) = &mut value {
        missing.retain(|field| match value_before_it_existed(field) {
            Some(old) => {
                fields.insert(field.clone(), old);
                false
            }
            None => true,
        });
    }
    let config: TrainConfig = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    let notes = if missing.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "{}: no {} (settings added since it was written); using today's defaults, which may differ from what it was made with",
            path.display(),
            missing.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
        )]
    };
    Ok(LoadedConfig { config, notes })
}

/// Reads a run folder's `config.json` and checks its values (see [`load_config`]).
pub fn load_run_config(dir: &Path) -> Result<LoadedConfig, RunFolderError> {
    let path = dir.join("config.json");
    let mut loaded = load_config(&path, true)?;
    loaded.config.validate().map_err(|e| RunFolderError::Config { path, problem: e.to_string() })?;
    if !loaded.config.graph_edits.is_empty() {
        loaded.notes.push(edited_graph_note(&loaded.config.graph_edits));
    }
    Ok(loaded)
}

/// Says that a run trained on a graph with what-if edits applied.
pub fn edited_graph_note(edits: &[String]) -> String {
    format!(
        "this run trained on the graph with {} what-if edit(s) applied ({}); its data file holds the graph without them",
        edits.len(),
        edits.join("; ")
    )
}

/// Collects the keys of `value` that `defaults` lacks (unknown) and the reverse (missing), as
/// dotted paths, recursing where both sides are objects.
fn compare_keys(value: &Value, defaults: &Value, prefix: &str, unknown: &mut Vec<String>, missing: &mut Vec<String>) {
    let (Value::Object(have), Value::Object(known)) = (value, defaults) else { return };
    for (key, v) in have {
        match known.get(key) {
            None => unknown.push(format!("{prefix}{key}")),
            Some(d) => compare_keys(v, d, &format!("{prefix}{key}."), unknown, missing),
        }
    }
    missing.extend(known.keys().filter(|k| !have.contains_key(*k)).map(|k| format!("{prefix}{k}")));
}

/// Loads saved weights from `path` into `model`, refusing a file that is unreadable, corrupt or
/// truncated, saved for another model shape (`shape` says which one was expected), or holding
/// values that are not finite.
pub fn load_weights<M: Module>(model: M, path: &Path, shape: &str) -> Result<M, RunFolderError> {
    let saved = |problem: String| RunFolderError::Saved { path: path.into(), problem };
    if !path.is_file() {
        return Err(saved("no such file".into()));
    }
    let model = model.try_load_file(path).map_err(|e| match e {
        burn::store::RecordError::Validation(m) => {
            saved(format!("was saved for another model shape than this run's ({shape}): {}", first_mismatch(&m)))
        }
        burn::store::RecordError::Io(m) => saved(format!("corrupt, truncated or not a model file ({m})")),
    })?;
    let mut check = FiniteCheck::default();
    model.visit(&mut check);
    if let Some(p) = check.bad {
        return Err(saved(format!("parameter `{p}` holds values that are not finite (the file is damaged)")));
    }
    Ok(model)
}

/// The first of Burn's "Apply errors: [\"a\", \"b\", …]" with how many more there are.
fn first_mismatch(message: &str) -> String {
    let Some(list) = message.strip_prefix("Apply errors: [").and_then(|m| m.strip_suffix(']')) else {
        return message.to_string();
    };
    let items: Vec<&str> = list.split("\", \"").map(|i| i.trim_matches('"')).collect();
    match items.len() {
        0 | 1 => items.first().unwrap_or(&message).to_string(),
        n => format!("{} (and {} more mismatches)", items[0], n - 1),
    }
}

/// Finds the first float parameter holding NaN or ±∞, by its path in the module.
#[derive(Default)]
struct FiniteCheck {
    path: Vec<String>,
    bad: Option<String>,
}

impl ModuleVisitor for FiniteCheck {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.bad.is_none() && !param.val().is_finite().all().into_scalar::<bool>() {
            self.bad = Some(self.path.join("."));
        }
    }
}

/// Loads Adam's saved moments into `optim`, refusing an unreadable, corrupt or truncated file.
pub fn load_optimizer(
    optim: burn::optim::ModuleOptimizer,
    path: &Path,
) -> Result<burn::optim::ModuleOptimizer, RunFolderError> {
    optim.load(path).map_err(|e| RunFolderError::Saved {
        path: path.into(),
        problem: format!("corrupt, truncated or not an optimizer state ({e}); refusing to resume from it"),
    })
}

/// Lines of a `metrics.jsonl` read since the last poll.
#[derive(Debug, Default)]
pub struct MetricsRead {
    pub events: Vec<TrainEvent>,
    /// Lines that are not training events (skipped) or a file that shrank, each once.
    pub problems: Vec<RunFolderError>,
}

/// Follows a `metrics.jsonl` as a run appends to it: each poll reads only what was appended and
/// returns the complete lines; a last line without its newline yet (the trainer is writing it)
/// waits silently for the next poll.
#[derive(Debug)]
pub struct MetricsFollower {
    path: PathBuf,
    offset_bytes: u64,
    lines_read: usize,
    pending: Vec<u8>,
}

impl MetricsFollower {
    pub fn new(path: PathBuf) -> MetricsFollower {
        MetricsFollower { path, offset_bytes: 0, lines_read: 0, pending: Vec::new() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True while the file ends in a line without its newline (not yet returned).
    pub fn has_partial_line(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Reads what was appended since the last poll. Fails only when the file cannot be read.
    pub fn poll(&mut self) -> Result<MetricsRead, RunFolderError> {
        let read_err = |error| RunFolderError::Read { path: self.path.clone(), error };
        let mut file = std::fs::File::open(&self.path).map_err(read_err)?;
        let len_bytes = file.metadata().map_err(read_err)?.len();
        let mut out = MetricsRead::default();
        if len_bytes < self.offset_bytes {
            out.problems.push(RunFolderError::MetricsTruncated {
                path: self.path.clone(),
                was_bytes: self.offset_bytes,
                now_bytes: len_bytes,
            });
            // What is left was read already; a half line kept from before is gone with it.
            self.offset_bytes = len_bytes;
            self.pending.clear();
            return Ok(out);
        }
        file.seek(SeekFrom::Start(self.offset_bytes)).map_err(read_err)?;
        let mut appended = Vec::new();
        file.take(len_bytes - self.offset_bytes).read_to_end(&mut appended).map_err(read_err)?;
        self.offset_bytes += appended.len() as u64;
        self.pending.extend_from_slice(&appended);
        let mut start = 0;
        while let Some(nl) = memchr::memchr(b'\n', &self.pending[start..]) {
            let line = &self.pending[start..start + nl];
            start += nl + 1;
            self.lines_read += 1;
            match parse_line(line) {
                Ok(Some(ev)) => out.events.push(ev),
                Ok(None) => {}
                Err(problem) => out.problems.push(RunFolderError::MetricsLine {
                    path: self.path.clone(),
                    line: self.lines_read,
                    problem,
                }),
            }
        }
        self.pending.drain(..start);
        Ok(out)
    }
}

/// One line of `metrics.jsonl`: an event, nothing (blank), or the problem.
fn parse_line(line: &[u8]) -> Result<Option<TrainEvent>, String> {
    let text = std::str::from_utf8(line).map_err(|e| format!("not UTF-8 text ({e})"))?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some).map_err(|e| format!("not a training event: {e}"))
}

/// Reads a whole `metrics.jsonl` once: its events, the problems of lines that are not events,
/// and whether its last line is unfinished (ignored: the run may still be writing it).
pub fn read_metrics(path: &Path) -> Result<(MetricsRead, bool), RunFolderError> {
    let mut follower = MetricsFollower::new(path.to_path_buf());
    let read = follower.poll()?;
    Ok((read, follower.has_partial_line()))
}
