//! `train` (a progress bar or JSON lines over the trainer's events) and `ablate` (the paper's
//! ablation, printed as a table and written as JSON).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use pinsage_explorer::eval::Metrics;
use pinsage_explorer::train::{self, DeviceChoice, Mode, RunOptions, TrainConfig, TrainEvent};

use super::args::{DataArgs, TrainArgs};

/// `train`: runs the trainer on its thread and shows its events until it ends.
pub fn train_cmd(args: &TrainArgs) -> anyhow::Result<()> {
    let mut cfg = args.config()?;
    if args.resume {
        // The saved run decides its graph: the data, its split and its features.
        let dir = args.out.as_ref().context("--resume needs --out")?;
        let saved =
            train::run_config(dir).context("--resume refuses a run folder whose config.json cannot be used")?.config;
        cfg.data = saved.data;
        cfg.split = saved.split;
        cfg.pin_features = saved.pin_features;
    }
    let g = Arc::new(train::run_graph(&cfg, args.data.format)?);
    let handle =
        train::spawn(g, cfg, RunOptions { out: args.out.clone(), resume: args.resume, ..RunOptions::default() });
    let bar = (!args.json).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b
    });
    for ev in handle.events.iter() {
        if args.json {
            println!("{}", serde_json::to_string(&ev)?);
        } else if let Some(bar) = &bar {
            show_event(bar, &ev);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    handle.join()?;
    Ok(())
}

/// Without a terminal the bar is hidden and swallows println: plain lines then.
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() { println!("{line}") } else { bar.println(line) }
}

/// One training event on the progress bar (or as a line above it).
fn show_event(bar: &indicatif::ProgressBar, ev: &TrainEvent) {
    match ev {
        TrainEvent::Started { device, epochs, steps_per_epoch, pins, boards, edges, .. } => {
            say(
                bar,
                format!(
                    "training on {device}: {pins} pins, {boards} boards, {edges} edges; {epochs} epochs of {steps_per_epoch} steps"
                ),
            );
            bar.set_length(*steps_per_epoch as u64);
        }
        TrainEvent::Note { message } => say(bar, format!("note: {message}")),
        TrainEvent::Progress { epoch, step, loss, triplets_per_sec, queue_depth, gpu_wait_share, eta_secs, .. } => {
            bar.set_prefix(epoch.to_string());
            bar.set_position(*step as u64);
            bar.set_message(format!(
                "loss {loss:.4} · {triplets_per_sec:.0} triplets/s · queue {queue_depth} · waiting {:.0}% · ETA {eta_secs:.0}s",
                gpu_wait_share * 100.0
            ));
        }
        TrainEvent::EpochEnd { epoch, loss, epoch_secs, triplets_per_sec, gpu_wait_share, hard_per_query, metrics } => {
            let m = metrics.as_ref().map(metrics_line).unwrap_or_default();
            say(
                bar,
                format!(
                    "epoch {epoch}: loss {loss:.4} in {epoch_secs:.1}s ({triplets_per_sec:.0} triplets/s, waiting {:.0}%, {hard_per_query} hard/query) {m}",
                    gpu_wait_share * 100.0
                ),
            );
        }
        TrainEvent::Checkpoint { path, .. } => bar.set_message(format!("saved {path}")),
        TrainEvent::Paused => say(bar, "paused".into()),
        TrainEvent::Resumed => say(bar, "resumed".into()),
        TrainEvent::Finished { reason, epochs_done, .. } => {
            say(bar, format!("finished ({reason:?}) after {epochs_done} epochs"))
        }
        // The error itself comes back from join() and is printed once, by main.
        TrainEvent::Failed { .. } => {}
    }
}

/// `ablate`: the baselines and the PinSage variants on one budget, written to `out`.
pub fn ablate_cmd(
    data: &DataArgs,
    config: Option<&Path>,
    epochs: usize,
    device: DeviceChoice,
    out: &Path,
    batch_size: Option<usize>,
) -> anyhow::Result<()> {
    let g = Arc::new(data.load()?);
    let file = match &config {
        Some(p) => TrainConfig::load(p)?,
        None => TrainConfig::paper(),
    };
    let mut base = TrainConfig { data: data.data.clone(), epochs, device, mode: Mode::Pinsage, ..file };
    if let Some(b) = batch_size {
        base.batch_size = b;
    }
    base.validate()?;
    let (dev, name, note) = train::select_device(device);
    if let Some(n) = note {
        eprintln!("note: {n}");
    }
    let report = pinsage_explorer::ablation::run_ablation(g, &base, Some((dev, name)), |row, ev| {
        if let TrainEvent::EpochEnd { epoch, loss, epoch_secs, .. } = ev {
            eprintln!("{row}: epoch {epoch} loss {loss:.4} ({epoch_secs:.1}s)");
        }
    })?;
    let json = serde_json::to_string_pretty(&report)?;
    pinsage_explorer::export::create_parent(out)
        .with_context(|| format!("creating the folder for {}", out.display()))?;
    std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
    println!("{:<30} {:>9} {:>8} {:>8} {:>8}", "variant", "recall@20", "ndcg@20", "hit@10", "MRR");
    for r in &report.rows {
        println!(
            "{:<30} {:>9.4} {:>8.4} {:>8.4} {:>8.4}",
            r.name, r.metrics.recall_at_20, r.metrics.ndcg_at_20, r.metrics.hit_rate, r.metrics.mrr
        );
    }
    println!("({} on {}, {} epochs each; written to {})", report.device, report.data, report.epochs, out.display());
    Ok(())
}

pub fn metrics_line(m: &Metrics) -> String {
    format!(
        "recall@20 {:.4} · ndcg@20 {:.4} · hit@{} {:.3} · MRR {:.4} (scaled {:.3})",
        m.recall_at_20, m.ndcg_at_20, m.hit_k, m.hit_rate, m.mrr, m.mrr_scaled
    )
}
