//! Graph construction and the loaders, including every kind of bad input.

use pinsage_explorer::graph::Graph;
use pinsage_explorer::load::{Format, LoadError, load_data, load_path};
use pinsage_explorer::synthetic::{SyntheticConfig, generate};

use crate::common::{gowalla_dir, temp_file};

#[test]
fn csr_merges_duplicates_and_agrees_both_ways() {
    let g = Graph::from_edges(3, 2, &[(0, 2), (0, 1), (0, 2), (1, 1), (1, 1)], &[(1, 0)]);
    assert_eq!(g.n_edges(), 3);
    assert_eq!(g.pins_of(0), &[1, 2]);
    assert_eq!(g.pins_of(1), &[1]);
    assert_eq!(g.boards_of(1), &[0, 1]);
    assert_eq!(g.boards_of(2), &[0]);
    assert!(g.boards_of(0).is_empty());
    assert_eq!(g.test_pins_of(1), &[0]);
    assert_eq!(g.stats().pin_degree.isolated, 1);
}

#[test]
fn gowalla_loads_with_published_counts_in_compact_memory() {
    let Some(dir) = gowalla_dir() else { return };
    let g = load_path(&dir, Format::Auto).expect("gowalla loads");
    let s = g.stats();
    assert_eq!((s.boards, s.pins, s.edges, s.test_edges), (29_858, 40_981, 810_128, 217_242));
    assert!(s.bytes_per_edge <= 12.0, "{} bytes per edge", s.bytes_per_edge);
    // Every board's train and test pins are disjoint in this split.
    for b in 0..g.n_boards() {
        let train = g.pins_of(b);
        assert!(g.test_pins_of(b).iter().all(|p| train.binary_search(p).is_err()));
    }
    // A direct train.txt path finds test.txt beside it.
    let g2 = load_path(&dir.join("train.txt"), Format::Auto).expect("train.txt loads");
    assert_eq!(g2.n_test_edges(), 217_242);
}

#[test]
fn edge_list_with_header_string_ids_and_weights() {
    let (_d, p) = temp_file(
        "e.csv",
        b"pin,board,weight\nlamp,living,1\nsofa,living,2\nlamp,office,0.5\nrug,office,0\nsofa,living,1\n",
    );
    let g = load_path(&p, Format::Auto).expect("loads");
    assert_eq!(
        (g.n_pins(), g.n_boards(), g.n_edges()),
        (2, 2, 3),
        "rug's only edge has weight 0; sofa-living is a duplicate"
    );
    let labels = g.pin_labels.as_ref().expect("labels");
    assert_eq!(labels, &["lamp", "sofa"]);
    assert_eq!(g.find_pins("SOF", 5), vec![1]);
    let (_d2, p2) = temp_file("e.tsv", b"1\t10\n2\t10\n2\t11\n");
    let g2 = load_path(&p2, Format::Auto).expect("tsv loads");
    assert_eq!((g2.n_pins(), g2.n_boards(), g2.n_edges()), (2, 2, 3));
}

#[test]
fn movielens_with_movies_gives_titles_features_and_categories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ratings.csv"),
        "userId,movieId,rating,timestamp\n1,10,5.0,0\n1,20,4.0,0\n2,10,4.5,0\n2,30,2.0,0\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("movies.csv"),
        "movieId,title,genres\n10,\"Toy Story (1995)\",Animation|Comedy\n20,Heat (1995),Action\n30,Bad (2000),Drama\n",
    )
    .unwrap();
    let g = load_path(dir.path(), Format::Auto).expect("movielens loads");
    assert_eq!((g.n_pins(), g.n_boards(), g.n_edges()), (2, 2, 3), "the 2.0 rating is not an edge");
    assert_eq!(g.pin_labels.as_ref().unwrap(), &["Toy Story (1995)", "Heat (1995)"]);
    let f = g.features.as_ref().expect("genre, decade and title features");
    // 3 genres (Animation, Comedy, Action), 11 decades (1920s…2020s), 32 hashed title-word buckets.
    assert_eq!(f.dim, 3 + 11 + 32);
    let row = f.row(0);
    let norm = |xs: &[f32]| xs.iter().map(|x| x * x).sum::<f32>();
    assert!((norm(&row[..3]) - 1.0).abs() < 1e-6, "genres: unit length");
    assert!(
        (row[0] - 0.5f32.sqrt()).abs() < 1e-6 && (row[1] - 0.5f32.sqrt()).abs() < 1e-6,
        "Animation and Comedy share the weight"
    );
    let decades = &row[3..14];
    assert_eq!(decades.iter().position(|&x| x == 1.0), Some(7), "1995 is the 1990s, the 8th decade from the 1920s");
    assert_eq!(decades.iter().sum::<f32>(), 1.0);
    assert!((norm(&row[14..]) - 1.0).abs() < 1e-6, "title words (toy, story): unit length");
    assert_eq!(f.row(1)[3 + 7], 1.0, "Heat (1995) is in the 1990s too");
    let c = g.categories.as_ref().unwrap();
    assert_eq!(c.names[c.of_pin[1] as usize], "Action");
}

/// Asserts that loading `contents` fails with a message naming the file, the line and the problem.
fn assert_bad(name: &str, contents: &[u8], line: Option<usize>, problem: &str) {
    let (_d, p) = temp_file(name, contents);
    let err = load_path(&p, Format::Auto).expect_err("bad input must fail");
    let msg = err.to_string();
    assert!(msg.contains(name), "message names the file: {msg}");
    if let Some(line) = line {
        assert!(matches!(err, LoadError::Line { line: l, .. } if l == line), "line {line}: {msg}");
        assert!(msg.contains(&format!(":{line}:")), "{msg}");
    }
    assert!(msg.contains(problem), "message says `{problem}`: {msg}");
}

