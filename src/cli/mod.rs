//! Command-line definitions and the glue from each subcommand to the library.

mod fuzz;
mod parallel;
mod scale;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

use pinsage_explorer::ann::SearchKind;
use pinsage_explorer::baselines::{BaselineResult, EASE_LAMBDAS, evaluate_baselines};
use pinsage_explorer::bench;
use pinsage_explorer::data::fuzz::FuzzTarget;
use pinsage_explorer::eval::{EmbeddingScorer, Metrics};
use pinsage_explorer::graph::Graph;
use pinsage_explorer::graph::Split;
use pinsage_explorer::load::Format;
use pinsage_explorer::model::Pooling;
use pinsage_explorer::names::Named;
use pinsage_explorer::recommend::{Query, find_board, find_pin};
use pinsage_explorer::sampler::{NeighbourhoodKind, PairSampling};
use pinsage_explorer::split::{HoldoutBy, SplitConfig};
use pinsage_explorer::train::{self, DeviceChoice, LossKind, Mode, RunOptions, TrainConfig, TrainEvent};
use pinsage_explorer::walk::WalkConfig;

/// The parser of a library option enum: its names are the possible values (listed in `--help`),
/// parsed with its `FromStr`. clap lives here only; the library's enums know nothing of it.
fn named<T: Named + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::NAMES).try_map(|s| s.parse::<T>())
}

