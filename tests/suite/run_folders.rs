//! Damaged run folders: a real one-epoch CPU run is made once, and each test damages its own copy
//! (metrics.jsonl half-written, garbled or truncated; checkpoints corrupt, truncated or of another
//! shape; config.json with unknown, missing or invalid fields) and checks the message and that
//! nothing panics, trains from garbage or takes the app down.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pinsage_explorer::jobs::{JobEvent, Jobs};
use pinsage_explorer::run_folder::{MetricsFollower, RunFolderError, load_run_config, read_metrics};

const DATA: &str = "synthetic:pins=300,boards=100,topics=4,seed=3";

fn pinsage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pinsage"))
        .args(args)
        .env_remove("PINSAGE_MEMORY_LIMIT_MIB")
        .output()
        .expect("runs pinsage")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One real run folder (1 epoch on the CPU), made once per test binary.
pub fn pristine() -> PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("run_folders_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let run = root.join("run");
        let out = pinsage(&["train", "--data", DATA, "--device", "cpu", "--epochs", "1", "--out", s(&run), "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        run
    })
    .clone()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// A private copy of the pristine run folder.
fn copy_run() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    for entry in std::fs::read_dir(pristine()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), run.join(entry.file_name())).unwrap();
    }
    (dir, run)
}

/// The command failed with exit code 1 (not an abort), without a panic, naming `file` and `problem`.
fn assert_refused(out: &Output, file: &str, problem: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "exit code 1, not an abort: {err}");
    assert!(err.contains(file) && err.contains(problem), "expected `{file}` and `{problem}` in: {err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
    let told = err.lines().filter(|l| l.contains(file) && l.contains(problem)).count();
    assert_eq!(told, 1, "the error is reported once: {err}");
}

/// A change to a config's top-level object.
type ConfigEdit = fn(&mut serde_json::Map<String, serde_json::Value>);
/// A file's damaged bytes from its intact ones.
type Damage = fn(&[u8]) -> Vec<u8>;

