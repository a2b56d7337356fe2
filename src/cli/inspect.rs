//! Commands that read a graph or a run folder and print or write what they find: `stats`,
//! `eval`, `recommend`, `embed` (and `embed --project`).

use std::path::PathBuf;

use anyhow::Context;
use pinsage_explorer::ann::SearchKind;
use pinsage_explorer::baselines::{BaselineResult, evaluate_baselines};
use pinsage_explorer::graph::{Graph, Split};
use pinsage_explorer::load::Format;
use pinsage_explorer::recommend::{Query, find_board, find_pin};
use pinsage_explorer::train::{self, DeviceChoice, Mode, TrainConfig};

use super::args::RecommendArgs;
use super::scale;
use super::training::metrics_line;

pub fn print_stats(g: &Graph, json: bool) -> anyhow::Result<()> {
    let s = g.stats();
    if json {
        println!("{}", serde_json::to_string_pretty(&s).context("serialising stats")?);
        return Ok(());
    }
    println!("source:       {}", s.source);
    println!("pins:         {}", s.pins);
    println!("boards:       {}", s.boards);
    println!("train edges:  {}", s.edges);
    println!("test edges:   {}", s.test_edges);
    for (name, d) in [("pin degree", &s.pin_degree), ("board degree", &s.board_degree)] {
        println!(
            "{name:<13} min {} · median {} · mean {:.2} · max {} · isolated {} · top 1 % hold {:.1} % of edges",
            d.min,
            d.median,
            d.mean,
            d.max,
            d.isolated,
            d.top_1pct_share * 100.0
        );
    }
    println!("features:     {}", if s.feature_dim > 0 { format!("{} dims", s.feature_dim) } else { "none".into() });
    println!("categories:   {}", s.categories);
    println!(
        "adjacency:    {:.2} MiB ({:.2} bytes per edge, both directions)",
        s.adjacency_bytes as f64 / 1048576.0,
        s.bytes_per_edge
    );
    Ok(())
}

/// A run's graph, config and embeddings, and the device they were computed on.
pub fn load_run(
    run: &std::path::Path,
    device: DeviceChoice,
) -> anyhow::Result<(Graph, TrainConfig, pinsage_explorer::infer::Embeddings, burn::prelude::Device)> {
    let (g, _, dev) = load_run_graph(run, device)?;
    let (cfg, emb) = train::run_embeddings(run, &g, &dev, None)?;
    Ok((g, cfg, emb, dev))
}

/// A run's graph (rebuilt as its config says, notes printed), its config and the device to embed
/// it on.
pub fn load_run_graph(
    run: &std::path::Path,
    device: DeviceChoice,
) -> anyhow::Result<(Graph, TrainConfig, burn::prelude::Device)> {
    let loaded = train::run_config(run)?;
    for n in &loaded.notes {
        eprintln!("note: {n}");
    }
    let cfg = loaded.config;
    let g = train::run_graph(&cfg, Format::Auto).with_context(|| format!("loading the run's graph `{}`", cfg.data))?;
    let (dev, _, note) = train::select_device(device);
    if let Some(n) = note {
        eprintln!("note: {n}");
    }
    Ok((g, cfg, dev))
}

/// `baselines`: the EASE^R λ grid when the baselines are wanted.
pub fn eval_cmd(
    run: &std::path::Path,
    baselines: Option<&[f32]>,
    device: DeviceChoice,
    json: bool,
) -> anyhow::Result<()> {
    let (g, cfg, emb, _) = load_run(run, device)?;
    let model_name = match cfg.mode {
        Mode::Pinsage => "pinsage",
        Mode::Lightgcn => "lightgcn",
    };
    let model = train::evaluate_embeddings(&g, &emb, cfg.seed, Split::Test);
    let budget = pinsage_explorer::memory::budget().map_or(u64::MAX, |(bytes, _)| bytes);
    let rows: Vec<BaselineResult> =
        baselines.map(|lambdas| evaluate_baselines(&g, cfg.seed, lambdas, budget)).unwrap_or_default();
    if json {
        let mut top = serde_json::to_value(&model)?;
        top["model"] = model_name.into();
        if baselines.is_some() {
            let mut map = serde_json::Map::new();
            for r in &rows {
                let mut v = match &r.metrics {
                    Some(m) => serde_json::to_value(m)?,
                    None => serde_json::json!({}),
                };
                if let Some(note) = &r.note {
                    v["note"] = note.clone().into();
                }
                if let Some(l) = r.lambda {
                    v["lambda"] = l.into();
                }
                map.insert(r.key.to_string(), v);
            }
            top["baselines"] = serde_json::Value::Object(map);
        }
        println!("{}", serde_json::to_string_pretty(&top)?);
    } else {
        println!("{model_name:<13} {}", metrics_line(&model));
        for r in &rows {
            match &r.metrics {
                Some(m) => println!(
                    "{:<13} {}{}",
                    r.key,
                    metrics_line(m),
                    r.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
                ),
                None => println!("{:<13} skipped: {}", r.key, r.note.clone().unwrap_or_default()),
            }
        }
        println!(
            "(test split: {} boards; {} held-out pin pairs, candidates: {}; training{} pins masked)",
            model.boards_evaluated,
            model.pairs_evaluated,
            model.candidates,
            if g.n_validation_edges() > 0 { " and validation" } else { "" }
        );
    }
    Ok(())
}