#[derive(Parser, Debug)]
#[command(name = "pinsage", version, about = "PinSage Explorer: learn, inspect and run PinSage on pin–board graphs")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// (App) open this graph file or folder, or `default`.
    #[arg(long)]
    pub data: Option<String>,
    /// (App) render a view once the layout settles, save it as PNG here, and exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// (App) follow a run folder written by `pinsage train` (live) and load its model.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// (App) the view to open.
    #[arg(long, value_parser = named::<pinsage_explorer::app::View>())]
    pub view: Option<pinsage_explorer::app::View>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print counts, degree statistics and memory use of a graph.
    Stats {
        #[command(flatten)]
        data: DataArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks, printed as JSON with --json.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Train PinSage; progress bars, or one JSON event per line with --json.
    Train(TrainArgs),
    /// Evaluate a run: recall@20 / ndcg@20 (LightGCN protocol) and pin-to-pin hit rate / MRR.
    Eval {
        /// The run folder written by `pinsage train --out`.
        #[arg(long)]
        run: PathBuf,
        /// Also evaluate the baselines on the same split: MostPopular, ItemKNN, EASE^R (λ chosen on
        /// the validation split) and, with features, visual only.
        #[arg(long)]
        baselines: bool,
        /// The λ values EASE^R tries on the validation split (each is one pins × pins inversion).
        #[arg(long, value_delimiter = ',', default_values_t = EASE_LAMBDAS.to_vec())]
        ease_lambdas: Vec<f32>,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        #[arg(long)]
        json: bool,
    },
    /// The paper's ablation (Ying et al., KDD 2018, the component study): baselines and PinSage variants
    /// (uniform vs importance pooling, hard negatives) with the same budget; JSON + table.
    Ablate {
        #[command(flatten)]
        data: DataArgs,
        /// A JSON file with TrainConfig fields: the base every variant starts from.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, default_value_t = 5)]
        epochs: usize,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        /// Where to write the report (the GUI's Results view reads it).
        #[arg(long, default_value = "ablation.json")]
        out: PathBuf,
        #[arg(long)]
        batch_size: Option<usize>,
    },
    /// Recommendations from a trained run: the top pins for a board (its known pins excluded) or
    /// the pins most related to a pin.
    Recommend(RecommendArgs),
    /// Write every node's embedding (.npy), an id/label map (CSV) and each pin's top-k neighbours
    /// (CSV); with --project, a 2-D map of every node instead (CSV `row,kind,id,label,x,y`).
    Embed {
        #[arg(long)]
        run: PathBuf,
        /// Output .npy file (ids.csv and neighbours.csv are written beside it); with --project,
        /// the map's CSV (default: map.csv in the run folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write a 2-D map by PCA, t-SNE or UMAP (t-SNE and UMAP subsample above 20,000 nodes).
        #[arg(long, value_parser = named::<pinsage_explorer::embed_map::Method>())]
        project: Option<pinsage_explorer::embed_map::Method>,
        /// Neighbours per pin in neighbours.csv.
        #[arg(long, default_value_t = 20)]
        top_k: usize,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        /// Neighbour search: exact, the run's index (`pinsage index`), or auto (the index from
        /// 200,000 pins up when there is one).
        #[arg(long, value_parser = named::<SearchKind>(), default_value_t = SearchKind::Auto)]
        search: SearchKind,
    },
    /// Build the approximate nearest-neighbour index (HNSW, inner product) of a run's pin embeddings.
    Index {
        #[arg(long)]
        run: PathBuf,
        /// Where to write it [default: RUN/pins.ann].
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        #[command(flatten)]
        ann: scale::AnnArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RecommendArgs {
    /// The run folder written by `pinsage train --out`.
    #[arg(long)]
    pub run: PathBuf,
    /// The board (user) to recommend for: its label as in the data file, or its number.
    #[arg(long, conflicts_with = "pin")]
    pub board: Option<String>,
    /// The pin (item) to find related pins for: its label or id.
    #[arg(long)]
    pub pin: Option<String>,
    /// How many to list.
    #[arg(short, long, default_value_t = 20)]
    pub k: usize,
    #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
    pub device: DeviceChoice,
    /// Exact search, the run's index (`pinsage index`), or auto (the index from 200,000 pins up).
    #[arg(long, value_parser = named::<SearchKind>(), default_value_t = SearchKind::Auto)]
    pub search: SearchKind,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A JSON file with any TrainConfig fields (flags below override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_parser = named::<DeviceChoice>())]
    pub device: Option<DeviceChoice>,
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Run folder for config.json, metrics.jsonl, checkpoints and the model.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long, requires = "out")]
    pub resume: bool,
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// PinSage (default) or LightGCN.
    #[arg(long, value_parser = named::<Mode>())]
    pub mode: Option<Mode>,
    #[arg(long, value_parser = named::<Pooling>())]
    pub pooling: Option<Pooling>,
    /// Evaluate every N epochs (and at the end).
    #[arg(long)]
    pub eval_interval: Option<usize>,
    #[arg(long, value_parser = named::<NeighbourhoodKind>())]
    pub neighbourhood: Option<NeighbourhoodKind>,
    #[arg(long, value_parser = named::<LossKind>())]
    pub loss: Option<LossKind>,
    /// Random negatives shared by each batch.
    #[arg(long)]
    pub negatives: Option<usize>,
    /// τ of the BPR and softmax losses (scores are divided by it).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Turn the hard-negative curriculum off.
    #[arg(long, conflicts_with = "hard_negatives")]
    pub no_hard_negatives: bool,
    /// Turn the paper's hard-negative curriculum on (off by default for real data).
    #[arg(long)]
    pub hard_negatives: bool,
    /// Stop after this many evaluations without a better validation recall@20 (0: never).
    #[arg(long)]
    pub patience: Option<usize>,
    #[arg(long)]
    pub board_query_share: Option<f32>,
    /// How each epoch draws its positive pairs: every edge once, or uniform boards (LightGCN's).
    #[arg(long, value_parser = named::<PairSampling>())]
    pub pair_sampling: Option<PairSampling>,
    #[arg(long)]
    pub sampler_threads: Option<usize>,
    /// Evaluate only at the end, not after every epoch.
    #[arg(long)]
    pub eval_at_end: bool,
    /// Data-parallel training on these devices of --device, e.g. `0,1` (PinSage).
    #[arg(long, value_parser = parallel::devices_arg)]
    pub devices: Option<parallel::DeviceList>,
    #[arg(long)]
    pub json: bool,
}

