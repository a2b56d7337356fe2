//! Top-k retrieval on the device: boards (or pins) × all pins by dot product in blocks, training
//! pins (or the query pin itself) masked, `topk` on the device, only the winners read back (on
//! the CPU, a selection over each row's scores instead of Burn's sorting `topk`).

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;
use rayon::prelude::*;

use crate::eval::recall_ndcg;
use crate::graph::{Graph, Split};
use crate::infer::{Embeddings, InferError};

/// The top `k` pins of every board (its known pins, training and validation, excluded), best
/// first, computed on `device` `block` boards at a time.
pub fn top_k_for_boards(
    emb: &Embeddings,
    g: &Graph,
    boards: &[u32],
    k: usize,
    block: usize,
    device: &Device,
) -> Result<Vec<Vec<u32>>, InferError> {
    top_k_blocks_for_boards(emb, g, boards, k, (block, PIN_BLOCK), device)
}

/// [`top_k_for_boards`] scoring `pin_block` pins at a time (the result does not depend on it).
pub fn top_k_blocks_for_boards(
    emb: &Embeddings,
    g: &Graph,
    boards: &[u32],
    k: usize,
    (block, pin_block): (usize, usize),
    device: &Device,
) -> Result<Vec<Vec<u32>>, InferError> {
    let queries: Vec<u32> = boards.iter().map(|&b| emb.n_pins as u32 + b).collect();
    let ranked = top_k_blocks(emb, &queries, k, (block, pin_block), device, |node, masked| {
        g.known_pins_of(node - emb.n_pins as u32, Split::Test, masked)
    })?;
    Ok(ranked.into_iter().map(|list| list.into_iter().map(|(p, _)| p).collect()).collect())
}

/// The top `k` pins of every pin in `pins` (the pin itself excluded), best first, with their scores,
/// computed on `device` `block` pins at a time.
pub fn top_k_for_pins(
    emb: &Embeddings,
    pins: &[u32],
    k: usize,
    block: usize,
    device: &Device,
) -> Result<Vec<Vec<(u32, f32)>>, InferError> {
    top_k_for_pins_in_blocks(emb, pins, k, block, PIN_BLOCK, device)
}

/// [`top_k_for_pins`] scoring `pin_block` pins at a time (the result does not depend on it).
pub fn top_k_for_pins_in_blocks(
    emb: &Embeddings,
    pins: &[u32],
    k: usize,
    block: usize,
    pin_block: usize,
    device: &Device,
) -> Result<Vec<Vec<(u32, f32)>>, InferError> {
    let k = k.min(emb.n_pins.saturating_sub(1));
    top_k_blocks(emb, pins, k, (block, pin_block), device, |pin, masked| masked.push(pin))
}

/// The top `k` pins by dot product for each query node, `block` queries at a time: one matmul
/// against all pins, the pins `mask(query, &mut out)` names pushed to −10⁹, `topk` on the device,
/// only the winners and their scores read back.
fn top_k_blocks(
    emb: &Embeddings,
    queries: &[u32],
    k: usize,
    (block, pin_block): (usize, usize),
    device: &Device,
    mask: impl Fn(u32, &mut Vec<u32>),
) -> Result<Vec<Vec<(u32, f32)>>, InferError> {
    let (n_pins, d) = (emb.n_pins, emb.dim);
    let k = k.min(n_pins);
    if k == 0 {
        return Ok(vec![Vec::new(); queries.len()]);
    }
    let block = block_rows(n_pins, d, k, block.max(1).min(queries.len().max(1)).min(MAX_QUERY_ROWS))?;
    let device = device.clone().without_autodiff();
    // On the CPU the scores are already in host memory, and Burn's `topk` sorts each whole row:
    // a selection over the row is O(pins) instead of O(pins · log pins).
    let on_host = !crate::model::fused_pool::runs_kernels(&device);
    // The pins in column blocks: one [b, all pins] score matrix would exceed a wgpu binding
    // (2 GiB) and its matmul's launch grid (65,535 groups a dimension) from ~500 k pins on.
    let pin_block = pin_block.max(1);
    let pin_blocks: Vec<(usize, usize, Tensor<2>)> = (0..n_pins)
        .step_by(pin_block)
        .map(|start| {
            let len = pin_block.min(n_pins - start);
            let rows = emb.pins()[start * d..(start + len) * d].to_vec();
            (start, len, Tensor::<2>::from_data(TensorData::new(rows, [len, d]), &device).transpose())
        })
        .collect();
    let read = |e| InferError::Device(format!("reading top-k back: {e:?}"));
    let mut out = Vec::with_capacity(queries.len());
    let mut masked_pins = Vec::new();
    for chunk in queries.chunks(block) {
        let b = chunk.len();
        let mut q = Vec::with_capacity(b * d);
        let mut masked: Vec<(usize, u32)> = Vec::new();
        for (row, &node) in chunk.iter().enumerate() {
            q.extend_from_slice(emb.row(node));
            masked_pins.clear();
            mask(node, &mut masked_pins);
            masked.extend(masked_pins.iter().map(|&p| (row, p)));
        }
        let q = Tensor::<2>::from_data(TensorData::new(q, [b, d]), &device);
        // Each row's candidates: every pin block's top k, merged below.
        let mut candidates: Vec<Vec<(u32, f32)>> = vec![Vec::with_capacity(k * pin_blocks.len()); b];
        for (start, len, pins_t) in &pin_blocks {
            let (start, len) = (*start, *len);
            let mut scores = q.clone().matmul(pins_t.clone());
            let kb = k.min(len);
            if on_host {
                let scores: Vec<f32> = scores.try_into_vec_as::<f32>().map_err(read)?;
                select_on_host(scores, &masked, (start, len), kb, &mut candidates);
                continue;
            }
            let local: Vec<i64> = (masked.iter())
                .filter(|&&(_, p)| (start..start + len).contains(&(p as usize)))
                .map(|&(row, p)| (row * len + p as usize - start) as i64)
                .collect();
            if !local.is_empty() {
                let m = local.len();
                let idx = Tensor::<1, Int>::from_data(TensorData::new(local, [m]), &device);
                let penalty = Tensor::<1>::full([m], -1.0e9, &device);
                scores = scores.reshape([b * len]).scatter(0, idx, penalty, IndexingUpdateOp::Add).reshape([b, len]);
            }
            let (values, idx) = scores.topk_with_indices(kb, 1);
            let idx: Vec<i64> = idx.try_into_vec_as::<i64>().map_err(read)?;
            let values: Vec<f32> = values.try_into_vec_as::<f32>().map_err(read)?;
            for (row, (i, v)) in idx.chunks(kb).zip(values.chunks(kb)).enumerate() {
                candidates[row].extend(i.iter().zip(v).map(|(&p, &s)| ((start as i64 + p) as u32, s)));
            }
        }
        out.extend(candidates.into_iter().map(|mut c| {
            // Best first; ties by pin id, as one block's `topk` over all pins would order them.
            c.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            c.truncate(k);
            c
        }));
    }
    Ok(out)
}

