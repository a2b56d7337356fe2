//! `bench embed`, `bench train-step` and `bench walks`: run the library's benchmark drivers and
//! print their numbers (text or JSON).

use std::path::Path;

use pinsage_explorer::bench;
use pinsage_explorer::eval::EmbeddingScorer;
use pinsage_explorer::load::Format;
use pinsage_explorer::train::{self, DeviceChoice, TrainConfig};

use super::args::{DataArgs, TrainStepArgs, WalkArgs};

/// `bench embed`: full-graph embedding and top-20 retrieval of a run, best of `repeats`.
pub fn embed(run: &Path, device: DeviceChoice, repeats: u32) -> anyhow::Result<()> {
    let cfg = train::run_config(run)?.config;
    let g = train::run_graph(&cfg, Format::Auto)?;
    let (dev, name, _) = train::select_device(device);
    let (mut embed_secs, mut retrieval_secs, mut device_retrieval_secs) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    let mut pin_top20_secs = f64::INFINITY;
    let pins: Vec<u32> = (0..g.n_pins()).collect();
    let mut recall = (0.0, 0.0);
    let mut n_nodes = 0;
    for _ in 0..repeats.max(1) {
        let t = std::time::Instant::now();
        let (_, emb) = train::run_embeddings(run, &g, &dev, None)?;
        embed_secs = embed_secs.min(t.elapsed().as_secs_f64());
        n_nodes = emb.n_nodes();
        let t = std::time::Instant::now();
        let (r, _, _) = pinsage_explorer::eval::ranking_metrics(&g, &EmbeddingScorer { emb: &emb }, 20);
        std::hint::black_box(r);
        retrieval_secs = retrieval_secs.min(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let (r2, _, _) = pinsage_explorer::retrieval::ranking_metrics_on_device(&g, &emb, 20, &dev)?;
        device_retrieval_secs = device_retrieval_secs.min(t.elapsed().as_secs_f64());
        recall = (r, r2);
        let t = std::time::Instant::now();
        std::hint::black_box(pinsage_explorer::retrieval::top_k_for_pins(
            &emb,
            &pins,
            20,
            pinsage_explorer::defaults::RETRIEVAL_CHUNK,
            &dev,
        )?);
        pin_top20_secs = pin_top20_secs.min(t.elapsed().as_secs_f64());
    }
    let out = serde_json::json!({
        "device": name, "mode": cfg.mode, "nodes": n_nodes, "embed_all_secs": embed_secs,
        "note": "embed_all_secs includes loading the model and computing neighbourhoods",
        "all_board_top20_secs": retrieval_secs, "retrieval_threads": rayon::current_num_threads(),
        "all_board_top20_device_secs": device_retrieval_secs,
        "all_pin_top20_device_secs": pin_top20_secs,
        "recall@20_cpu": recall.0, "recall@20_device": recall.1,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// `bench train-step`: the training step alone on one fixed batch.
pub fn train_step(a: &TrainStepArgs) -> anyhow::Result<()> {
    let g = a.data.load()?;
    let mut cfg = match &a.config {
        Some(path) => TrainConfig { data: a.data.data.clone(), ..TrainConfig::load(path)? }.scaled_for(&g),
        None => TrainConfig { data: a.data.data.clone(), ..TrainConfig::paper() },
    };
    if let Some(b) = a.batch_size {
        cfg.batch_size = b;
    }
    cfg.validate()?;
    let (dev, name, note) = train::select_device(a.device);
    if let Some(n) = note {
        eprintln!("note: {n}");
    }
    let opts = bench::StepBenchOptions {
        dump: a.dump.as_deref(),
        composed_pool: a.composed_pool,
        composed_norm: a.composed_norm,
        reference: a.reference,
        upload_each_step: a.upload_each_step,
        gathers: a.gathers,
        distinct_batches: a.distinct_batches,
    };
    let r = bench::bench_train_step(&g, &cfg, &dev, &name, a.steps, &opts)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{}: {:.2} ms/step, {:.0} triplets/s ({} queries, {} targets, {} layer-1 nodes, {} input nodes, K={}, {} pooling, {} normalisation)",
            r.device,
            r.ms_per_step,
            r.triplets_per_sec,
            r.queries,
            r.targets,
            r.layer1_nodes,
            r.input_nodes,
            r.k,
            if r.fused_pool { "fused" } else { "composed" },
            if r.fused_norm { "fused" } else { "composed" }
        );
    }
    Ok(())
}

/// `bench walks`: walk throughput and every pin's top-K neighbourhood.
pub fn walks(data: &DataArgs, walk: &WalkArgs, repeats: u32, hard_pools: bool, json: bool) -> anyhow::Result<()> {
    let cfg = walk.config()?;
    let g = data.load()?;
    let mut r = bench::bench_walks(&g, &cfg, repeats);
    if hard_pools {
        r.hard_pools_secs = Some(bench::time_hard_pools(&g));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} pins, {} edges, T={} L={} K={} restart={} on {} threads\n\
                 {:.1} M pin-steps/s; all neighbourhoods in {:.3} s ({:.0} pins/s)\n\
                 plain random loads: {:.1} M reads/s; the walks' prefetched reads reach {:.0}% of that ({} reads per step)",
            r.pins,
            r.edges,
            r.walks,
            r.length,
            r.top_k,
            r.restart,
            r.threads,
            r.steps_per_sec / 1e6,
            r.all_neighbourhoods_secs,
            r.pins_per_sec,
            r.random_reads_per_sec / 1e6,
            100.0 * r.share_of_memory_ceiling,
            r.reads_per_step
        );
        let held =
            r.huge_page_bytes.map_or_else(|| "unknown".to_string(), |b| format!("{:.0} MiB", b as f64 / 1048576.0));
        println!("transparent huge pages: mode {}, {held} held", r.huge_page_mode.as_deref().unwrap_or("unknown"));
        if let Some(secs) = r.hard_pools_secs {
            println!("hard-negative pools of all {} nodes in {secs:.2} s", g.n_pins() + g.n_boards());
        }
    }
    Ok(())
}