impl TrainArgs {
    fn config(&self) -> anyhow::Result<TrainConfig> {
        let mut cfg = match &self.config {
            Some(p) => TrainConfig::load(p)?,
            None => TrainConfig::default(),
        };
        cfg.data = self.data.data.clone();
        cfg.split = self.data.split(cfg.split);
        if let Some(s) = self.data.seed {
            cfg.seed = s;
        }
        if let Some(f) = &self.data.pin_features {
            cfg.pin_features = Some(f.display().to_string());
        }
        if let Some(v) = self.patience {
            cfg.patience = v;
        }
        if self.hard_negatives {
            cfg.hard_negatives = true;
        }
        if let Some(v) = self.device {
            cfg.device = v;
        }
        if let Some(v) = &self.devices {
            cfg.devices = Some(v.0.clone());
        }
        if let Some(v) = self.epochs {
            cfg.epochs = v;
        }
        if let Some(v) = self.batch_size {
            cfg.batch_size = v;
        }
        if let Some(v) = self.learning_rate {
            cfg.learning_rate = v;
        }
        if let Some(v) = self.mode {
            cfg.mode = v;
        }
        if let Some(v) = self.eval_interval {
            cfg.eval_interval = v;
        }
        if let Some(v) = self.pooling {
            cfg.pooling = v;
        }
        if let Some(v) = self.neighbourhood {
            cfg.neighbourhood = v;
        }
        if let Some(v) = self.loss {
            cfg.loss = v;
        }
        if let Some(v) = self.negatives {
            cfg.negatives = v;
        }
        if let Some(v) = self.temperature {
            cfg.temperature = v;
        }
        if let Some(v) = self.board_query_share {
            cfg.board_query_share = v;
        }
        if let Some(v) = self.pair_sampling {
            cfg.pair_sampling = v;
        }
        if let Some(v) = self.sampler_threads {
            cfg.sampler_threads = v;
        }
        if self.no_hard_negatives {
            cfg.hard_negatives = false;
        }
        if self.eval_at_end {
            cfg.eval_each_epoch = false;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Walk throughput and the time to compute every pin's top-K neighbourhood.
    Walks {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        walk: WalkArgs,
        /// Repeats (the best time is kept).
        #[arg(long, default_value_t = 5)]
        repeats: u32,
        #[arg(long)]
        json: bool,
    },
    /// Full-graph embedding of a run's graph, all-board and all-pin top-20 retrieval, timed.
    Embed {
        #[arg(long)]
        run: PathBuf,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        #[arg(long, default_value_t = 3)]
        repeats: u32,
    },
    /// The training step alone (forward, loss, backward, Adam) on one fixed batch.
    TrainStep {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, value_parser = named::<DeviceChoice>(), default_value_t = DeviceChoice::Gpu)]
        device: DeviceChoice,
        #[arg(long, default_value_t = 100)]
        steps: usize,
        #[arg(long)]
        batch_size: Option<usize>,
        /// Write the batch as .npy files here, for bench/pytorch_step.py.
        #[arg(long)]
        dump: Option<PathBuf>,
        /// Data-parallel: time 1, 2, … of these devices on the same batch (e.g. `0,1`).
        #[arg(long, value_parser = parallel::devices_arg, conflicts_with = "dump")]
        devices: Option<parallel::DeviceList>,
        #[arg(long)]
        json: bool,
    },
    /// Loader robustness: generated inputs (valid files put through seeded mutations, or random
    /// bytes) through each loader; counts loads, refusals by kind and panics (must be 0).
    FuzzLoaders {
        /// Inputs per loader.
        #[arg(long, default_value_t = 1_000_000)]
        inputs: u64,
        /// The first input's seed (inputs use seed, seed + 1, …).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Only this loader (default: all).
        #[arg(long, value_parser = named::<FuzzTarget>())]
        loader: Option<FuzzTarget>,
        #[arg(long)]
        json: bool,
    },
    /// The cost curve: power-law graphs of each size (one child process each), timing generation,
    /// walks, training steps, layer-wise inference and top-20 retrieval (exact and ANN), with peak memory.
    Scale(scale::ScaleArgs),
    /// Approximate nearest neighbours on random unit vectors: build time, recall@k against exact, latency.
    Ann(scale::AnnBenchArgs),
}

