//! Random walks, their neighbourhoods, and the exact quantities they estimate.

use pinsage_explorer::synthetic::{SyntheticConfig, generate};
use pinsage_explorer::walk::*;

use crate::common::tiny;

#[test]
fn one_step_visits_match_hand_computation() {
    // From pin 0: board 0 = {0,1} w.p. 1/2, board 1 = {0,2,3} w.p. 1/2.
    // P(1) = 1/4, P(2) = P(3) = 1/6, P(0) = 5/12 (excluded). Normalised: 3/7, 2/7, 2/7.
    let g = tiny();
    let e = expected_visits(&g, 0, 1, 0.0);
    let want = [0.0, 3.0 / 7.0, 2.0 / 7.0, 2.0 / 7.0, 0.0];
    assert!(l1(&e, &want) < 1e-12, "{e:?}");
    // Sampled: 20,000 one-step walks land within a few standard errors.
    let cfg = WalkConfig { walks: 20_000, length: 1, top_k: 4, restart: 0.0, seed: 3 };
    let est = normalise(&visit_counts(&g, 0, &cfg));
    for p in 1..4 {
        let sd = (want[p] * (1.0 - want[p]) / (20_000.0 * 7.0 / 12.0)).sqrt();
        assert!((est[p] - want[p]).abs() < 5.0 * sd, "pin {p}: {} vs {}", est[p], want[p]);
    }
    assert_eq!(est[4], 0.0, "pin 4 is two steps away");
}

#[test]
fn visit_counts_converge_to_the_exact_distribution_as_walks_grow() {
    let g = generate(&SyntheticConfig::default());
    let start = 5;
    let exact = expected_visits(&g, start, 20, 0.3);
    let err = |t: u32| -> f64 {
        // Average over a few seeds to smooth the comparison.
        (0..4)
            .map(|s| {
                let cfg = WalkConfig { walks: t, length: 20, top_k: 25, restart: 0.3, seed: s };
                l1(&normalise(&visit_counts(&g, start, &cfg)), &exact)
            })
            .sum::<f64>()
            / 4.0
    };
    let (e10, e100, e10k) = (err(10), err(100), err(10_000));
    // Monte Carlo error shrinks like 1/sqrt(T): ×1000 walks → error ÷ ~31.
    assert!(e100 < e10, "{e100} < {e10}");
    assert!(e10k < e10 / 10.0, "{e10k} vs {e10}");
    assert!(e10k < 0.1, "{e10k}");
    // With a long walk the finite-length distribution approaches the stationary PPR.
    let ppr = personalized_pagerank(&g, start, 0.3, 1e-12);
    let long = expected_visits(&g, start, 2000, 0.3);
    assert!(l1(&long, &ppr) < 0.01, "{}", l1(&long, &ppr));
    let short = expected_visits(&g, start, 5, 0.3);
    assert!(l1(&short, &ppr) > l1(&long, &ppr));
}

#[test]
fn neighbourhoods_are_top_k_by_count_with_normalised_weights() {
    let g = generate(&SyntheticConfig::default());
    let cfg = WalkConfig::default();
    let (nb, steps) = all_neighbourhoods(&g, &cfg);
    assert_eq!(nb.len(), g.n_pins() as usize);
    assert!(steps > 0);
    for p in [0u32, 17, 300] {
        let (ids, w, c) = nb.of(p as usize);
        assert_eq!(ids.len(), cfg.top_k.min(ids.len()));
        assert!(!ids.contains(&p), "start excluded");
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(c.windows(2).all(|x| x[0] >= x[1]), "sorted by count");
        // Same as counting by hand.
        let counts = visit_counts(&g, p, &cfg);
        let want = top_k_of_counts(&counts, cfg.top_k);
        let got: Vec<(u32, u32)> = ids.iter().copied().zip(c.iter().copied()).collect();
        assert_eq!(got, want);
    }
}