pub fn recommend_cmd(args: &RecommendArgs) -> anyhow::Result<()> {
    let (g, _cfg, emb, _) = load_run(&args.run, args.device)?;
    let query = match (&args.board, &args.pin) {
        (Some(label), _) => {
            Query::Board(find_board(&g, label).with_context(|| format!("no board `{label}` in {}", g.source))?)
        }
        (None, Some(label)) => {
            Query::Pin(find_pin(&g, label).with_context(|| format!("no pin `{label}` in {}", g.source))?)
        }
        (None, None) => anyhow::bail!("say which query: --board LABEL or --pin LABEL"),
    };
    let recs = scale::recommend_with(&args.run, &g, &emb, query, args.k, args.search)?;
    if args.json {
        let list: Vec<serde_json::Value> = recs
            .items
            .iter()
            .enumerate()
            .map(|(i, &(p, score))| serde_json::json!({"rank": i + 1, "pin": p, "label": g.pin_label(p), "score": score}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"query": recs.title, "excluded": recs.excluded, "recommendations": list})
            )?
        );
    } else {
        println!("top {} for {} ({} known pins excluded):", recs.items.len(), recs.title, recs.excluded);
        for (i, &(p, score)) in recs.items.iter().enumerate() {
            println!("{:>3}. {:<50} {:.4}", i + 1, g.pin_label(p), score);
        }
    }
    Ok(())
}

/// `embed --project`: every node's embedding mapped to 2-D, written as CSV.
pub fn map_cmd(
    run: &std::path::Path,
    out: Option<PathBuf>,
    method: pinsage_explorer::embed_map::Method,
    device: DeviceChoice,
) -> anyhow::Result<()> {
    use pinsage_explorer::embed_map::{MapControl, project, write_map_csv};
    let (g, cfg, emb, _) = load_run(run, device)?;
    let out = out.unwrap_or_else(|| run.join("map.csv"));
    let bar = indicatif::ProgressBar::new(1000);
    let b2 = bar.clone();
    let ctl = MapControl::with_progress(move |fraction, stage| {
        b2.set_position((fraction * 1000.0) as u64);
        b2.set_message(stage.to_string());
    });
    let map = project(&emb.data, emb.dim, method, cfg.seed, &ctl)?;
    bar.finish_and_clear();
    write_map_csv(&out, &g, &map)?;
    if let Some(note) = &map.note {
        eprintln!("note: {note}");
    }
    println!("wrote {} ({} of {} nodes mapped by {})", out.display(), map.mapped, map.points.len(), method.title());
    Ok(())
}

pub fn embed_cmd(
    run: &std::path::Path,
    out: Option<PathBuf>,
    top_k: usize,
    device: DeviceChoice,
    search: SearchKind,
    engine: Option<&str>,
) -> anyhow::Result<()> {
    let out = out.unwrap_or_else(|| run.join("embeddings.npy"));
    let (g, emb, dev) = match engine {
        None => {
            let (g, _cfg, emb, dev) = load_run(run, device)?;
            (g, emb, dev)
        }
        Some(e) => {
            let (g, emb) = super::engine::engine_embeddings(run, e, &out, device)?;
            (g, emb, train::select_device(device).0)
        }
    };
    pinsage_explorer::export::write_npy(&out, &emb)?;
    let ids = out.with_file_name("ids.csv");
    pinsage_explorer::export::write_ids(&ids, &g)?;
    let nbrs = out.with_file_name("neighbours.csv");
    // Pin-to-pin top-k through the index, or exact in blocks on the run's device.
    let lists = scale::pin_neighbours(run, &emb, top_k, search, &dev)?;
    pinsage_explorer::export::write_neighbours(&nbrs, &g, &lists)?;
    println!(
        "wrote {} ({} nodes × {}), {} and {}",
        out.display(),
        emb.n_nodes(),
        emb.dim,
        ids.display(),
        nbrs.display()
    );
    Ok(())
}
