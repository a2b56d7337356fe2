//! Glue for the scale commands: `pinsage index`, `pinsage bench scale` (each size in a child
//! process), `pinsage bench ann`, and the choice between exact and approximate search that
//! `recommend` and `embed` make.

use std::path::{Path, PathBuf};

use anyhow::Context;

use pinsage_explorer::ann::{ANN_MIN_PINS, AnnConfig, AnnIndex, INDEX_FILE, SearchKind};
use pinsage_explorer::eval::EmbeddingScorer;
use pinsage_explorer::graph::Graph;
use pinsage_explorer::infer::Embeddings;
use pinsage_explorer::recommend::{Query, Recommendations, recommend};
use pinsage_explorer::scale::{ScaleOptions, bench_ann, run_size};
use pinsage_explorer::train::{self, DeviceChoice};

/// HNSW settings on the command line.
#[derive(clap::Args, Debug, Clone)]
pub struct AnnArgs {
    /// Links per node in the index.
    #[arg(long, default_value_t = AnnConfig::default().connectivity)]
    pub connectivity: usize,
    /// Candidates kept while adding.
    #[arg(long, default_value_t = AnnConfig::default().expansion_add)]
    pub expansion_add: usize,
    /// Candidates kept while searching.
    #[arg(long, default_value_t = AnnConfig::default().expansion_search)]
    pub expansion_search: usize,
}

impl AnnArgs {
    pub fn config(&self) -> AnnConfig {
        AnnConfig {
            connectivity: self.connectivity.max(2),
            expansion_add: self.expansion_add.max(1),
            expansion_search: self.expansion_search.max(1),
        }
    }
}

/// Parses `1e6`, `10000000`, `2.5e7` as a whole number of edges.
pub(super) fn whole(text: &str) -> anyhow::Result<u64> {
    let v: f64 = text.trim().parse().with_context(|| format!("`{text}` is not a number"))?;
    anyhow::ensure!(v >= 1.0 && v.fract() == 0.0 && v <= 1e13, "`{text}` is not a whole number of edges");
    Ok(v as u64)
}

/// The index a search of `search` kind uses for a run's embeddings, if any.
fn index_for(run: &Path, emb: &Embeddings, search: SearchKind) -> anyhow::Result<Option<AnnIndex>> {
    let path = run.join(INDEX_FILE);
    let cfg = AnnConfig::default();
    match search {
        SearchKind::Exact => Ok(None),
        SearchKind::Auto if emb.n_pins < ANN_MIN_PINS => Ok(None),
        SearchKind::Auto => {
            if !path.exists() {
                eprintln!(
                    "note: {} pins and no index; exact search (`pinsage index --run {}` makes one)",
                    emb.n_pins,
                    run.display()
                );
                return Ok(None);
            }
            match AnnIndex::load(&path, &cfg).and_then(|i| i.check_matches(emb, &path).map(|()| i)) {
                Ok(i) => Ok(Some(i)),
                Err(e) => {
                    eprintln!("note: {e}; exact search instead");
                    Ok(None)
                }
            }
        }
        SearchKind::Ann if path.exists() => {
            let index = AnnIndex::load(&path, &cfg)?;
            index.check_matches(emb, &path)?;
            Ok(Some(index))
        }
        SearchKind::Ann => {
            eprintln!("note: no index in {}; building one in memory", run.display());
            Ok(Some(AnnIndex::build(emb.pins(), emb.dim, &cfg)?))
        }
    }
}

/// `recommend`'s list: through the index when `search` picks one, else exact.
pub fn recommend_with(
    run: &Path,
    g: &Graph,
    emb: &Embeddings,
    query: Query,
    k: usize,
    search: SearchKind,
) -> anyhow::Result<Recommendations> {
    Ok(match index_for(run, emb, search)? {
        Some(index) => index.recommend(g, emb, query, k)?,
        None => recommend(g, &EmbeddingScorer { emb }, query, k),
    })
}

