//! The approximate nearest-neighbour index: recall against exact search, identical lists for
//! almost every query on a small set, save/load round trip, errors for a missing, corrupt,
//! truncated, foreign or stale index file, recommendations that leave out known pins, and the CLI.

use pinsage_explorer::ann::{AnnConfig, AnnError, AnnIndex, recall};
use pinsage_explorer::eval::EmbeddingScorer;
use pinsage_explorer::infer::Embeddings;
use pinsage_explorer::recommend::{Query, recommend};
use pinsage_explorer::scale::{exact_top_k, random_unit_vectors};

const DIM: usize = 32;

fn exact_and_approx(index: &AnnIndex, vectors: &[f32], queries: &[f32], k: usize) -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let exact = queries.chunks(DIM).map(|q| exact_top_k(vectors, DIM, q, k)).collect();
    let approx =
        queries.chunks(DIM).map(|q| index.search(q, k).unwrap().into_iter().map(|(p, _)| p).collect()).collect();
    (exact, approx)
}

#[test]
fn ann_top_k_matches_exact_for_almost_all_queries() {
    let vectors = random_unit_vectors(20_000, DIM, 1);
    let queries = random_unit_vectors(300, DIM, 2);
    let index = AnnIndex::build(&vectors, DIM, &AnnConfig::default()).expect("builds");
    assert_eq!((index.n, index.dim), (20_000, DIM));
    let (exact, approx) = exact_and_approx(&index, &vectors, &queries, 20);
    let r = recall(&approx, &exact);
    assert!(r >= 0.98, "recall@20 {r:.4}");
    let same = exact.iter().zip(&approx).filter(|(e, a)| e == a).count();
    assert!(same as f64 >= 0.8 * exact.len() as f64, "identical top-20 lists: {same} of {}", exact.len());
    // Scores are the dot products, best first.
    let q = &queries[..DIM];
    let found = index.search(q, 5).unwrap();
    for w in found.windows(2) {
        assert!(w[0].1 >= w[1].1 - 1e-6);
    }
    let (p, s) = found[0];
    let dot: f32 = vectors[p as usize * DIM..(p as usize + 1) * DIM].iter().zip(q).map(|(a, b)| a * b).sum();
    assert!((s - dot).abs() < 1e-4, "{s} vs {dot}");
    // A smaller candidate list loses recall: the setting matters.
    index.set_expansion_search(4);
    let (_, worse) = exact_and_approx(&index, &vectors, &queries, 20);
    assert!(recall(&worse, &exact) < r, "expansion 4 should find fewer");
}

#[test]
fn save_load_round_trip_and_bad_files_are_errors() {
    let vectors = random_unit_vectors(3_000, DIM, 3);
    let queries = random_unit_vectors(50, DIM, 4);
    let cfg = AnnConfig::default();
    let index = AnnIndex::build(&vectors, DIM, &cfg).expect("builds");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/pins.ann");
    index.save(&path).expect("saves into a new folder");
    let back = AnnIndex::load(&path, &cfg).expect("loads");
    assert_eq!((back.n, back.dim, back.fingerprint), (index.n, index.dim, index.fingerprint));
    for q in queries.chunks(DIM) {
        assert_eq!(index.search(q, 10).unwrap(), back.search(q, 10).unwrap());
    }

    let missing = AnnIndex::load(&dir.path().join("nope.ann"), &cfg).unwrap_err();
    assert!(matches!(missing, AnnError::Io { .. }) && missing.to_string().contains("nope.ann"), "{missing}");

    let bytes = std::fs::read(&path).unwrap();
    let write = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    let mut flipped = bytes.clone();
    let mid = bytes.len() / 2;
    flipped[mid] ^= 0x5A;
    for (name, b, needle) in [
        ("flipped.ann", flipped, "corrupt"),
        ("short.ann", bytes[..bytes.len() - 100].to_vec(), "truncated"),
        ("foreign.ann", b"this is not an index at all, just some text of a reasonable length".to_vec(), "bad header"),
        ("empty.ann", Vec::new(), "bad header"),
    ] {
        let p = write(name, &b);
        let e = AnnIndex::load(&p, &cfg).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains(needle), "{name}: {e}");
    }

    // An index of other embeddings is refused as stale.
    let other = Embeddings { dim: DIM, n_pins: 3_000, data: random_unit_vectors(3_000, DIM, 9) };
    let e = back.check_matches(&other, &path).unwrap_err().to_string();
    assert!(e.contains("stale") && e.contains("pins.ann"), "{e}");
    let same = Embeddings { dim: DIM, n_pins: 3_000, data: vectors.clone() };
    back.check_matches(&same, &path).expect("built from these");
}

