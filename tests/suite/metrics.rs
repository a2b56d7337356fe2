//! Evaluation metrics against hand-computed cases.

use pinsage_explorer::eval::{
    Metrics, PopularityScorer, Scorer, evaluate, pair_ranks, ranking_metrics, recall_ndcg, top_k,
};
use pinsage_explorer::graph::Graph;

#[test]
fn recall_and_ndcg_follow_lightgcn_definitions() {
    // Test pins {3, 9}; ranked list hits 3 at rank 1 and 9 at rank 4 (0-based 0 and 3).
    let (r, n) = recall_ndcg(&[3, 5, 7, 9, 11], &[3, 9], 20);
    assert!((r - 1.0).abs() < 1e-12);
    let dcg = 1.0 / 2f64.log2() + 1.0 / 5f64.log2();
    let idcg = 1.0 / 2f64.log2() + 1.0 / 3f64.log2();
    assert!((n - dcg / idcg).abs() < 1e-12, "{n}");
    // With k = 2 only the first hit counts, and the ideal DCG covers min(|test|, k) = 2 positions.
    let (r2, n2) = recall_ndcg(&[3, 5, 7, 9], &[3, 9], 2);
    assert!((r2 - 0.5).abs() < 1e-12);
    assert!((n2 - 1.0 / idcg).abs() < 1e-12);
    // A single test pin beyond k: nothing.
    assert_eq!(recall_ndcg(&[1, 2], &[4], 2), (0.0, 0.0));
    // top_k: best first, ties to the smaller id, -inf never returned.
    assert_eq!(top_k(&[0.5, 0.9, 0.9, f32::NEG_INFINITY, 0.1], 3), vec![1, 2, 0]);
    assert_eq!(top_k(&[f32::NEG_INFINITY, 0.3], 5), vec![1]);
}

/// Scores pin p by a fixed table (the same for every query).
struct Fixed(Vec<f32>);
impl Scorer for Fixed {
    fn board_scores(&self, _b: u32, out: &mut [f32]) {
        out.copy_from_slice(&self.0);
    }
    fn pin_scores(&self, _p: u32, out: &mut [f32]) {
        out.copy_from_slice(&self.0);
    }
}

#[test]
fn training_pins_are_masked_and_ranks_exclude_the_query() {
    // Board 0 trains on pins {0, 1}, tests on {2}; board 1 trains on {3}, tests on {0, 4}.
    let g = Graph::from_edges(5, 2, &[(0, 0), (0, 1), (1, 3)], &[(0, 2), (1, 0), (1, 4)]);
    // Scores: pin 0 best, then 1, 3, 2, 4.
    let s = Fixed(vec![5.0, 4.0, 2.0, 3.0, 1.0]);
    // Board 0: pins 0, 1 masked → ranking 3, 2, 4: test pin 2 at rank 2. Board 1: pin 3 masked →
    // 0, 1, 2, 4: test pins 0 (rank 1) and 4 (rank 4).
    let (r, n, m) = ranking_metrics(&g, &s, 20);
    assert_eq!(m, 2);
    let nd0 = (1.0 / 3f64.log2()) / 1.0;
    let nd1 = (1.0 + 1.0 / 5f64.log2()) / (1.0 + 1.0 / 3f64.log2());
    assert!((r - 1.0).abs() < 1e-12, "every test pin is in the top 20: {r}");
    assert!((n - (nd0 + nd1) / 2.0).abs() < 1e-12, "{n}");
    let (r1, _, _) = ranking_metrics(&g, &s, 1);
    assert!((r1 - (0.0 + 0.5) / 2.0).abs() < 1e-12, "recall@1 = (0 + 1/2) / 2: {r1}");
    // Pin-to-pin: query 1, target 2: pins above 2 other than the query: 0 and 3 → rank 3.
    // Query 0, target 4: everything but the query is above → rank 4.
    assert_eq!(pair_ranks(&g, &s, &[(1, 2), (0, 4)]), vec![3, 4]);
}

#[test]
fn most_popular_scores_by_training_degree() {
    let g = Graph::from_edges(3, 3, &[(0, 2), (1, 2), (2, 2), (0, 1)], &[(1, 1), (2, 0)]);
    let mut out = vec![0f32; 3];
    PopularityScorer::new(&g).board_scores(0, &mut out);
    assert_eq!(out, vec![0.0, 1.0, 3.0]);
    let m: Metrics = evaluate(&g, &PopularityScorer::new(&g), 1, 100, 1);
    // Boards 1 and 2 train on pin 2, which is masked; only 2 pins remain, so both test pins are in
    // the top 20, and MostPopular puts pin 1 (degree 1) above pin 0 (degree 0).
    assert!((m.recall_at_20 - 1.0).abs() < 1e-12);
    let ndcg_board2 = (1.0 / 3f64.log2()) / 1.0;
    assert!((m.ndcg_at_20 - (1.0 + ndcg_board2) / 2.0).abs() < 1e-12, "{}", m.ndcg_at_20);
    assert_eq!(m.boards_evaluated, 2);
    let json = serde_json::to_value(&m).unwrap();
    for key in ["recall@20", "ndcg@20", "hit_rate", "mrr"] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
}