#[test]
fn bad_input_is_an_error_naming_file_line_and_problem() {
    assert_bad("empty.txt", b"", None, "empty");
    assert_bad("blank.txt", b"\n \n", None, "empty");
    assert_bad("garbage.txt", b"0 1 2\n\x00\x01\x02\xff\xfe", Some(2), "binary");
    assert_bad("overflow.txt", b"0 1 2\n1 4294967296\n", Some(2), "does not fit in 32 bits");
    assert_bad("negative.txt", b"0 1\n1 -3\n", Some(2), "not a non-negative integer");
    assert_bad("words.txt", b"0 1\nboard pin\n", Some(2), "not a non-negative integer");
    assert_bad("latin1.txt", b"0 1\n0 2\n1 caf\xe9\n", Some(3), "UTF-8");
    assert_bad("ragged.csv", b"a,b\nc,d,1,9,7\n", Some(2), "expected 2 to 4");
    assert_bad("one.csv", b"a,b\nc\td\n", Some(2), "expected 2 to 4");
    assert_bad("weight.csv", b"a,b,1\nc,d,heavy\n", Some(2), "not a number");
    assert_bad("nan.csv", b"a,b,1\nc,d,NaN\n", Some(2), "not finite");
    assert_bad("quote.csv", b"a,b\n\"c,d\n", Some(2), "found 1");
    assert_bad("noedges.txt", b"0\n1\n", None, "no edges");
    let missing = load_data("/no/such/graph.txt", Format::Auto).expect_err("missing file");
    assert!(missing.to_string().contains("/no/such/graph.txt"), "{missing}");
    let dir = tempfile::tempdir().unwrap();
    let err = load_path(dir.path(), Format::Auto).expect_err("empty dir");
    assert!(err.to_string().contains("train.txt"), "{err}");
}

#[test]
fn synthetic_default_is_deterministic_small_and_graph_beats_colour() {
    let g = generate(&SyntheticConfig::default());
    let g2 = load_data("default", Format::Auto).unwrap();
    assert_eq!(g.board_pins(), g2.board_pins());
    assert_eq!(g.features, g2.features);
    assert!((300..=2000).contains(&g.n_pins()));
    assert!(g.n_test_edges() > 0);
    let other = generate(&SyntheticConfig { seed: 8, ..SyntheticConfig::default() });
    assert_ne!(g.board_pins(), other.board_pins());

    // The seed's point: the pin a board co-pins most is usually of the same topic; the nearest pin by
    // colour is often not.
    let cats = &g.categories.as_ref().unwrap().of_pin;
    let f = g.features.as_ref().unwrap();
    let (mut graph_right, mut colour_right, mut n) = (0, 0, 0);
    for p in 0..g.n_pins() {
        let mut co = std::collections::HashMap::new();
        for &b in g.boards_of(p) {
            for &q in g.pins_of(b) {
                if q != p {
                    *co.entry(q).or_insert(0) += 1;
                }
            }
        }
        let Some((&best, _)) = co.iter().max_by_key(|(q, c)| (**c, std::cmp::Reverse(**q))) else { continue };
        let nearest = (0..g.n_pins())
            .filter(|&q| q != p)
            .min_by(|&a, &b| {
                let d = |q: u32| f.row(p).iter().zip(f.row(q)).map(|(x, y)| (x - y) * (x - y)).sum::<f32>();
                d(a).total_cmp(&d(b))
            })
            .unwrap();
        n += 1;
        graph_right += (cats[best as usize] == cats[p as usize]) as u32;
        colour_right += (cats[nearest as usize] == cats[p as usize]) as u32;
    }
    let (graph_acc, colour_acc) = (graph_right as f64 / n as f64, colour_right as f64 / n as f64);
    assert!(graph_acc > 0.75, "graph neighbours share the topic: {graph_acc}");
    assert!(colour_acc < graph_acc - 0.2, "colour neighbours are often wrong: {colour_acc} vs {graph_acc}");
}

#[test]
fn synthetic_scales_to_a_million_edges() {
    let cfg = SyntheticConfig { pins: 100_000, boards: 40_000, pins_per_board: 30, ..SyntheticConfig::default() };
    let g = generate(&cfg);
    assert!(g.n_edges() + g.n_test_edges() > 1_000_000, "{}", g.n_edges());
    assert!(g.stats().bytes_per_edge <= 12.0);
}

#[test]
fn synthetic_spec_adjusts_the_generator_and_rejects_bad_parameters() {
    let g = load_data("synthetic:pins=900,boards=300,topics=6,seed=3", Format::Auto).expect("loads");
    assert_eq!((g.n_pins(), g.n_boards()), (900, 300));
    assert_eq!(g.categories.as_ref().unwrap().names.len(), 6);
    for (spec, problem) in [
        ("synthetic:pins=many", "not a whole number"),
        ("synthetic:noise=2", "[0, 1]"),
        ("synthetic:colour", "key=value"),
        ("synthetic:size=3", "unknown parameter"),
    ] {
        let e = load_data(spec, Format::Auto).expect_err(spec).to_string();
        assert!(e.contains(problem) && e.contains("synthetic:"), "{spec}: {e}");
    }
}

#[test]
fn the_example_edge_list_in_assets_loads_with_labels() {
    let g = load_path(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/example_edges.csv"), Format::Auto)
        .expect("loads");
    assert_eq!((g.n_boards(), g.n_edges()), (6, 20));
    let lamp = g.find_pins("arc floor lamp", 1)[0];
    assert_eq!(g.boards_of(lamp).len(), 3, "the lamp is on three boards");
}
