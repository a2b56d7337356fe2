//! ItemKnn and EASE baselines against hand-computed cosines and closed-form inverses.

use pinsage_explorer::baselines::{BaselineError, EASE_LAMBDAS, Ease, ItemKnn, ease_bytes, fit_ease_best};
use pinsage_explorer::eval::Scorer;
use pinsage_explorer::graph::Graph;

const BIG: u64 = 1 << 30;

fn close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "entry {k}: got {g}, want {w} ({got:?} vs {want:?})");
    }
}

fn board(s: &impl Scorer, n: usize, b: u32) -> Vec<f32> {
    let mut out = vec![f32::NAN; n];
    s.board_scores(b, &mut out);
    out
}

fn pin(s: &impl Scorer, n: usize, p: u32) -> Vec<f32> {
    let mut out = vec![f32::NAN; n];
    s.pin_scores(p, &mut out);
    out
}

/// Boards b0 = {0,1,2}, b1 = {0,1}, b2 = {1,2,3}, b3 = {} (empty); pin 4 is on no board.
fn tiny() -> Graph {
    let train = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 1), (2, 2), (2, 3)];
    Graph::from_edges(5, 4, &train, &[])
}

/// A deterministic pseudo-random graph (LCG), some boards and pins left empty.
fn random_graph(pins: u32, boards: u32, edges: usize, seed: u64) -> Graph {
    let mut s = seed;
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    let train: Vec<(u32, u32)> = (0..edges).map(|_| (next() % boards, next() % pins)).collect();
    Graph::from_edges(pins, boards, &train, &[])
}

#[test]
fn item_knn_matches_hand_computed_cosines() {
    // Degrees n = [2, 3, 2, 1, 0]. Co-occurrences: c01 = 2 (b0, b1), c02 = 1 (b0), c03 = 0,
    // c12 = 2 (b0, b2), c13 = 1 (b2), c23 = 1 (b2).
    // S01 = 2/√6 = 0.8164966, S02 = 1/√4 = 0.5, S12 = 2/√6 = 0.8164966, S13 = 1/√3 = 0.5773503,
    // S23 = 1/√2 = 0.7071068, S03 = 0, Sii = 1 (pins with a board).
    let knn = ItemKnn::new(&tiny());
    let (s01, s13, s23) = (0.816_496_6, 0.577_350_3, std::f32::consts::FRAC_1_SQRT_2);
    close(&pin(&knn, 5, 3), &[0.0, s13, s23, 1.0, 0.0], 1e-6);
    close(&pin(&knn, 5, 1), &[s01, 1.0, s01, s13, 0.0], 1e-6);
    // Board b1 = {0, 1}: S[0] + S[1] = [1 + S01, S01 + 1, S02 + S12, S03 + S13, 0]
    //                               = [1.8164966, 1.8164966, 1.3164966, 0.5773503, 0].
    close(&board(&knn, 5, 1), &[1.816_496_6, 1.816_496_6, 1.316_496_6, 0.577_350_3, 0.0], 1e-5);
    // Board b2 = {1, 2, 3}: column 0 = S10 + S20 + S30 = 0.8164966 + 0.5 + 0 = 1.3164966;
    // column 3 = S13 + S23 + S33 = 0.5773503 + 0.7071068 + 1 = 2.2844571.
    let b2 = board(&knn, 5, 2);
    assert!((b2[0] - 1.316_496_6).abs() < 1e-5, "{b2:?}");
    assert!((b2[3] - 2.284_457_1).abs() < 1e-5, "{b2:?}");
    assert!((knn.similarity(1, 2) - s01).abs() < 1e-6);
    assert_eq!(knn.similarity(0, 3), 0.0);
}

