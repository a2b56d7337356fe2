//! Generated inputs for the loaders, to check that bad input never panics: each input is a valid
//! file of the loader's format (LightGCN lists, CSV/TSV edge lists, MovieLens ratings, pin features
//! as CSV or `.npy`) put through a few seeded mutations (odd tokens, cut or doubled lines, stray
//! bytes, wrong shapes), or plain random bytes. [`fuzz_loaders`] writes each input to a temp file,
//! loads it, and counts what loaded, what was refused (by [`LoadError`] kind) and what panicked.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::graph::Graph;
use crate::load::{LoadError, load_edge_list, load_lightgcn, load_movielens};

/// A loader under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuzzTarget {
    Lightgcn,
    Edges,
    Movielens,
    Features,
}

crate::named_enum!(FuzzTarget, "loader" { Lightgcn => "lightgcn", Edges => "edges", Movielens => "movielens", Features => "features" });

impl FuzzTarget {
    pub const ALL: [FuzzTarget; 4] =
        [FuzzTarget::Lightgcn, FuzzTarget::Edges, FuzzTarget::Movielens, FuzzTarget::Features];
}

/// Pins of the graph that feature inputs are loaded for (LightGCN ids `0..FEATURE_PINS`).
pub const FEATURE_PINS: u32 = 6;

/// Tokens that break parsers: empty, negative, overflowing, non-numeric, non-ASCII, separators.
const ODD_TOKENS: [&str; 24] = [
    "",
    "-1",
    "0",
    "4294967295",
    "4294967296",
    "99999999999999999999999",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "abc",
    "é",
    "\u{feff}",
    "0x10",
    "+3",
    " ",
    "1.5",
    "\"",
    "#",
    ",",
    "\t",
    "\r",
    "-0",
    "1,2",
];

/// One generated input for `target` from `seed`: the file name to write it under and its bytes.
pub fn fuzz_input(target: FuzzTarget, seed: u64) -> (String, Vec<u8>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let (name, valid) = match target {
        FuzzTarget::Lightgcn => ("train.txt".to_string(), lightgcn_text(&mut rng)),
        FuzzTarget::Edges => edges_text(&mut rng),
        FuzzTarget::Movielens => ("ratings.csv".to_string(), movielens_text(&mut rng)),
        FuzzTarget::Features if rng.random_bool(0.4) => ("features.npy".to_string(), npy_bytes(&mut rng)),
        FuzzTarget::Features => ("features.csv".to_string(), features_text(&mut rng)),
    };
    let bytes = if rng.random_bool(0.05) {
        let n = rng.random_range(0..300);
        (0..n).map(|_| rng.random::<u8>()).collect()
    } else {
        mutate(valid, &mut rng)
    };
    (name, bytes)
}

fn lightgcn_text(rng: &mut SmallRng) -> Vec<u8> {
    let mut s = String::new();
    for u in 0..rng.random_range(1..8u32) {
        s.push_str(&u.to_string());
        for _ in 0..rng.random_range(0..6) {
            s.push_str(&format!(" {}", rng.random_range(0..20u32)));
        }
        s.push('\n');
    }
    s.into_bytes()
}

fn edges_text(rng: &mut SmallRng) -> (String, Vec<u8>) {
    let tab = rng.random_bool(0.3);
    let sep = if tab { '\t' } else { ',' };
    let timed = rng.random_bool(0.3);
    let mut s = String::new();
    if rng.random_bool(0.5) {
        s.push_str(&if timed { format!("pin{sep}board{sep}weight{sep}time\n") } else { format!("pin{sep}board\n") });
    }
    for _ in 0..rng.random_range(1..15) {
        let (b, p) = (rng.random_range(0..6u32), rng.random_range(0..12u32));
        s.push_str(&format!("p{p}{sep}b{b}"));
        if timed {
            s.push_str(&format!("{sep}1{sep}{}", rng.random_range(0..1_000_000u32)));
        }
        s.push('\n');
    }
    (if tab { "edges.tsv" } else { "edges.csv" }.to_string(), s.into_bytes())
}