#[test]
fn results_do_not_depend_on_thread_count_or_lock_step() {
    let g = generate(&SyntheticConfig::default());
    let cfg = WalkConfig { seed: 11, ..WalkConfig::default() };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let a = one.install(|| all_neighbourhoods(&g, &cfg).0);
    let b = three.install(|| all_neighbourhoods(&g, &cfg).0);
    assert_eq!(a, b);
    // The animation, one step at a time, ends with exactly the sampler's counts and top-K.
    let start = 42;
    let mut anim = WalkAnimation::new(&g, start, cfg.clone());
    let mut n = 0;
    while let Some(ev) = anim.advance(&g) {
        assert!(g.pins_of(ev.board).contains(&ev.pin) && g.boards_of(ev.from).contains(&ev.board));
        n += 1;
    }
    assert_eq!(n, cfg.walks * cfg.length);
    assert_eq!(anim.counts, visit_counts(&g, start, &cfg));
    let (ids, _, _) = a.of(start as usize);
    let anim_ids: Vec<u32> = anim.top_k().iter().map(|x| x.0).collect();
    assert_eq!(anim_ids, ids);
    // A different seed gives different walks.
    let c = all_neighbourhoods(&g, &WalkConfig { seed: 12, ..cfg.clone() }).0;
    assert_ne!(a, c);
}

#[test]
fn uniform_sampler_draws_distinct_two_hop_pins_with_equal_weights() {
    let g = tiny();
    let nb = uniform_neighbourhoods(&g, &[0, 4], 3, 1);
    let (ids, w, _) = nb.of(0);
    let mut sorted = ids.to_vec();
    sorted.sort();
    assert_eq!(sorted, vec![1, 2, 3], "all of pin 0's two-hop pins");
    assert!(w.iter().all(|&x| (x - 1.0 / 3.0).abs() < 1e-6));
    let (ids4, w4, _) = nb.of(1);
    assert_eq!(ids4, &[3]);
    assert_eq!(w4, &[1.0]);
}

#[test]
fn invalid_walk_parameters_name_the_field() {
    let bad = WalkConfig { restart: 1.0, ..WalkConfig::default() };
    assert_eq!(bad.validate().unwrap_err().field, "restart");
    let bad = WalkConfig { walks: 0, ..WalkConfig::default() };
    assert_eq!(bad.validate().unwrap_err().field, "walks");
}

#[test]
fn walks_skip_pins_without_boards_and_match_walking_each_pin_alone() {
    // Pins 3, 5 and 9 have no boards; they sit between walked pins in the same groups of starts.
    let mut train = Vec::new();
    for b in 0..6u32 {
        for p in 0..12u32 {
            if ![3, 5, 9].contains(&p) && (p + b) % 3 != 0 {
                train.push((b, p));
            }
        }
    }
    let g = pinsage_explorer::graph::Graph::from_edges(12, 6, &train, &[]);
    let cfg = WalkConfig { walks: 7, length: 9, top_k: 4, ..WalkConfig::default() };
    let (nb, steps) = all_neighbourhoods(&g, &cfg);
    assert_eq!(steps, 9 * 7 * 9, "only the 9 pins with boards walk");
    for p in 0..12u32 {
        let (ids, w, c) = nb.of(p as usize);
        if [3, 5, 9].contains(&p) {
            assert!(ids.is_empty() && w.is_empty() && c.is_empty());
            continue;
        }
        let want = top_k_of_counts(&visit_counts(&g, p, &cfg), cfg.top_k);
        let got: Vec<(u32, u32)> = ids.iter().copied().zip(c.iter().copied()).collect();
        assert_eq!(got, want, "pin {p}");
        assert!(ids.iter().all(|&q| ![3, 5, 9].contains(&q)), "pins without boards are never reached");
    }
}

#[test]
fn huge_page_advice_keeps_the_contents_and_skips_small_arrays() {
    let small = vec![7u32; 1000];
    assert!(!pinsage_explorer::huge_pages::advise(&small));
    let big: Vec<u32> = (0..5_000_000u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    pinsage_explorer::huge_pages::advise(&big);
    assert!(big.iter().enumerate().all(|(i, &v)| v == (i as u32).wrapping_mul(2_654_435_761)));
    // What `bench walks` reports beside its rates: the kernel's mode and the bytes granted.
    if std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
        let mode = pinsage_explorer::huge_pages::mode().expect("the mode is read");
        assert!(["always", "madvise", "never"].contains(&mode.as_str()), "{mode}");
    }
    if std::path::Path::new("/proc/self/smaps_rollup").exists() {
        assert!(pinsage_explorer::huge_pages::process_bytes().is_some());
    }
}