/// Where the graph comes from and how its held-out edges are made.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// A graph file or folder, `default` for the embedded synthetic graph, or
    /// `synthetic:pins=N,boards=N,topics=N,pins_per_board=N,noise=F,colour=F,seed=N`.
    #[arg(long, default_value = "default")]
    pub data: String,
    /// The file format (sniffed from the content when `auto`).
    #[arg(long, value_parser = named::<Format>(), default_value_t = Format::Auto)]
    pub format: Format,
    /// Share of each board's pins held out for testing when the data has no test edges [default: 0.2].
    #[arg(long)]
    pub holdout: Option<f32>,
    /// Hold out random pins, or each board's latest (needs timestamps) [default: random].
    #[arg(long, value_parser = named::<HoldoutBy>())]
    pub holdout_by: Option<HoldoutBy>,
    /// Share of each board's training pins kept aside for validation (early stopping, model
    /// choice; 0 for none) [default: 0.1].
    #[arg(long)]
    pub validation: Option<f32>,
    /// Seed of the splits (and of training).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Pin features: `.npy` [pins, d] in pin order, or CSV `pin,f1,…,fd` keyed by the file's pin ids.
    #[arg(long)]
    pub pin_features: Option<PathBuf>,
}

impl DataArgs {
    /// The split these flags ask for, on top of `base`.
    pub fn split(&self, base: SplitConfig) -> SplitConfig {
        SplitConfig {
            holdout: self.holdout.unwrap_or(base.holdout),
            holdout_by: self.holdout_by.unwrap_or(base.holdout_by),
            validation: self.validation.unwrap_or(base.validation),
            seed: self.seed.unwrap_or(base.seed),
        }
    }

    /// The graph, split, with its features.
    pub fn load(&self) -> anyhow::Result<Graph> {
        let cfg = TrainConfig {
            data: self.data.clone(),
            split: self.split(SplitConfig::default()),
            pin_features: self.pin_features.as_ref().map(|p| p.display().to_string()),
            ..TrainConfig::default()
        };
        Ok(train::run_graph(&cfg, self.format)?)
    }
}

/// Random-walk parameters.
#[derive(Args, Debug, Clone)]
pub struct WalkArgs {
    /// T: walks per pin.
    #[arg(long, default_value_t = WalkConfig::default().walks)]
    pub walks: u32,
    /// L: pin-steps per walk.
    #[arg(long, default_value_t = WalkConfig::default().length)]
    pub length: u32,
    /// K: neighbours kept.
    #[arg(long, default_value_t = WalkConfig::default().top_k)]
    pub top_k: usize,
    /// Restart probability after each step.
    #[arg(long, default_value_t = WalkConfig::default().restart)]
    pub restart: f32,
    /// Seed of the walks.
    #[arg(id = "walk_seed", long = "walk-seed", default_value_t = WalkConfig::default().seed)]
    pub seed: u64,
}