/// One column block's winners chosen on the host: `scores` is `[rows, len]` for pins
/// `start..start + len`; the `masked` (row, pin) pairs in the block are left out; each row's best
/// `k` (score, then lower pin id) join its candidates. Rows in parallel.
fn select_on_host(
    mut scores: Vec<f32>,
    masked: &[(usize, u32)],
    (start, len): (usize, usize),
    k: usize,
    candidates: &mut [Vec<(u32, f32)>],
) {
    for &(row, p) in masked {
        if (start..start + len).contains(&(p as usize)) {
            scores[row * len + p as usize - start] = f32::NEG_INFINITY;
        }
    }
    candidates.par_iter_mut().zip(scores.par_chunks(len)).for_each(|(c, row)| {
        c.extend(crate::eval::top_k(row, k).into_iter().map(|i| ((start + i as usize) as u32, row[i as usize])));
    });
}

/// Pins per column block of a retrieval: a 1,024-query block's scores stay at 1 GiB.
const PIN_BLOCK: usize = 1 << 18;
/// The most queries in one block ([`PIN_BLOCK`] scores each).
const MAX_QUERY_ROWS: usize = 1024;

/// Bytes of one query row of a retrieval block over `n_pins` pins: its scores, the masked copy and
/// `topk`'s working copy (f32 each), plus its `k` winners (index and score).
fn block_row_bytes(n_pins: usize, k: usize) -> u64 {
    crate::memory::bytes(n_pins as u64, 12).saturating_add(crate::memory::bytes(k as u64, 12))
}

/// The queries per block: `wanted`, or fewer when the budget holds fewer rows beside the pins'
/// table (the results do not depend on the block size); fails when not even one row fits.
fn block_rows(n_pins: usize, dim: usize, k: usize, wanted: usize) -> Result<usize, InferError> {
    let table = crate::memory::bytes(n_pins as u64, 4 * dim as u64);
    let row = block_row_bytes(n_pins, k);
    crate::memory::check(
        table.saturating_add(row),
        "the retrieval block (all pins' embeddings and one query's scores)",
    )?;
    let fit = match crate::memory::budget() {
        Some((budget, _)) => ((budget - table.saturating_add(row)) / row.max(1)).saturating_add(1),
        None => u64::MAX,
    };
    Ok(wanted.min(usize::try_from(fit).unwrap_or(usize::MAX)).max(1))
}

/// The LightGCN protocol (as `eval::ranking_metrics`) with the ranking done on the device.
/// Returns (recall@k, ndcg@k, boards evaluated).
pub fn ranking_metrics_on_device(
    g: &Graph,
    emb: &Embeddings,
    k: usize,
    device: &Device,
) -> Result<(f64, f64, usize), InferError> {
    let boards: Vec<u32> = (0..g.n_boards()).filter(|&b| !g.test_pins_of(b).is_empty()).collect();
    let ranked = top_k_for_boards(emb, g, &boards, k, crate::defaults::RETRIEVAL_CHUNK, device)?;
    let (mut r, mut n) = (0.0, 0.0);
    for (&b, list) in boards.iter().zip(&ranked) {
        let (ri, ni) = recall_ndcg(list, g.test_pins_of(b), k);
        r += ri;
        n += ni;
    }
    let m = boards.len().max(1) as f64;
    Ok((r / m, n / m, boards.len()))
}
