//! Held-out splits, pin-feature files, sparse ids and cold-start pins: the data a user brings.

use std::sync::Arc;

use pinsage_explorer::features::load_pin_features;
use pinsage_explorer::graph::{Features, Graph, Split};
use pinsage_explorer::load::{Format, load_path, load_split};
use pinsage_explorer::split::{HoldoutBy, SplitConfig, SplitError, apply, held_out_count};
use pinsage_explorer::synthetic::{SyntheticConfig, generate};

use crate::common::temp_file;

/// An edge list of 40 boards with 1…40 pins each (board b holds pins 0..=b), with timestamps
/// that make pin p of every board happen at time 1000 − p (so the lowest pins are the latest).
fn timed_edges() -> String {
    let mut s = String::from("pin,board,weight,timestamp\n");
    for b in 0..40 {
        for p in 0..=b {
            s.push_str(&format!("p{p},b{b},1,{}\n", 1000 - p));
        }
    }
    s
}

fn all_edges(g: &Graph, csr: &pinsage_explorer::graph::Csr) -> Vec<(u32, u32)> {
    (0..g.n_boards()).flat_map(|b| csr.row(b).iter().map(move |&p| (b, p))).collect()
}

#[test]
fn random_holdout_is_per_board_disjoint_and_seeded() {
    let (_d, path) = temp_file("edges.csv", timed_edges().as_bytes());
    let raw = load_path(&path, Format::Auto).unwrap();
    assert_eq!(raw.n_test_edges(), 0, "an edge list has no test edges of its own");
    let cfg = SplitConfig { holdout: 0.2, validation: 0.1, seed: 5, ..SplitConfig::default() };
    let g = load_split(path.to_str().unwrap(), Format::Auto, &cfg).unwrap();
    assert_eq!(
        g.n_edges() + g.n_test_edges() + g.n_validation_edges(),
        raw.n_edges(),
        "every edge lands in exactly one split"
    );
    for b in 0..g.n_boards() {
        let n = raw.pins_of(b).len();
        let test = g.test_pins_of(b);
        let h = held_out_count(n, 0.2);
        assert_eq!(test.len(), h, "board {b}: round(0.2·{n}) test pins");
        assert_eq!(g.validation_pins_of(b).len(), held_out_count(n - h, 0.1), "board {b}: validation from what stays");
        if n < 2 {
            assert_eq!(g.pins_of(b).len(), n, "a board with one pin stays whole in train");
        }
        for p in test.iter().chain(g.validation_pins_of(b)) {
            assert!(g.pins_of(b).binary_search(p).is_err(), "board {b}: held-out pin {p} is not a training pin");
        }
        assert!(test.iter().all(|p| g.validation_pins_of(b).binary_search(p).is_err()));
    }
    // Hand-checked counts: 40 pins → 8 test; the 32 left → 3 validation; 2 pins → 1 test, 0 validation.
    assert_eq!(
        (held_out_count(40, 0.2), held_out_count(32, 0.1), held_out_count(2, 0.2), held_out_count(1, 0.2)),
        (8, 3, 1, 0)
    );
    let again = load_split(path.to_str().unwrap(), Format::Auto, &cfg).unwrap();
    assert_eq!(all_edges(&g, g.test()), all_edges(&again, again.test()), "same seed, same split");
    let other = load_split(path.to_str().unwrap(), Format::Auto, &SplitConfig { seed: 6, ..cfg }).unwrap();
    assert_ne!(all_edges(&g, g.test()), all_edges(&other, other.test()), "another seed, another split");
}

#[test]
fn time_holdout_takes_each_boards_latest_pins() {
    let (_d, path) = temp_file("edges.csv", timed_edges().as_bytes());
    let cfg = SplitConfig { holdout: 0.25, holdout_by: HoldoutBy::Time, validation: 0.2, seed: 1 };
    let g = load_split(path.to_str().unwrap(), Format::Auto, &cfg).unwrap();
    let raw = load_path(&path, Format::Auto).unwrap();
    let times = g.edge_times.as_ref().expect("times kept for the training edges");
    assert_eq!(times.len(), g.n_edges());
    for b in 0..g.n_boards() {
        // Pin p happened at 1000 − p: the latest are the pins with the lowest numbers ("p0", "p1", …).
        let label_no = |p: &u32| g.pin_label(*p)[1..].parse::<u32>().unwrap();
        let range = |pins: &[u32]| {
            pins.iter()
                .map(label_no)
                .fold(None, |r: Option<(u32, u32)>, x| Some(r.map_or((x, x), |(lo, hi)| (lo.min(x), hi.max(x)))))
        };
        let (test, validation, train) = (range(g.test_pins_of(b)), range(g.validation_pins_of(b)), range(g.pins_of(b)));
        if let (Some(t), Some(v)) = (test, validation) {
            assert!(t.1 < v.0, "board {b}: every test pin is later than every validation pin");
        }
        if let (Some(v), Some(tr)) = (validation, train) {
            assert!(v.1 < tr.0, "board {b}: every validation pin is later than every training pin");
        }
        if let (Some(t), Some(tr)) = (test, train) {
            assert!(t.1 < tr.0, "board {b}: every test pin is later than every training pin");
        }
        assert_eq!(g.test_pins_of(b).len(), held_out_count(raw.pins_of(b).len(), 0.25));
    }
    // Timestamps of the training edges came along: pin p of a board happened at 1000 − p.
    for b in 0..g.n_boards() {
        let first = g.board_pins().offsets[b as usize] as usize;
        for (i, p) in g.pins_of(b).iter().enumerate() {
            assert_eq!(times[first + i], 1000 - g.pin_label(*p)[1..].parse::<i64>().unwrap());
        }
    }
}