impl WalkArgs {
    pub fn config(&self) -> anyhow::Result<WalkConfig> {
        let cfg = WalkConfig {
            walks: self.walks,
            length: self.length,
            top_k: self.top_k,
            restart: self.restart,
            seed: self.seed,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => {
            let options = pinsage_explorer::app::AppOptions {
                ephemeral: cli.screenshot.is_some(),
                data: cli.data,
                screenshot: cli.screenshot,
                view: cli.view,
                run: cli.run,
            };
            pinsage_explorer::app::run(options).map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))
        }
        Some(Command::Stats { data, json }) => {
            let g = data.load()?;
            print_stats(&g, json)
        }
        Some(Command::Train(args)) => train_cmd(&args),
        Some(Command::Ablate { data, config, epochs, device, out, batch_size }) => {
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
            pinsage_explorer::export::create_parent(&out)
                .with_context(|| format!("creating the folder for {}", out.display()))?;
            std::fs::write(&out, json).with_context(|| format!("writing {}", out.display()))?;
            println!("{:<30} {:>9} {:>8} {:>8} {:>8}", "variant", "recall@20", "ndcg@20", "hit@10", "MRR");
            for r in &report.rows {
                println!(
                    "{:<30} {:>9.4} {:>8.4} {:>8.4} {:>8.4}",
                    r.name, r.metrics.recall_at_20, r.metrics.ndcg_at_20, r.metrics.hit_rate, r.metrics.mrr
                );
            }
            println!(
                "({} on {}, {} epochs each; written to {})",
                report.device,
                report.data,
                report.epochs,
                out.display()
            );
            Ok(())
        }
        Some(Command::Eval { run, baselines, ease_lambdas, device, json }) => {
            eval_cmd(&run, baselines.then_some(&ease_lambdas[..]), device, json)
        }
        Some(Command::Recommend(args)) => recommend_cmd(&args),
        Some(Command::Embed { run, out, device, project: Some(method), .. }) => map_cmd(&run, out, method, device),
        Some(Command::Embed { run, out, top_k, device, project: None, search }) => {
            embed_cmd(&run, out, top_k, device, search)
        }
        Some(Command::Bench { what: BenchCommand::Embed { run, device, repeats } }) => {
            let cfg = train::run_config(&run)?.config;
            let g = train::run_graph(&cfg, Format::Auto)?;
            let (dev, name, _) = train::select_device(device);
            let (mut embed_secs, mut retrieval_secs, mut device_retrieval_secs) =
                (f64::INFINITY, f64::INFINITY, f64::INFINITY);
            let mut pin_top20_secs = f64::INFINITY;
            let pins: Vec<u32> = (0..g.n_pins()).collect();
            let mut recall = (0.0, 0.0);
            let mut n_nodes = 0;
            for _ in 0..repeats.max(1) {
                let t = std::time::Instant::now();
                let (_, emb) = train::run_embeddings(&run, &g, &dev)?;
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
        Some(Command::Bench { what: BenchCommand::FuzzLoaders { inputs, seed, loader, json } }) => {
            fuzz::fuzz_loaders(inputs, seed, loader, json)
        }
        Some(Command::Bench {
            what: BenchCommand::TrainStep { data, device, steps, batch_size, devices: Some(d), json, .. },
        }) => parallel::bench_train_step(&data, device, steps, batch_size, &d.0, json),
        Some(Command::Bench {
            what: BenchCommand::TrainStep { data, device, steps, batch_size, dump, devices: None, json },
        }) => {
            let g = data.load()?;
            let mut cfg = TrainConfig { data: data.data.clone(), ..TrainConfig::paper() };
            if let Some(b) = batch_size {
                cfg.batch_size = b;
            }
            cfg.validate()?;
            let (dev, name, note) = train::select_device(device);
            if let Some(n) = note {
                eprintln!("note: {n}");
            }
            let r = bench::bench_train_step(&g, &cfg, &dev, &name, steps, dump.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "{}: {:.2} ms/step, {:.0} triplets/s ({} queries, {} targets, {} layer-1 nodes, {} input nodes, K={})",
                    r.device,
                    r.ms_per_step,
                    r.triplets_per_sec,
                    r.queries,
                    r.targets,
                    r.layer1_nodes,
                    r.input_nodes,
                    r.k
                );
            }
            Ok(())
        }
        Some(Command::Index { run, out, device, ann }) => scale::index_cmd(&run, out, device, &ann),
        Some(Command::Bench { what: BenchCommand::Scale(args) }) => scale::bench_scale(&args),
        Some(Command::Bench { what: BenchCommand::Ann(args) }) => scale::bench_ann_cmd(&args),
        Some(Command::Bench { what: BenchCommand::Walks { data, walk, repeats, json } }) => {
            let cfg = walk.config()?;
            let g = data.load()?;
            let r = bench::bench_walks(&g, &cfg, repeats);
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "{} pins, {} edges, T={} L={} K={} restart={} on {} threads\n\
                     {:.1} M pin-steps/s; all neighbourhoods in {:.3} s ({:.0} pins/s)\n\
                     memory ceiling: {:.1} M random reads/s; walks reach {:.0}% of it ({} reads per step)",
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
            }
            Ok(())
        }
    }
}