#[test]
fn item_knn_pin_scores_are_symmetric_and_match_the_definition() {
    let (np, nb) = (40u32, 25u32);
    let g = random_graph(np, nb, 160, 7);
    let knn = ItemKnn::new(&g);
    let n = np as usize;
    // Reference: dense 0/1 matrix, c_ij and n_i counted directly.
    let mut x = vec![vec![false; n]; nb as usize];
    for b in 0..nb {
        for &p in g.pins_of(b) {
            x[b as usize][p as usize] = true;
        }
    }
    let deg: Vec<f64> = (0..n).map(|i| x.iter().filter(|r| r[i]).count() as f64).collect();
    let rows: Vec<Vec<f32>> = (0..np).map(|q| pin(&knn, n, q)).collect();
    let mut nonzero = 0;
    for i in 0..n {
        for j in 0..n {
            assert_eq!(rows[i][j], rows[j][i], "S[{i}][{j}] != S[{j}][{i}]");
            let c = x.iter().filter(|r| r[i] && r[j]).count() as f64;
            let want = if c == 0.0 { 0.0 } else { c / (deg[i] * deg[j]).sqrt() };
            assert!((rows[i][j] as f64 - want).abs() < 1e-5, "S[{i}][{j}] = {} want {want}", rows[i][j]);
            nonzero += usize::from(i != j && c > 0.0);
        }
    }
    assert!(nonzero > 20, "the random graph should have co-occurrences ({nonzero})");
    // Board scores are the sum of the board's pins' similarity rows.
    for b in 0..nb {
        let mut want = vec![0.0f32; n];
        for &i in g.pins_of(b) {
            want.iter_mut().zip(&rows[i as usize]).for_each(|(w, s)| *w += s);
        }
        close(&board(&knn, n, b), &want, 1e-4);
    }
}

#[test]
fn empty_boards_isolated_pins_and_empty_graphs_score_zero() {
    let g = tiny();
    let knn = ItemKnn::new(&g);
    let ease = Ease::fit(&g, 1.0, BIG).expect("fits");
    assert_eq!(board(&knn, 5, 3), vec![0.0; 5], "board 3 has no pins");
    assert_eq!(board(&ease, 5, 3), vec![0.0; 5]);
    assert_eq!(pin(&knn, 5, 4), vec![0.0; 5], "pin 4 has no boards");
    assert_eq!(pin(&ease, 5, 4), vec![0.0; 5]);
    // Ids beyond the graph: zeros, no panic.
    assert_eq!(board(&knn, 5, 99), vec![0.0; 5]);
    assert_eq!(board(&ease, 5, 99), vec![0.0; 5]);
    assert_eq!(pin(&ease, 5, 99), vec![0.0; 5]);
    // No pins at all.
    let empty = Graph::from_edges(0, 2, &[], &[]);
    let e0 = Ease::fit(&empty, 100.0, BIG).expect("empty fits");
    let mut out: Vec<f32> = Vec::new();
    e0.board_scores(0, &mut out);
    ItemKnn::new(&empty).board_scores(1, &mut out);
    assert_eq!(e0.n_pins(), 0);
}

#[test]
fn ease_two_pins_matches_closed_form() {
    // b0 = {0, 1}, b1 = {0}: XᵀX = [[2, 1], [1, 1]]. With λ = 1, G = [[3, 1], [1, 2]], det 5,
    // P = G⁻¹ = [[2, -1], [-1, 3]] / 5. B01 = -P01/P11 = (1/5)/(3/5) = 1/3,
    // B10 = -P10/P00 = (1/5)/(2/5) = 1/2, diagonal 0.
    let g = Graph::from_edges(2, 2, &[(0, 0), (0, 1), (1, 0)], &[]);
    let ease = Ease::fit(&g, 1.0, BIG).expect("fits");
    assert_eq!(ease.lambda(), 1.0);
    close(&pin(&ease, 2, 0), &[0.0, 1.0 / 3.0], 1e-6);
    close(&pin(&ease, 2, 1), &[0.5, 0.0], 1e-6);
    // Board b0 = {0, 1}: B[0] + B[1] = [1/2, 1/3]; board b1 = {0}: B[0] = [0, 1/3].
    close(&board(&ease, 2, 0), &[0.5, 1.0 / 3.0], 1e-6);
    close(&board(&ease, 2, 1), &[0.0, 1.0 / 3.0], 1e-6);
    // λ = 10: B01 = c01/(G00 + λ) = 1/12, B10 = 1/(1 + 10) = 1/11.
    let e10 = Ease::fit(&g, 10.0, BIG).expect("fits");
    close(&pin(&e10, 2, 0), &[0.0, 1.0 / 12.0], 1e-6);
    close(&pin(&e10, 2, 1), &[1.0 / 11.0, 0.0], 1e-6);
}