fn movielens_text(rng: &mut SmallRng) -> Vec<u8> {
    let mut s = String::from("userId,movieId,rating,timestamp\n");
    for _ in 0..rng.random_range(1..15) {
        let rating = rng.random_range(1..=10u32) as f32 / 2.0;
        s.push_str(&format!(
            "{},{},{rating},{}\n",
            rng.random_range(1..6u32),
            rng.random_range(1..12u32),
            rng.random_range(0..2_000_000_000u32)
        ));
    }
    s.into_bytes()
}

fn features_text(rng: &mut SmallRng) -> Vec<u8> {
    let dim = rng.random_range(1..4);
    let mut s = String::new();
    if rng.random_bool(0.5) {
        s.push_str("pin");
        (1..=dim).for_each(|i| s.push_str(&format!(",f{i}")));
        s.push('\n');
    }
    for p in 0..FEATURE_PINS {
        s.push_str(&p.to_string());
        (0..dim).for_each(|_| s.push_str(&format!(",{:.3}", rng.random::<f32>())));
        s.push('\n');
    }
    s.into_bytes()
}

/// A `.npy` array, usually `[FEATURE_PINS, d]` float32, sometimes another shape or type.
fn npy_bytes(rng: &mut SmallRng) -> Vec<u8> {
    let rows = if rng.random_bool(0.8) { FEATURE_PINS as usize } else { rng.random_range(0..10) };
    let dim = rng.random_range(0..4usize);
    let (descr, width) = [("<f4", 4), ("<f8", 8), ("<i4", 4), ("|u1", 1)][rng.random_range(0..4)];
    let shape = match rng.random_range(0..6) {
        0 => format!("({rows},)"),
        1 => format!("({rows}, {dim}, 2)"),
        _ => format!("({rows}, {dim})"),
    };
    let fortran = if rng.random_bool(0.1) { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for _ in 0..rows * dim {
        match width {
            4 if descr == "<f4" => out.extend_from_slice(&rng.random::<f32>().to_le_bytes()),
            8 => out.extend_from_slice(&rng.random::<f64>().to_le_bytes()),
            4 => out.extend_from_slice(&rng.random::<i32>().to_le_bytes()),
            _ => out.push(rng.random()),
        }
    }
    out
}

/// A few random edits: odd tokens in place of fields, cut, doubled or dropped lines, stray bytes.
fn mutate(mut bytes: Vec<u8>, rng: &mut SmallRng) -> Vec<u8> {
    for _ in 0..rng.random_range(0..4) {
        let len = bytes.len();
        match rng.random_range(0..7) {
            0 if len > 0 => {
                // Replace a run of non-separator bytes (a field) with an odd token.
                let at = rng.random_range(0..len);
                let is_sep = |b: u8| matches!(b, b' ' | b',' | b'\t' | b'\n');
                let start = (0..at).rev().find(|&i| is_sep(bytes[i])).map_or(0, |i| i + 1);
                let end = (at..len).find(|&i| is_sep(bytes[i])).unwrap_or(len);
                let token = ODD_TOKENS[rng.random_range(0..ODD_TOKENS.len())].as_bytes();
                bytes.splice(start.min(end)..end, token.iter().copied());
            }
            1 if len > 0 => {
                let at = rng.random_range(0..len);
                bytes.truncate(at);
            }
            2 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..len.min(a + 40) + 1).min(len);
                let chunk = bytes[a..b].to_vec();
                let at = rng.random_range(0..=bytes.len());
                bytes.splice(at..at, chunk);
            }
            3 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(1..20)).min(len);
                bytes.drain(a..b);
            }
            4 => {
                let at = rng.random_range(0..=len);
                let junk: Vec<u8> = (0..rng.random_range(1..6)).map(|_| rng.random()).collect();
                bytes.splice(at..at, junk);
            }
            5 if len > 0 => {
                let at = rng.random_range(0..len);
                bytes[at] = [b'\0', b'\r', 0xff, b'\n', b'"', b'#'][rng.random_range(0..6)];
            }
            _ => {}
        }
    }
    bytes
}