fn print_stats(g: &Graph, json: bool) -> anyhow::Result<()> {
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

fn train_cmd(args: &TrainArgs) -> anyhow::Result<()> {
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
    // Without a terminal the bar is hidden and swallows println: print plain lines instead.
    let say = |bar: &indicatif::ProgressBar, line: String| {
        if bar.is_hidden() { println!("{line}") } else { bar.println(line) }
    };
    for ev in handle.events.iter() {
        if args.json {
            println!("{}", serde_json::to_string(&ev)?);
            continue;
        }
        let Some(bar) = &bar else { continue };
        match &ev {
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
            TrainEvent::Progress {
                epoch, step, loss, triplets_per_sec, queue_depth, gpu_wait_share, eta_secs, ..
            } => {
                bar.set_prefix(epoch.to_string());
                bar.set_position(*step as u64);
                bar.set_message(format!(
                    "loss {loss:.4} · {triplets_per_sec:.0} triplets/s · queue {queue_depth} · waiting {:.0}% · ETA {eta_secs:.0}s",
                    gpu_wait_share * 100.0
                ));
            }
            TrainEvent::EpochEnd {
                epoch,
                loss,
                epoch_secs,
                triplets_per_sec,
                gpu_wait_share,
                hard_per_query,
                metrics,
            } => {
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
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    handle.join()?;
    Ok(())
}

fn metrics_line(m: &Metrics) -> String {
    format!(
        "recall@20 {:.4} · ndcg@20 {:.4} · hit@{} {:.3} · MRR {:.4} (scaled {:.3})",
        m.recall_at_20, m.ndcg_at_20, m.hit_k, m.hit_rate, m.mrr, m.mrr_scaled
    )
}

/// Loads a run's graph, model and neighbourhoods, and embeds every node.
/// A run's graph, config and embeddings, and the device they were computed on.
pub(crate) fn load_run(
    run: &std::path::Path,
    device: DeviceChoice,
) -> anyhow::Result<(Graph, TrainConfig, pinsage_explorer::infer::Embeddings, burn::prelude::Device)> {
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
    let (cfg, emb) = train::run_embeddings(run, &g, &dev)?;
    Ok((g, cfg, emb, dev))
}

/// `baselines`: the EASE^R λ grid when the baselines are wanted.
fn eval_cmd(run: &std::path::Path, baselines: Option<&[f32]>, device: DeviceChoice, json: bool) -> anyhow::Result<()> {
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

fn recommend_cmd(args: &RecommendArgs) -> anyhow::Result<()> {
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
fn map_cmd(
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

fn embed_cmd(
    run: &std::path::Path,
    out: Option<PathBuf>,
    top_k: usize,
    device: DeviceChoice,
    search: SearchKind,
) -> anyhow::Result<()> {
    let (g, _cfg, emb, dev) = load_run(run, device)?;
    let out = out.unwrap_or_else(|| run.join("embeddings.npy"));
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