#[test]
fn split_errors_name_the_problem() {
    let (_d, path) = temp_file("edges.csv", b"a,x\nb,x\nc,y\n");
    let g = load_path(&path, Format::Auto).unwrap();
    let e = apply(g.clone(), &SplitConfig { holdout_by: HoldoutBy::Time, ..SplitConfig::default() }).unwrap_err();
    assert!(
        matches!(e, SplitError::NoTimes { .. })
            && e.to_string().contains("edges.csv")
            && e.to_string().contains("timestamp"),
        "{e}"
    );
    let e = apply(g, &SplitConfig { holdout: 1.0, ..SplitConfig::default() }).unwrap_err();
    assert_eq!(e, SplitError::Fraction { field: "holdout", value: 1.0 });
}

#[test]
fn graphs_with_test_edges_keep_them_and_get_validation_from_train() {
    let raw = generate(&SyntheticConfig::default());
    let g = apply(raw.clone(), &SplitConfig::default()).unwrap();
    assert_eq!(all_edges(&raw, raw.test()), all_edges(&g, g.test()), "the data's own test edges stay as they are");
    assert_eq!(g.n_edges() + g.n_validation_edges(), raw.n_edges());
    assert!(
        g.n_validation_edges() > raw.n_edges() / 20,
        "about a tenth becomes validation: {}",
        g.n_validation_edges()
    );
    // Evaluations on the test split mask training and validation pins alike.
    let mut known = Vec::new();
    let b = (0..g.n_boards()).find(|&b| !g.validation_pins_of(b).is_empty()).unwrap();
    g.known_pins_of(b, Split::Test, &mut known);
    assert_eq!(known.len(), g.pins_of(b).len() + g.validation_pins_of(b).len());
    g.known_pins_of(b, Split::Validation, &mut known);
    assert_eq!(known, g.pins_of(b));
}

#[test]
fn sparse_lightgcn_ids_are_interned_not_allocated() {
    // A board id of four billion would size arrays of 16 GB if ids were used as indices.
    let (_d, path) = temp_file("train.txt", b"0 1 2\n4000000000 1 2\n7 2\n");
    let g = load_path(&path, Format::Lightgcn).expect("loads without allocating by the raw id");
    assert_eq!((g.n_boards(), g.n_pins(), g.n_edges()), (3, 3, 5));
    let labels = g.board_labels.as_ref().expect("the original ids become the labels");
    assert_eq!(labels, &["board 0", "board 7", "board 4000000000"]);
    assert_eq!(g.pins_of(2), &[1, 2], "board 4000000000 kept its pins");
    // Dense files keep their ids (Gowalla's 0..n) and get no labels.
    let (_d2, dense) = temp_file("train.txt", b"0 1 2\n1 0\n");
    assert!(load_path(&dense, Format::Lightgcn).unwrap().board_labels.is_none());
}

#[test]
fn pin_feature_files_load_by_row_or_by_id() {
    let (_d, path) = temp_file("edges.csv", b"pin,board\napple,x\npear,x\nfig,y\n");
    let g = load_path(&path, Format::Auto).unwrap();
    let (_f, csv) = temp_file("features.csv", b"pin,f1,f2\nfig,3,4\napple,1,2\n");
    let f = load_pin_features(&g, &csv).unwrap();
    assert_eq!(
        f,
        Features { dim: 2, data: vec![1.0, 2.0, 0.0, 0.0, 3.0, 4.0] },
        "rows by the file's own pin ids; pear has none"
    );
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("f.npy");
    write_npy(&npy, &[0.5, 1.5, 2.5], &[3, 1]);
    assert_eq!(load_pin_features(&g, &npy).unwrap(), Features { dim: 1, data: vec![0.5, 1.5, 2.5] });
}