fn edit_config(run: &Path, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) {
    let path = run.join("config.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(v.as_object_mut().unwrap());
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn eval(run: &Path) -> Output {
    pinsage(&["eval", "--run", s(run), "--device", "cpu", "--json"])
}

fn metrics_lines(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("metrics.jsonl")).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn metrics_half_written_last_line_waits_silently_until_complete() {
    let (_d, run) = copy_run();
    let lines = metrics_lines(&run);
    assert!(lines.len() >= 3, "a run logs several events: {lines:?}");
    let path = run.join("metrics.jsonl");
    let last = lines.last().unwrap();
    let (first_half, second_half) = last.split_at(last.len() / 2);
    let head: String = lines[..lines.len() - 1].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, format!("{head}{first_half}")).unwrap();

    let mut f = MetricsFollower::new(path.clone());
    let read = f.poll().expect("readable");
    assert_eq!(read.events.len(), lines.len() - 1, "every complete line is an event");
    assert!(read.problems.is_empty(), "a half-written last line is no problem: {:?}", read.problems);
    assert!(f.has_partial_line());
    let (once, partial) = read_metrics(&path).unwrap();
    assert!(partial && once.problems.is_empty() && once.events.len() == lines.len() - 1);

    // The trainer finishes the line: the next poll reads exactly it.
    std::fs::write(&path, format!("{head}{first_half}{second_half}\n")).unwrap();
    let read = f.poll().unwrap();
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    assert_eq!(read.events.len(), 1);
    assert_eq!(read.events[0], serde_json::from_str(last).unwrap());
    assert!(!f.has_partial_line());
}

#[test]
fn metrics_garbled_middle_line_is_named_by_file_and_line_and_skipped() {
    let (_d, run) = copy_run();
    let mut lines = metrics_lines(&run);
    let n = lines.len();
    lines.insert(2, "{\"event\":\"epoch_end\",\"epo#~garbage".into());
    std::fs::write(run.join("metrics.jsonl"), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let (read, partial) = read_metrics(&run.join("metrics.jsonl")).unwrap();
    assert!(!partial);
    assert_eq!(read.events.len(), n, "the other lines are still read");
    assert_eq!(read.problems.len(), 1, "{:?}", read.problems);
    let message = read.problems[0].to_string();
    assert!(matches!(read.problems[0], RunFolderError::MetricsLine { line: 3, .. }), "{message}");
    assert!(message.contains("metrics.jsonl:3:") && message.contains("not a training event"), "{message}");
}

#[test]
fn metrics_truncated_while_followed_is_reported_then_followed_on() {
    let (_d, run) = copy_run();
    let path = run.join("metrics.jsonl");
    let lines = metrics_lines(&run);
    let mut f = MetricsFollower::new(path.clone());
    assert_eq!(f.poll().unwrap().events.len(), lines.len());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let read = f.poll().unwrap();
    assert!(read.events.is_empty());
    let message = read.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n");
    assert!(matches!(read.problems[..], [RunFolderError::MetricsTruncated { .. }]), "{message}");
    assert!(message.contains("metrics.jsonl") && message.contains("shrank"), "{message}");
    // What is appended afterwards is read.
    let mut appended = std::fs::read(&path).unwrap();
    appended.extend_from_slice(format!("\n{}\n", lines[0]).as_bytes());
    std::fs::write(&path, appended).unwrap();
    let read = f.poll().unwrap();
    assert_eq!(read.events.len(), 1, "{:?}", read.problems);
}

/// The app's follow job (Jobs::follow_run) reports a garbled line by file and line, keeps the
/// good events, and keeps following what the run appends afterwards.
#[test]
fn app_follow_job_reports_a_garbled_line_and_keeps_following() {
    let (_d, run) = copy_run();
    let mut lines = metrics_lines(&run);
    let n = lines.len();
    lines.insert(1, "not json at all".into());
    let path = run.join("metrics.jsonl");
    std::fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let mut jobs = Jobs::new(|| {});
    jobs.follow_run(run.clone());
    let (mut events, mut failures) = (0, Vec::new());
    let wait = |jobs: &mut Jobs, events: &mut usize, failures: &mut Vec<String>, want: usize| {
        let t = Instant::now();
        while *events < want {
            assert!(t.elapsed() < Duration::from_secs(20), "waited for {want} events, got {events}: {failures:?}");
            for ev in jobs.drain(Duration::from_millis(50)) {
                match ev {
                    JobEvent::Followed { events: e, .. } => *events += e.len(),
                    JobEvent::FollowFailed { message, .. } => failures.push(message),
                    _ => {}
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait(&mut jobs, &mut events, &mut failures, n);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("metrics.jsonl:2:"), "{failures:?}");
    // A half-written line, then its end: read once complete, with no new failure.
    let last = lines.last().unwrap().clone();
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    use std::io::Write;
    f.write_all(&last.as_bytes()[..10]).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    f.write_all(format!("{}\n", &last[10..]).as_bytes()).unwrap();
    f.flush().unwrap();
    wait(&mut jobs, &mut events, &mut failures, n + 1);
    assert_eq!(failures.len(), 1, "{failures:?}");
}

#[test]
fn corrupt_model_is_refused_by_eval_embed_and_recommend() {
    let (d, run) = copy_run();
    // Random bytes (deterministic), in both saved models so no fallback hides the damage.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let junk: Vec<u8> = (0..5000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(run.join("model.bpk"), &junk).unwrap();
    assert_refused(&eval(&run), "model.bpk", "corrupt");
    let npy = d.path().join("e.npy");
    let out = pinsage(&["embed", "--run", s(&run), "--device", "cpu", "--out", s(&npy)]);
    assert_refused(&out, "model.bpk", "corrupt");
    assert!(!npy.exists(), "nothing written from a corrupt model");
    let out = pinsage(&["recommend", "--run", s(&run), "--device", "cpu", "--pin", "0"]);
    assert_refused(&out, "model.bpk", "corrupt");
    // The app's path (LoadRunModel → bundle_from_run) gets the same error, not a panic.
    let cfg = load_run_config(&run).unwrap().config;
    let g = pinsage_explorer::train::run_graph(&cfg, pinsage_explorer::load::Format::Auto).unwrap();
    let e = pinsage_explorer::jobs::bundle_from_run(&run, &g, burn::prelude::Device::flex()).err().expect("refused");
    assert!(e.contains("model.bpk") && e.contains("corrupt"), "{e}");
}

#[test]
fn truncated_model_is_refused() {
    let (_d, run) = copy_run();
    let bytes = std::fs::read(run.join("model.bpk")).unwrap();
    std::fs::write(run.join("model.bpk"), &bytes[..bytes.len() * 2 / 3]).unwrap();
    assert_refused(&eval(&run), "model.bpk", "truncated");
}

#[test]
fn model_of_another_shape_is_refused_naming_the_shapes() {
    let (_d, run) = copy_run();
    let hidden = load_run_config(&run).unwrap().config.hidden_dim;
    let other = hidden / 2;
    edit_config(&run, |c| {
        c.insert("hidden_dim".into(), other.into());
    });
    let out = eval(&run);
    assert_refused(&out, "model.bpk", "another model shape");
    assert!(stderr(&out).contains(&format!("hidden_dim {other}")), "{}", stderr(&out));
    let out = pinsage(&["recommend", "--run", s(&run), "--device", "cpu", "--pin", "0"]);
    assert_refused(&out, "model.bpk", "another model shape");
}

#[test]
fn config_unknown_fields_are_refused_naming_them() {
    let (_d, run) = copy_run();
    edit_config(&run, |c| {
        c.insert("hiden_dim".into(), 32.into());
    });
    assert_refused(&eval(&run), "config.json", "unknown field `hiden_dim`");
    let (_d, run) = copy_run();
    edit_config(&run, |c| {
        c["walk"].as_object_mut().unwrap().insert("topk".into(), 5.into());
    });
    assert_refused(&eval(&run), "config.json", "unknown field `walk.topk`");
    let out = pinsage(&["train", "--data", DATA, "--device", "cpu", "--epochs", "2", "--out", s(&run), "--resume"]);
    assert_refused(&out, "config.json", "unknown field `walk.topk`");
}

#[test]
fn config_missing_fields_take_defaults_with_a_note() {
    let (_d, run) = copy_run();
    edit_config(&run, |c| {
        c.remove("pooling");
        c["walk"].as_object_mut().unwrap().remove("restart");
    });
    let loaded = load_run_config(&run).expect("an older config still loads");
    let note = loaded.notes.join("\n");
    assert!(note.contains("`pooling`") && note.contains("`walk.restart`") && note.contains("defaults"), "{note}");
    let out = eval(&run);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("note:") && stderr(&out).contains("`pooling`"), "{}", stderr(&out));
    // A complete config has no note.
    let (_d2, run2) = copy_run();
    assert!(load_run_config(&run2).unwrap().notes.is_empty());
}

#[test]
fn config_missing_or_invalid_fields_are_named() {
    let cases: [(&str, ConfigEdit, &str); 4] = [
        (
            "missing data",
            |c| {
                c.remove("data");
            },
            "missing field `data`",
        ),
        (
            "wrong type",
            |c| {
                c.insert("epochs".into(), "ten".into());
            },
            "field `epochs`",
        ),
        (
            "invalid value",
            |c| {
                c.insert("batch_size".into(), 0.into());
            },
            "batch_size",
        ),
        (
            "unknown mode",
            |c| {
                c.insert("mode".into(), "graphsage".into());
            },
            "field `mode`",
        ),
    ];
    for (what, edit, problem) in cases {
        let (_d, run) = copy_run();
        edit_config(&run, edit);
        let out = eval(&run);
        assert_refused(&out, "config.json", problem);
        assert!(!stderr(&out).is_empty(), "{what}");
    }
    let (_d, run) = copy_run();
    let text = std::fs::read_to_string(run.join("config.json")).unwrap();
    std::fs::write(run.join("config.json"), &text[..text.len() / 2]).unwrap();
    assert_refused(&eval(&run), "config.json", "not valid JSON");
}

/// `--resume` refuses a damaged checkpoint, optimizer state or state.json: it exits 1 naming the
/// file and leaves the folder as it was (nothing trained from garbage). An intact copy resumes.
#[test]
fn resume_refuses_damaged_checkpoint_optimizer_or_state() {
    let resume = |run: &Path| {
        pinsage(&["train", "--data", DATA, "--device", "cpu", "--epochs", "2", "--out", s(run), "--resume", "--json"])
    };
    let (_d, run) = copy_run();
    let out = resume(&run);
    assert!(out.status.success(), "an intact run resumes: {}", stderr(&out));
    // Loading Adam's moments must not wake a graphics adapter (its probe printed EGL errors).
    assert!(!stderr(&out).to_lowercase().contains("error"), "a clean resume printed an error: {}", stderr(&out));
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["epochs_done"], 2);

    let cases: [(&str, &str, Damage); 5] = [
        ("checkpoint.bpk", "corrupt", |_| b"not a model at all".repeat(40)),
        ("checkpoint.bpk", "truncated", |b| b[..b.len() / 2].to_vec()),
        ("optimizer.bpk", "corrupt", |_| vec![7u8; 3000]),
        ("optimizer.bpk", "truncated", |b| b[..b.len() - 100].to_vec()),
        ("state.json", "refusing to resume", |_| b"{\"epochs_done\": ".to_vec()),
    ];
    for (file, problem, damage) in cases {
        let (_d, run) = copy_run();
        let original = std::fs::read(run.join(file)).unwrap();
        let damaged = damage(&original);
        std::fs::write(run.join(file), &damaged).unwrap();
        let before: Vec<_> =
            ["checkpoint.bpk", "state.json", "model.bpk"].iter().map(|f| std::fs::read(run.join(f)).unwrap()).collect();
        let out = resume(&run);
        assert_refused(&out, file, problem);
        let after: Vec<_> =
            ["checkpoint.bpk", "state.json", "model.bpk"].iter().map(|f| std::fs::read(run.join(f)).unwrap()).collect();
        assert!(before == after, "{file}: nothing was trained or saved");
    }
}

/// Bytes overwritten inside the weights (a damaged disk, a bad copy) still parse; the NaNs they
/// make are caught and the parameter named.
#[test]
fn model_with_non_finite_weights_is_refused_naming_the_parameter() {
    let (_d, run) = copy_run();
    let mut bytes = std::fs::read(run.join("model.bpk")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 64].fill(0xFF); // 0xFFFFFFFF is a NaN as f32
    std::fs::write(run.join("model.bpk"), &bytes).unwrap();
    let out = eval(&run);
    assert_refused(&out, "model.bpk", "not finite");
    assert!(stderr(&out).contains("parameter `"), "{}", stderr(&out));
}

#[test]
fn lightgcn_run_with_a_truncated_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("lightgcn");
    let args = ["train", "--data", DATA, "--mode", "lightgcn", "--device", "cpu", "--epochs", "1", "--out", s(&run)];
    let out = pinsage(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(eval(&run).status.success(), "the intact run evaluates");
    let bytes = std::fs::read(run.join("model.bpk")).unwrap();
    std::fs::write(run.join("model.bpk"), &bytes[..bytes.len() - 1]).unwrap();
    assert_refused(&eval(&run), "model.bpk", "truncated");
}

/// The app, given a damaged run folder (Command::LoadRunModel, Command::FollowRun), shows the
/// messages, keeps its graph and has no model foisted on it; it keeps running.
#[test]
fn app_shows_errors_for_a_damaged_run_folder_and_keeps_running() {
    use eframe::egui;
    use pinsage_explorer::app::{AppOptions, Command, ExplorerApp};
    let (_d, run) = copy_run();
    std::fs::write(run.join("model.bpk"), b"garbage").unwrap();
    let mut lines = metrics_lines(&run);
    lines.insert(1, "{oops".into());
    std::fs::write(run.join("metrics.jsonl"), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();

    let mut h = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(|cc| ExplorerApp::new(cc, AppOptions { ephemeral: true, ..Default::default() }));
    h.step();
    let graph = h.state().state.graph.clone();
    h.state_mut().state.commands.push(Command::LoadRunModel(run.clone()));
    crate::common::wait_for_app(&mut h, "the model load to fail", 30, |a| {
        a.state.errors.iter().any(|e| e.contains("model.bpk"))
    });
    assert!(h.state().state.model.is_none(), "no model from a corrupt file");
    h.state_mut().state.commands.push(Command::FollowRun(run.clone()));
    crate::common::wait_for_app(&mut h, "the followed events", 30, |a| a.state.run.events.len() == lines.len() - 1);
    let errors = h.state().state.errors.join("\n");
    assert!(errors.contains("model.bpk") && errors.contains("corrupt"), "{errors}");
    assert!(errors.contains("metrics.jsonl:2:"), "{errors}");
    assert!(std::sync::Arc::ptr_eq(&h.state().state.graph, &graph), "the graph is kept");
    h.step();
}