#[test]
fn ease_three_pins_matches_hand_inverse() {
    // b0 = {0, 1}, b1 = {1, 2}, b2 empty. XᵀX = [[1,1,0],[1,2,1],[0,1,1]]; λ = 1:
    // G = [[2,1,0],[1,3,1],[0,1,2]], det = 2·5 − 1·2 = 8, cofactors give
    // P = [[5,-2,1],[-2,4,-2],[1,-2,5]] / 8, so diag(P) = [5, 4, 5] / 8 and B_ij = -P_ij/P_jj:
    // B01 = 2/4 = 0.5, B02 = -1/5 = -0.2, B10 = 2/5 = 0.4, B12 = 2/5 = 0.4, B20 = -0.2, B21 = 0.5.
    let g = Graph::from_edges(3, 3, &[(0, 0), (0, 1), (1, 1), (1, 2)], &[]);
    let ease = Ease::fit(&g, 1.0, BIG).expect("fits");
    close(&pin(&ease, 3, 0), &[0.0, 0.5, -0.2], 1e-5);
    close(&pin(&ease, 3, 1), &[0.4, 0.0, 0.4], 1e-5);
    close(&pin(&ease, 3, 2), &[-0.2, 0.5, 0.0], 1e-5);
    assert_eq!(ease.row(1).len(), 3);
    // Board b0 = {0, 1}: B[0] + B[1] = [0.4, 0.5, 0.2]; b1 = {1, 2}: [0.2, 0.5, 0.4].
    close(&board(&ease, 3, 0), &[0.4, 0.5, 0.2], 1e-5);
    close(&board(&ease, 3, 1), &[0.2, 0.5, 0.4], 1e-5);
    assert_eq!(board(&ease, 3, 2), vec![0.0; 3]);
}

#[test]
fn ease_weights_satisfy_the_optimality_conditions() {
    // B = I − P·diag(1/diag P) means (XᵀX + λI)(I − B) = diag(1/diag P): zero off the diagonal,
    // positive on it. Checked with G built here from the edges, in f64.
    let (np, nb, lambda) = (150u32, 120u32, 5.0f32);
    let g = random_graph(np, nb, 1500, 11);
    let ease = Ease::fit(&g, lambda, BIG).expect("fits");
    let n = np as usize;
    let mut gm = vec![vec![0.0f64; n]; n];
    for b in 0..nb {
        for &i in g.pins_of(b) {
            for &j in g.pins_of(b) {
                gm[i as usize][j as usize] += 1.0;
            }
        }
    }
    (0..n).for_each(|i| gm[i][i] += lambda as f64);
    let bm: Vec<Vec<f64>> = (0..np).map(|q| pin(&ease, n, q).iter().map(|&v| v as f64).collect()).collect();
    assert!(bm.iter().all(|r| r.len() == n));
    let scale = gm.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let mut off_max = 0.0f64;
    for (i, gi) in gm.iter().enumerate() {
        assert_eq!(bm[i][i], 0.0);
        for j in 0..n {
            let v: f64 = gi.iter().zip(&bm).enumerate().map(|(k, (g, bk))| g * (f64::from(k == j) - bk[j])).sum();
            if i == j {
                assert!(v > 0.0, "diagonal {i}: {v}");
            } else {
                off_max = off_max.max(v.abs());
            }
        }
    }
    assert!(off_max < 1e-3 * scale, "off-diagonal residual {off_max} (scale {scale})");
    // And B is not trivially zero on this graph.
    assert!(bm.iter().flatten().any(|v| v.abs() > 0.05));
}