fn write_npy(path: &std::path::Path, data: &[f32], shape: &[u64]) {
    use npyz::WriterBuilder;
    let f = std::fs::File::create(path).unwrap();
    let mut w = npyz::WriteOptions::new().default_dtype().shape(shape).writer(f).begin_nd().unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

#[test]
fn bad_feature_files_name_file_row_and_problem() {
    let (_d, path) = temp_file("edges.csv", b"apple,x\npear,x\nfig,y\n");
    let g = load_path(&path, Format::Auto).unwrap();
    for (contents, want) in [
        (&b"apple,1,2\npear,3\n"[..], ["features.csv:2:", "ragged"]),
        (b"apple,1,2\nplum,3,4\n", ["features.csv:2:", "unknown pin id `plum`"]),
        (b"apple,1,NaN\n", ["features.csv:1:", "not finite"]),
        (b"apple,1,2\npear,1,x\n", ["features.csv:2:", "`x` is not a number"]),
        (b"apple,1\napple,2\n", ["features.csv:2:", "twice"]),
    ] {
        let (_f, csv) = temp_file("features.csv", contents);
        let e = load_pin_features(&g, &csv).expect_err(std::str::from_utf8(contents).unwrap()).to_string();
        assert!(want.iter().all(|w| e.contains(w)), "{e} should name {want:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("f.npy");
    write_npy(&npy, &[1.0, 2.0], &[2, 1]);
    let e = load_pin_features(&g, &npy).unwrap_err().to_string();
    assert!(e.contains("f.npy") && e.contains("2 rows") && e.contains("3 pins"), "{e}");
    write_npy(&npy, &[1.0, f32::INFINITY, 2.0], &[3, 1]);
    let e = load_pin_features(&g, &npy).unwrap_err().to_string();
    assert!(e.contains("row 1") && e.contains("pear") && e.contains("not finite"), "{e}");
}

#[test]
fn cold_start_pins_are_embedded_through_their_features() {
    use pinsage_explorer::infer::embed_all;
    use pinsage_explorer::sampler::node_neighbourhoods;
    use pinsage_explorer::train::{self, DeviceChoice, RunOptions, TrainConfig};
    // Two topics: boards 0..6 hold pins of topic 0, boards 6..12 of topic 1. Pins 40..44 have
    // no training edges at all (new pins): 40 and 41 look like topic 0, 42 and 43 like topic 1.
    let n_pins = 44;
    let topic = |p: u32| if p < 20 || p == 40 || p == 41 { 0 } else { 1 };
    let mut edges = Vec::new();
    for b in 0..12u32 {
        for p in 0..40u32 {
            if topic(p) == (b / 6) && (p + b) % 3 != 0 {
                edges.push((b, p));
            }
        }
    }
    let mut g = Graph::from_edges(n_pins, 12, &edges, &[]);
    let data: Vec<f32> = (0..n_pins).flat_map(|p| if topic(p) == 0 { [1.0, 0.0] } else { [0.0, 1.0] }).collect();
    g.features = Some(Features { dim: 2, data });
    let g = Arc::new(g);
    let cfg = TrainConfig {
        id_embedding: false,
        epochs: 2,
        device: DeviceChoice::Cpu,
        input_dim: 8,
        hidden_dim: 8,
        batch_size: 32,
        negatives: 16,
        ..TrainConfig::paper()
    };
    let out = train::spawn(g.clone(), cfg.clone(), RunOptions::default()).join().expect("trains");
    let emb = out.embeddings.unwrap();
    for p in 40..44 {
        assert!(g.boards_of(p).is_empty());
        let norm: f32 = emb.row(p).iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "cold pin {p} has a unit embedding ({norm})");
    }
    assert!(emb.dot(40, 41) > 0.9999, "same features, same embedding: {}", emb.dot(40, 41));
    assert!(emb.dot(40, 42) < 0.9999, "other features, another embedding: {}", emb.dot(40, 42));
    // The same model embeds again what `pinsage embed` writes.
    let model = out.model.unwrap();
    let nb = node_neighbourhoods(&g, cfg.neighbourhood, &cfg.walk);
    let (dev, _, _) = train::select_device(DeviceChoice::Cpu);
    let again = embed_all(&model, &nb, g.features.as_ref(), &dev, 64, |_, _| {}).unwrap();
    assert!(again.row(42).iter().zip(emb.row(42)).all(|(a, b)| (a - b).abs() < 1e-5));
}
