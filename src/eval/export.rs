//! Writing embeddings for other tools: `.npy` (numpy/FAISS read it directly), an id/label map and
//! each pin's nearest neighbours as CSV. Files are written to a temp name and renamed.

use std::io::{BufWriter, Write};
use std::path::Path;

use npyz::WriterBuilder;
use rayon::prelude::*;

use crate::eval::top_k;
use crate::graph::Graph;
use crate::infer::Embeddings;

/// An error writing an export file, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ExportError {
    pub path: String,
    pub message: String,
}

fn err(path: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError { path: path.display().to_string(), message: e.to_string() }
}

/// Runs `write` on a buffered temp file next to `path`, then renames it into place. On any failure
/// the temp file is removed: nothing is left under either name.
pub fn atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), ExportError> {
    let tmp = path.with_extension("partial");
    create_parent(path).map_err(|e| err(path, e))?;
    let file = std::fs::File::create(&tmp).map_err(|e| err(&tmp, e))?;
    let mut w = BufWriter::new(file);
    let done = write(&mut w).and_then(|()| w.flush()).map_err(|e| err(&tmp, e));
    drop(w);
    let done = done.and_then(|()| std::fs::rename(&tmp, path).map_err(|e| err(path, e)));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// Creates the folder `path` goes into when it is missing.
pub fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// All node embeddings as a float32 `.npy` of shape `[nodes, dim]` (pins first, then boards).
pub fn write_npy(path: &Path, emb: &Embeddings) -> Result<(), ExportError> {
    atomically(path, |w| {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[emb.n_nodes() as u64, emb.dim as u64])
            .writer(w)
            .begin_nd()?;
        writer.extend(emb.data.iter().copied())?;
        writer.finish()
    })
}

/// `row,kind,id,label` for every row of the `.npy`.
pub fn write_ids(path: &Path, g: &Graph) -> Result<(), ExportError> {
    atomically(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(["row", "kind", "id", "label"])?;
        for p in 0..g.n_pins() {
            csv.write_record([p.to_string(), "pin".into(), p.to_string(), g.pin_label(p)])?;
        }
        for b in 0..g.n_boards() {
            csv.write_record([(g.n_pins() + b).to_string(), "board".into(), b.to_string(), g.board_label(b)])?;
        }
        csv.flush()
    })
}

/// Each pin's `k` nearest pins by dot product (the pin itself excluded): `pin,rank,neighbour,score`.
pub fn nearest_pins(emb: &Embeddings, k: usize) -> Vec<Vec<(u32, f32)>> {
    let n = emb.n_pins;
    (0..n as u32)
        .into_par_iter()
        .map_init(
            || vec![0f32; n],
            |scores, p| {
                let q = emb.row(p);
                for (s, row) in scores.iter_mut().zip(emb.pins().chunks_exact(emb.dim)) {
                    *s = q.iter().zip(row).map(|(a, b)| a * b).sum();
                }
                scores[p as usize] = f32::NEG_INFINITY;
                top_k(scores, k).into_iter().map(|v| (v, scores[v as usize])).collect()
            },
        )
        .collect()
}

/// Writes each pin's neighbour list (pin `i`'s is `all[i]`, e.g. from [`nearest_pins`] or
/// `retrieval::top_k_for_pins`) as CSV: `pin,rank,neighbour,score,label,neighbour_label`.
pub fn write_neighbours(path: &Path, g: &Graph, all: &[Vec<(u32, f32)>]) -> Result<(), ExportError> {
    atomically(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(["pin", "rank", "neighbour", "score", "label", "neighbour_label"])?;
        for (p, list) in all.iter().enumerate() {
            for (rank, (v, s)) in list.iter().enumerate() {
                csv.write_record([
                    p.to_string(),
                    (rank + 1).to_string(),
                    v.to_string(),
                    format!("{s:.6}"),
                    g.pin_label(p as u32),
                    g.pin_label(*v),
                ])?;
            }
        }
        csv.flush()
    })
}