/// `embed`'s neighbour lists: through the index when `search` picks one, else exact on the device.
pub fn pin_neighbours(
    run: &Path,
    emb: &Embeddings,
    k: usize,
    search: SearchKind,
    device: &burn::prelude::Device,
) -> anyhow::Result<Vec<Vec<(u32, f32)>>> {
    let pins: Vec<u32> = (0..emb.n_pins as u32).collect();
    Ok(match index_for(run, emb, search)? {
        Some(index) => index.top_k_for_pins(emb, &pins, k)?,
        None => pinsage_explorer::retrieval::top_k_for_pins(emb, &pins, k, 4096, device)?,
    })
}

/// `pinsage index`: builds the index of a run's pin embeddings and saves it beside the run.
pub fn index_cmd(run: &Path, out: Option<PathBuf>, device: DeviceChoice, ann: &AnnArgs) -> anyhow::Result<()> {
    let (_, _, emb, _) = crate::cli::load_run(run, device)?;
    let out = out.unwrap_or_else(|| run.join(INDEX_FILE));
    let t = std::time::Instant::now();
    let index = AnnIndex::build(emb.pins(), emb.dim, &ann.config())?;
    let build_secs = t.elapsed().as_secs_f64();
    index.save(&out)?;
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "wrote {} ({} pins × {}, {:.1} MiB, built in {build_secs:.1} s); `recommend` and `embed` use it from {ANN_MIN_PINS} pins up (or with --search ann)",
        out.display(),
        index.n,
        index.dim,
        bytes as f64 / 1048576.0
    );
    Ok(())
}

/// Options of `pinsage bench scale`.
#[derive(clap::Args, Debug, Clone)]
pub struct ScaleArgs {
    /// Graph sizes in training edges, e.g. `1e6,1e7,1e8`.
    #[arg(long, value_delimiter = ',', default_values_t = ["1e6".to_string(), "1e7".to_string()])]
    pub edges: Vec<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Training steps timed per size (after 5 warm-up steps; 0 skips training).
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Boards whose top-20 is retrieved exactly and through the index.
    #[arg(long, default_value_t = 1000)]
    pub boards: usize,
    /// K: walk neighbours kept per node.
    #[arg(long, default_value_t = train::TrainConfig::default().walk.top_k)]
    pub top_k: usize,
    #[arg(long, value_parser = super::named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
    pub device: DeviceChoice,
    #[command(flatten)]
    pub ann: AnnArgs,
    #[arg(long)]
    pub json: bool,
    /// (Internal) run one size in this process and print its row after each stage, as JSON lines.
    #[arg(long, hide = true)]
    pub child: bool,
}