/// The graph feature inputs are loaded for: LightGCN ids `0..FEATURE_PINS`, one board each pair.
pub fn feature_graph(dir: &Path) -> Result<Graph, LoadError> {
    let path = dir.join("feature-graph.txt");
    let text: String = (0..FEATURE_PINS / 2).map(|b| format!("{b} {} {}\n", 2 * b, 2 * b + 1)).collect();
    std::fs::write(&path, text).map_err(|e| LoadError::io(&path, e))?;
    load_lightgcn(&path, None)
}

/// Loads the file at `path` with `target`'s loader (features for `graph`).
pub fn load_with(target: FuzzTarget, path: &Path, graph: &Graph) -> Result<(), LoadError> {
    match target {
        FuzzTarget::Lightgcn => load_lightgcn(path, None).map(|_| ()),
        FuzzTarget::Edges => load_edge_list(path).map(|_| ()),
        FuzzTarget::Movielens => load_movielens(path).map(|_| ()),
        FuzzTarget::Features => crate::features::load_pin_features(graph, path).map(|_| ()),
    }
}

/// What one loader did with its generated inputs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FuzzReport {
    pub loader: String,
    pub inputs: u64,
    pub loaded: u64,
    pub refused: u64,
    /// Refusals by `LoadError` variant (`Line`, `File`, `Io`, `Cancelled`).
    pub refused_by_kind: BTreeMap<String, u64>,
    pub panics: u64,
    /// Seeds of the first inputs that panicked (regenerate them with [`fuzz_input`]).
    pub panic_seeds: Vec<u64>,
    pub secs: f64,
    pub inputs_per_sec: f64,
}

impl FuzzReport {
    fn add(&mut self, other: FuzzReport) {
        self.inputs += other.inputs;
        self.loaded += other.loaded;
        self.refused += other.refused;
        for (k, n) in other.refused_by_kind {
            *self.refused_by_kind.entry(k).or_default() += n;
        }
        self.panics += other.panics;
        self.panic_seeds.extend(other.panic_seeds.into_iter().take(10));
        self.panic_seeds.truncate(10);
    }
}

fn kind(e: &LoadError) -> &'static str {
    match e {
        LoadError::Io { .. } => "Io",
        LoadError::Line { .. } => "Line",
        LoadError::File { .. } => "File",
        LoadError::Cancelled { .. } => "Cancelled",
    }
}

/// Runs `inputs` generated inputs (seeds `seed..seed + inputs`) through `target`'s loader, each
/// written to a file in `dir`, in parallel. Panics are caught and counted (the caller silences
/// the panic hook if it wants quiet output).
pub fn fuzz_loader(target: FuzzTarget, inputs: u64, seed: u64, dir: &Path) -> Result<FuzzReport, LoadError> {
    let graph = feature_graph(dir)?;
    let started = Instant::now();
    let threads = rayon::current_num_threads().max(1) as u64;
    let parts: Vec<Result<FuzzReport, LoadError>> = (0..threads)
        .into_par_iter()
        .map(|t| {
            let sub = dir.join(format!("{target}-{t}"));
            std::fs::create_dir_all(&sub).map_err(|e| LoadError::io(&sub, e))?;
            let mut r = FuzzReport::default();
            for s in (t..inputs).step_by(threads as usize) {
                let (name, bytes) = fuzz_input(target, seed.wrapping_add(s));
                let path = sub.join(name);
                std::fs::write(&path, &bytes).map_err(|e| LoadError::io(&path, e))?;
                r.inputs += 1;
                match catch_unwind(AssertUnwindSafe(|| load_with(target, &path, &graph))) {
                    Ok(Ok(())) => r.loaded += 1,
                    Ok(Err(e)) => {
                        r.refused += 1;
                        *r.refused_by_kind.entry(kind(&e).to_string()).or_default() += 1;
                    }
                    Err(_) => {
                        r.panics += 1;
                        if r.panic_seeds.len() < 10 {
                            r.panic_seeds.push(seed.wrapping_add(s));
                        }
                    }
                }
                let _ = std::fs::remove_file(&path);
            }
            Ok(r)
        })
        .collect();
    let mut report = FuzzReport { loader: target.to_string(), ..FuzzReport::default() };
    for p in parts {
        report.add(p?);
    }
    report.secs = started.elapsed().as_secs_f64();
    report.inputs_per_sec = report.inputs as f64 / report.secs.max(1e-9);
    Ok(report)
}