#[test]
fn ease_too_large_names_need_and_budget() {
    let g = Graph::from_edges(2000, 3, &[(0, 0), (0, 1), (2, 5)], &[]);
    let budget = 1024 * 1024; // 1 MiB
    let err = Ease::fit(&g, 100.0, budget).expect_err("2000² floats do not fit in 1 MiB");
    let BaselineError::TooLarge { pins, need_bytes, budget_bytes } = err.clone() else {
        panic!("expected TooLarge, got {err:?}");
    };
    assert_eq!((pins, budget_bytes), (2000, budget));
    // At least the two dense 2000 × 2000 f32 matrices: 32,000,000 bytes = 30.5 MiB.
    assert!(need_bytes >= 32_000_000 && need_bytes >= ease_bytes(2000), "{need_bytes}");
    assert!(ease_bytes(2000) >= 32_000_000 && ease_bytes(4000) >= 4 * 32_000_000);
    let msg = err.to_string();
    assert!(msg.contains(&format!("{:.1} MiB", need_bytes as f64 / 1048576.0)), "{msg}");
    assert!(msg.contains("1.0 MiB"), "{msg}");
    assert!(msg.contains("2000 pins"), "{msg}");
    // fit_ease_best refuses the same way, before calling the score function.
    let r = fit_ease_best(&g, EASE_LAMBDAS, budget, |_| panic!("must not fit"));
    assert!(matches!(r, Err(BaselineError::TooLarge { pins: 2000, .. })), "{r:?}");
    // With one λ it needs no held best matrix; with several it needs one more n² (16 MB).
    let one = fit_ease_best(&g, &[100.0], budget, |_| 0.0).expect_err("too large");
    let many = fit_ease_best(&g, &[100.0, 200.0], budget, |_| 0.0).expect_err("too large");
    match (one, many) {
        (BaselineError::TooLarge { need_bytes: a, .. }, BaselineError::TooLarge { need_bytes: b, .. }) => {
            assert_eq!(b - a, 2000 * 2000 * 4)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ease_rejects_bad_lambdas() {
    let g = tiny();
    assert_eq!(Ease::fit(&g, 0.0, BIG).err(), Some(BaselineError::BadLambda(0.0)));
    assert!(matches!(Ease::fit(&g, f32::NAN, BIG), Err(BaselineError::BadLambda(_))));
    assert_eq!(fit_ease_best(&g, &[], BIG, |_| 0.0).err(), Some(BaselineError::NoLambdas));
    assert_eq!(fit_ease_best(&g, &[10.0, -1.0], BIG, |_| 0.0).err(), Some(BaselineError::BadLambda(-1.0)));
}

#[test]
fn fit_ease_best_picks_the_lambda_the_score_prefers() {
    // Two pins as above: XᵀX = [[2, 1], [1, 1]], so B01 = 1/(2 + λ): 1/3, 1/4, 1/8 for λ = 1, 2, 6.
    let g = Graph::from_edges(2, 2, &[(0, 0), (0, 1), (1, 0)], &[]);
    let b01 = |e: &Ease| {
        let mut out = [0.0f32; 2];
        e.pin_scores(0, &mut out);
        out[1] as f64
    };
    // A score peaked at B01 = 1/4, i.e. λ = 2 (the middle of the grid, not an end).
    let (best, lambda, all) = fit_ease_best(&g, &[1.0, 2.0, 6.0], BIG, |e| -(b01(e) - 0.25).powi(2)).expect("fits");
    assert_eq!(lambda, 2.0);
    assert_eq!(best.lambda(), 2.0);
    assert!((b01(&best) - 0.25).abs() < 1e-6);
    let want = [(1.0, -(1.0f64 / 3.0 - 0.25).powi(2)), (2.0, 0.0), (6.0, -(0.125f64 - 0.25).powi(2))];
    assert_eq!(all.len(), 3);
    for ((l, s), (wl, ws)) in all.iter().zip(want) {
        assert_eq!(*l, wl);
        assert!((s - ws).abs() < 1e-6, "λ {l}: {s} vs {ws}");
    }
    // Preferring large B01 picks the smallest λ; a NaN score never wins.
    let (_, small, _) = fit_ease_best(&g, &[6.0, 1.0, 2.0], BIG, b01).expect("fits");
    assert_eq!(small, 1.0);
    let (_, not_nan, _) =
        fit_ease_best(&g, &[1.0, 6.0], BIG, |e| if e.lambda() == 1.0 { f64::NAN } else { 0.0 }).expect("fits");
    assert_eq!(not_nan, 6.0);
}

/// `evaluate_baselines` (what `eval --baselines` prints and the Results view draws): MostPopular
/// by hand, the others equal to their scorers run through the same protocol.
#[test]
fn evaluate_baselines_reports_each_baseline_on_the_test_split() {
    use pinsage_explorer::baselines::{DEFAULT_EASE_LAMBDA, evaluate_baselines};
    use pinsage_explorer::eval::{HIT_K, MAX_PIN_PAIRS, evaluate_on};
    use pinsage_explorer::graph::Split;
    // Board 0 = {0, 1} with test pin 4; board 1 = {0, 2, 3}; board 2 = {3, 4}.
    let g = Graph::from_edges(5, 3, &[(0, 0), (0, 1), (1, 0), (1, 2), (1, 3), (2, 3), (2, 4)], &[(0, 4)]);
    let rows = evaluate_baselines(&g, 7, EASE_LAMBDAS, BIG);
    let keys: Vec<&str> = rows.iter().map(|r| r.key).collect();
    assert_eq!(keys, ["mostpop", "itemknn", "ease"], "no features, no visual-only row");
    let titles: Vec<&str> = rows.iter().map(|r| r.title()).collect();
    assert_eq!(titles, ["MostPopular", "ItemKNN", "EASE^R"]);
    // MostPopular for board 0 (pins 0, 1 masked): degrees p3 = 2, p2 = 1, p4 = 1 → [3, 2, 4];
    // the test pin at rank 3: recall 1, ndcg 1/log2(4) = 0.5.
    let pop = rows[0].metrics.as_ref().unwrap();
    assert_eq!((pop.recall_at_20, pop.boards_evaluated), (1.0, 1));
    assert!((pop.ndcg_at_20 - 0.5).abs() < 1e-12, "{}", pop.ndcg_at_20);
    let knn = evaluate_on(&g, &ItemKnn::new(&g), HIT_K, MAX_PIN_PAIRS, 7, Split::Test);
    assert_eq!(rows[1].metrics.as_ref(), Some(&knn));
    // No validation split: EASE^R with the default λ, and the note says so.
    let ease = Ease::fit(&g, DEFAULT_EASE_LAMBDA, BIG).unwrap();
    assert_eq!(rows[2].metrics.as_ref(), Some(&evaluate_on(&g, &ease, HIT_K, MAX_PIN_PAIRS, 7, Split::Test)));
    assert_eq!(rows[2].lambda, Some(DEFAULT_EASE_LAMBDA));
    assert!(rows[2].note.as_deref().unwrap().contains("no validation split"));
    // Over the memory budget: EASE^R is skipped with the reason, the others still run.
    let rows = evaluate_baselines(&g, 7, EASE_LAMBDAS, 16);
    assert!(rows[0].metrics.is_some() && rows[1].metrics.is_some());
    assert_eq!(rows[2].metrics, None);
    assert!(rows[2].note.as_deref().unwrap().contains("memory budget"), "{:?}", rows[2].note);
}
