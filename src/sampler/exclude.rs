//! Training batches that leave each pair's own edge out of its query's neighbourhood, so the
//! model learns to predict a pin from the query's *other* pins rather than to recognise a pin it
//! already pools (FISM's "exclude the item being estimated"; DGL's PinSAGE example removes the
//! head–tail edges from its sampled blocks for the same reason). At inference nothing is left
//! out: a board pools all its training pins, and the pins to predict are never among them.

use super::{BlockPlan, NodeNeighbourhoods, TrainBatch, Triplets};

/// For every pair (q, p) of `t` whose positive p is in q's neighbourhood, gives the query its own
/// row in both layers of `batch`'s gather plan: q's neighbourhood with p's weight set to 0 and the
/// others renormalised (at layer 1 for q's own representation and at layer 2 for its embedding),
/// and points the pair's query row at it. Pairs whose positive is not in the neighbourhood, and
/// every other role (positives, negatives), keep the shared rows.
///
/// Returns how many pairs got their own query row.
pub fn exclude_positive_edges<B: BlockPlan>(batch: &mut TrainBatch<B>, nb: &NodeNeighbourhoods, t: &Triplets) -> usize {
    let mut excluded = 0;
    for (i, (&q, &p)) in t.queries.iter().zip(&t.positives).enumerate() {
        let ids = nb.ids_of(q);
        let own = nb.weights_of(q);
        if !ids.iter().zip(own).any(|(&v, &w)| v == p && w > 0.0) {
            continue;
        }
        // Weights without p, renormalised to the same total (zero when p was all there was).
        let total: f32 = own.iter().sum();
        let kept: f32 = ids.iter().zip(own).filter(|(v, _)| **v != p).map(|(_, w)| w).sum();
        let scale = if kept > 0.0 { total / kept } else { 0.0 };
        let weights: Vec<f32> = ids.iter().zip(own).map(|(&v, &w)| if v == p { 0.0 } else { w * scale }).collect();

        batch.query_rows[i] = batch.block.own_row(batch.query_rows[i], &weights);
        excluded += 1;
    }
    excluded
}