/// `pinsage bench scale`: each size in its own child process (so peak memory is per size).
pub fn bench_scale(args: &ScaleArgs) -> anyhow::Result<()> {
    let sizes: Vec<u64> = args.edges.iter().map(|e| whole(e)).collect::<anyhow::Result<_>>()?;
    let opts = ScaleOptions {
        seed: args.seed,
        train_steps: args.steps,
        retrieval_boards: args.boards,
        top_k: args.top_k,
        ann: args.ann.config(),
    };
    if args.child {
        let edges = *sizes.first().context("no size given")?;
        let (dev, name, note) = train::select_device(args.device);
        if let Some(n) = note {
            eprintln!("note: {n}");
        }
        run_size(edges, &opts, &dev, &name, |row| {
            if let Ok(line) = serde_json::to_string(row) {
                println!("{line}");
            }
        });
        return Ok(());
    }
    let exe = std::env::current_exe().context("finding this program to run each size")?;
    let mut rows: Vec<serde_json::Value> = Vec::new();
    for (&edges, text) in sizes.iter().zip(&args.edges) {
        eprintln!("bench scale: {edges} edges…");
        let ann = args.ann.config();
        let out = std::process::Command::new(&exe)
            .args(["bench", "scale", "--child", "--edges", text.trim()])
            .args(["--seed", &args.seed.to_string(), "--steps", &args.steps.to_string()])
            .args(["--boards", &args.boards.to_string(), "--top-k", &args.top_k.to_string()])
            .args(["--device", if args.device == DeviceChoice::Cpu { "cpu" } else { "gpu" }])
            .args(["--connectivity", &ann.connectivity.to_string()])
            .args(["--expansion-add", &ann.expansion_add.to_string()])
            .args(["--expansion-search", &ann.expansion_search.to_string()])
            .stderr(std::process::Stdio::inherit())
            .output()
            .context("running a size in a child process")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().rev().find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
        let mut row = last.unwrap_or_else(|| serde_json::json!({ "edges": edges }));
        if !out.status.success() {
            row["error"] = format!("the child process ended with {} (killed for memory?)", out.status).into();
        }
        if !args.json {
            print_row(&row);
        }
        rows.push(row);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    Ok(())
}

fn print_row(row: &serde_json::Value) {
    let Ok(r) = serde_json::from_value::<ScaleRowView>(row.clone()) else {
        println!("{row}");
        return;
    };
    let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.2}"));
    println!(
        "{} edges: generate {} s · walks {} s · {} triplets/s · infer {} s · exact top-20 {} s · ANN build {} s, top-20 {} s (recall {}) · peak {:.2} GiB ({} B/edge){}",
        r.edges,
        f(r.generate_secs),
        f(r.walk_secs),
        f(r.triplets_per_sec),
        f(r.infer_secs),
        f(r.exact_top20_secs),
        f(r.ann_build_secs),
        f(r.ann_top20_secs),
        f(r.ann_recall_at_20),
        r.peak_rss_bytes.unwrap_or(0) as f64 / (1u64 << 30) as f64,
        f(r.peak_bytes_per_edge),
        r.error.map(|e| format!(" · stopped: {e}")).unwrap_or_default()
    );
}

/// The fields of a [`ScaleRow`] that the text table shows.
#[derive(serde::Deserialize)]
struct ScaleRowView {
    edges: u64,
    generate_secs: Option<f64>,
    walk_secs: Option<f64>,
    triplets_per_sec: Option<f64>,
    infer_secs: Option<f64>,
    exact_top20_secs: Option<f64>,
    ann_build_secs: Option<f64>,
    ann_top20_secs: Option<f64>,
    ann_recall_at_20: Option<f64>,
    peak_rss_bytes: Option<u64>,
    peak_bytes_per_edge: Option<f64>,
    error: Option<String>,
}

/// Options of `pinsage bench ann`.
#[derive(clap::Args, Debug, Clone)]
pub struct AnnBenchArgs {
    /// Random 64-d unit vectors indexed (e.g. 1e6).
    #[arg(long, default_value = "1e6")]
    pub pins: String,
    #[arg(long, default_value_t = 64)]
    pub dim: usize,
    #[arg(short, long, default_value_t = 20)]
    pub k: usize,
    /// Queries timed one at a time (and searched exactly for the recall).
    #[arg(long, default_value_t = 1000)]
    pub queries: usize,
    /// The expansion_search values to sweep.
    #[arg(long, value_delimiter = ',', default_values_t = [128usize, 256, 512, 1024])]
    pub expansions: Vec<usize>,
    #[command(flatten)]
    pub ann: AnnArgs,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
}

/// `pinsage bench ann`.
pub fn bench_ann_cmd(args: &AnnBenchArgs) -> anyhow::Result<()> {
    let pins = whole(&args.pins)? as usize;
    anyhow::ensure!(args.dim > 0 && args.k > 0 && args.queries > 0, "--dim, -k and --queries must be at least 1");
    let r = bench_ann(pins, args.dim, args.k, args.queries, &args.ann.config(), &args.expansions, args.seed)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} vectors × {}: built in {:.1} s on {} threads; exact search {:.0} µs/query",
            r.pins, r.dim, r.build_secs, r.threads, r.exact_query_us
        );
        for p in &r.sweep {
            println!(
                "  expansion_search {:>4}: recall@{} {:.4}, {:.0} µs/query",
                p.expansion_search, r.k, p.recall_at_k, p.query_us
            );
        }
    }
    Ok(())
}