#[test]
fn index_recommendations_leave_out_known_pins_and_match_exact() {
    let g = pinsage_explorer::powerlaw::generate(&pinsage_explorer::powerlaw::PowerLawConfig {
        pins: 4_000,
        boards: 1_500,
        ..pinsage_explorer::powerlaw::PowerLawConfig::with_edges(40_000)
    })
    .unwrap();
    let n_nodes = (g.n_pins() + g.n_boards()) as usize;
    let emb = Embeddings { dim: DIM, n_pins: g.n_pins() as usize, data: random_unit_vectors(n_nodes, DIM, 5) };
    let index = AnnIndex::build(emb.pins(), DIM, &AnnConfig::default()).unwrap();
    let (mut hits, mut total) = (0, 0);
    for b in (0..g.n_boards()).step_by(15) {
        let approx = index.recommend(&g, &emb, Query::Board(b), 20).unwrap();
        let exact = recommend(&g, &EmbeddingScorer { emb: &emb }, Query::Board(b), 20);
        assert_eq!(approx.excluded, exact.excluded);
        assert_eq!(approx.items.len(), 20);
        assert!(approx.items.iter().all(|(p, _)| !g.pins_of(b).contains(p)), "known pins left out");
        hits += exact.items.iter().filter(|e| approx.items.iter().any(|a| a.0 == e.0)).count();
        total += exact.items.len();
    }
    assert!(hits as f64 >= 0.98 * total as f64, "{hits} of {total}");
    let r = index.recommend(&g, &emb, Query::Pin(7), 10).unwrap();
    assert!(r.items.iter().all(|(p, _)| *p != 7) && r.items.len() == 10);
}

fn pinsage(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pinsage")).args(args).output().expect("runs pinsage")
}

#[test]
fn cli_index_then_recommend_and_embed_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    let out = pinsage(&["train", "--data", "default", "--device", "cpu", "--epochs", "1", "--out", run_s, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rec = |search: &str| {
        pinsage(&[
            "recommend",
            "--run",
            run_s,
            "--device",
            "cpu",
            "--pin",
            "3",
            "-k",
            "10",
            "--search",
            search,
            "--json",
        ])
    };
    // No index yet: --search ann builds one in memory and says so.
    let out = rec("ann");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("building one in memory"));

    let out = pinsage(&["index", "--run", run_s, "--device", "cpu"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(run.join("pins.ann").is_file());
    let pins = |o: &std::process::Output| -> Vec<u64> {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["recommendations"].as_array().unwrap().iter().map(|r| r["pin"].as_u64().unwrap()).collect()
    };
    let (ann, exact) = (rec("ann"), rec("exact"));
    assert!(ann.status.success() && exact.status.success(), "{}", String::from_utf8_lossy(&ann.stderr));
    assert_eq!(pins(&ann), pins(&exact), "600 pins: the index finds the exact list");
    assert!(!String::from_utf8_lossy(&ann.stderr).contains("building"), "the saved index is used");

    let npy = dir.path().join("e.npy");
    let out = pinsage(&["embed", "--run", run_s, "--device", "cpu", "--out", npy.to_str().unwrap(), "--search", "ann"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(npy.with_file_name("neighbours.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 600 * 20, "a header, then a line per pin and neighbour");

    // A corrupt index: --search ann fails naming it; the default (600 pins: exact) never reads it.
    let mut bytes = std::fs::read(run.join("pins.ann")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(run.join("pins.ann"), &bytes).unwrap();
    let out = rec("ann");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("pins.ann") && err.contains("corrupt"), "{err}");
    assert!(rec("auto").status.success());
}
