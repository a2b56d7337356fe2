//! The embedding map's projections: t-SNE and UMAP keep neighbours together on clustered data
//! (a statistical check), also on the large-input path (approximate neighbours, FIt-SNE), cancel
//! stops them, only inputs above the cap are sampled, bad input is an error, and `pinsage embed
//! --project` writes `row,kind,id,label,x,y` for every node of a run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pinsage_explorer::embed_map::{
    MapControl, MapError, MapOptions, Method, knn, knn_approx, project, project_with, subsample,
};

/// `clusters` Gaussian blobs of `per` points in `dim` dimensions (centres far apart), seeded.
fn blobs(clusters: usize, per: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut uniform = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f32 / (1u64 << 53) as f32
    };
    let mut normal = move || {
        let (u1, u2) = (uniform().max(1e-9), uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    };
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| (0..dim).map(|_| 10.0 * normal()).collect()).collect();
    centres
        .iter()
        .flat_map(|c| (0..per).flat_map(|_| c.iter().map(|v| v + normal()).collect::<Vec<_>>()).collect::<Vec<_>>())
        .collect()
}

/// The mean share of each point's 10 nearest neighbours in the data that are among its 30
/// nearest in the map.
fn kept_neighbours(data: &[f32], dim: usize, points: &[[f32; 2]]) -> f64 {
    let ctl = MapControl::default();
    let high = knn(data, dim, 10, &ctl).unwrap();
    let flat: Vec<f32> = points.iter().flat_map(|p| [p[0], p[1]]).collect();
    let low = knn(&flat, 2, 30, &ctl).unwrap();
    let kept: usize =
        high.iter().zip(&low).map(|(h, l)| h.iter().filter(|(j, _)| l.iter().any(|(q, _)| q == j)).count()).sum();
    kept as f64 / (10 * high.len()) as f64
}

#[test]
fn tsne_keeps_neighbours_close_on_clustered_data() {
    keeps_neighbours(Method::Tsne);
}

/// (umap-rs's parallel Euclidean optimiser kept only about 15 % here; embed_map runs its generic
/// path, which this test guards.)
#[test]
fn umap_keeps_neighbours_close_on_clustered_data() {
    keeps_neighbours(Method::Umap);
}

fn keeps_neighbours(method: Method) {
    let dim = 16;
    let data = blobs(8, 60, dim, 7);
    {
        let map = project(&data, dim, method, 1, &MapControl::default()).expect("maps");
        assert_eq!(map.points.len(), 480);
        assert_eq!(map.mapped, 480);
        assert!(map.points.iter().all(|p| p[0].is_finite() && p[1].is_finite()), "{method:?}");
        let kept = kept_neighbours(&data, dim, &map.points);
        // A random layout keeps about 30 / 479 ≈ 6 % of them; a faithful one most.
        assert!(kept > 0.6, "{method:?} kept only {:.0} % of the 10 nearest neighbours", 100.0 * kept);
    }
    // PCA is exact and reports explained variance.
    let pca = project(&data, dim, Method::Pca, 1, &MapControl::default()).unwrap();
    let e = pca.explained.expect("PCA explains");
    assert!(e[0] >= e[1] && e[0] + e[1] <= 1.0 + 1e-9);
}

/// The large-input path (approximate neighbours; FIt-SNE for t-SNE) run on a small input by
/// lowering its threshold: it keeps neighbours together as the exact path does.
#[test]
fn the_large_input_path_keeps_neighbours_close() {
    let dim = 16;
    let data = blobs(8, 60, dim, 7);
    let large = MapOptions { exact_knn_max: 100, ..MapOptions::default() };
    for method in [Method::Tsne, Method::Umap] {
        let map = project_with(&data, dim, method, 1, &MapControl::default(), &large).expect("maps");
        assert_eq!(map.mapped, 480);
        let note = map.note.clone().unwrap_or_default();
        assert!(note.contains("approximate neighbours"), "{method:?}: {note}");
        assert_eq!(note.contains("FIt-SNE"), method == Method::Tsne, "{note}");
        let kept = kept_neighbours(&data, dim, &map.points);
        assert!(kept > 0.6, "{method:?} kept only {:.0} % of the 10 nearest neighbours", 100.0 * kept);
    }
}

#[test]
fn only_inputs_above_the_cap_are_sampled_and_the_note_says_so() {
    let dim = 16;
    let data = blobs(8, 60, dim, 7);
    let full = project(&data, dim, Method::Umap, 1, &MapControl::default()).unwrap();
    assert!(full.note.is_none(), "{:?}", full.note);
    let capped = MapOptions { max_points: 200, ..MapOptions::default() };
    let map = project_with(&data, dim, Method::Umap, 1, &MapControl::default(), &capped).unwrap();
    assert_eq!((map.points.len(), map.mapped), (480, 200));
    assert_eq!(map.points.iter().filter(|p| p[0].is_finite() && p[1].is_finite()).count(), 200);
    assert!(map.note.as_deref().unwrap_or_default().contains("a random sample of 200 of 480"), "{:?}", map.note);
}

#[test]
fn approximate_neighbours_match_exact_ones_and_lists_hold_only_k() {
    let dim = 16;
    let data = blobs(8, 250, dim, 5);
    let ctl = MapControl::default();
    let exact = knn(&data, dim, 15, &ctl).unwrap();
    let approx = knn_approx(&data, dim, 15, &ctl).unwrap();
    assert_eq!((exact.len(), approx.len()), (2000, 2000));
    for (i, (e, a)) in exact.iter().zip(&approx).enumerate() {
        assert_eq!((e.len(), a.len()), (15, 15));
        // Each list is its own size: n lists of capacity n would be n² (6 GB at 20,000 rows).
        assert!(e.capacity() <= 16, "row {i} keeps a capacity of {}", e.capacity());
        assert!(a.iter().all(|&(j, _)| j != i), "row {i} lists itself");
        assert!(a.windows(2).all(|w| w[0].1 <= w[1].1), "row {i} is not nearest first");
    }
    let hits: usize =
        exact.iter().zip(&approx).map(|(e, a)| e.iter().filter(|x| a.iter().any(|y| y.0 == x.0)).count()).sum();
    let recall = hits as f64 / (15.0 * 2000.0);
    assert!(recall > 0.95, "recall@15 {recall:.3}");
    let cancelled = MapControl::default();
    cancelled.cancel();
    assert_eq!(knn_approx(&data, dim, 15, &cancelled), Err(MapError::Cancelled));
}

#[test]
fn cancel_stops_the_map_and_progress_is_reported() {
    let dim = 8;
    let data = blobs(4, 100, dim, 3);
    for method in [Method::Tsne, Method::Umap] {
        let calls = Arc::new(AtomicUsize::new(0));
        let slot: Arc<std::sync::OnceLock<MapControl>> = Arc::default();
        let (c2, s2) = (calls.clone(), slot.clone());
        let ctl = MapControl::with_progress(move |fraction, _| {
            assert!((0.0..=1.0).contains(&fraction));
            // Cancel once the optimisation has started.
            if c2.fetch_add(1, Ordering::SeqCst) == 3 {
                s2.get().expect("control set").cancel();
            }
        });
        slot.set(ctl.clone()).ok();
        assert_eq!(project(&data, dim, method, 0, &ctl), Err(MapError::Cancelled), "{method:?}");
        let n = calls.load(Ordering::SeqCst);
        assert!(n <= 6, "{method:?} went on after the cancel: {n} progress reports");
    }
}

#[test]
fn bad_input_is_an_error_and_large_inputs_are_subsampled() {
    let ctl = MapControl::default();
    assert!(matches!(project(&[1.0, f32::NAN, 0.0, 0.0], 2, Method::Tsne, 0, &ctl), Err(MapError::Input(_))));
    assert!(matches!(project(&[1.0; 12], 5, Method::Umap, 0, &ctl), Err(MapError::Input(_))));
    assert!(matches!(project(&[1.0; 6], 2, Method::Umap, 0, &ctl), Err(MapError::TooFewRows { got: 3, .. })));
    let s = subsample(100, 30, 9);
    assert_eq!(s.len(), 30);
    assert!(s.windows(2).all(|w| w[0] < w[1]) && s[29] < 100);
    assert_eq!(s, subsample(100, 30, 9), "seeded");
    assert_ne!(s, subsample(100, 30, 10));
    assert_eq!(subsample(5, 30, 9), vec![0, 1, 2, 3, 4]);
}

#[test]
fn embed_project_writes_a_map_csv_for_every_node() {
    let run = crate::run_folders::pristine();
    let dir = tempfile::tempdir().unwrap();
    let cfg = pinsage_explorer::run_folder::load_run_config(&run).unwrap().config;
    let g = pinsage_explorer::train::run_graph(&cfg, pinsage_explorer::load::Format::Auto).unwrap();
    let nodes = (g.n_pins() + g.n_boards()) as usize;
    for method in ["pca", "umap"] {
        let out = dir.path().join(format!("{method}.csv"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pinsage"))
            .args(["embed", "--run", run.to_str().unwrap(), "--device", "cpu", "--project", method])
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut r = csv::Reader::from_path(&out).unwrap();
        assert_eq!(r.headers().unwrap(), vec!["row", "kind", "id", "label", "x", "y"]);
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(rows.len(), nodes, "{method}");
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row[0].parse::<usize>().unwrap(), i);
            let (kind, id) = if i < g.n_pins() as usize { ("pin", i) } else { ("board", i - g.n_pins() as usize) };
            assert_eq!((&row[1], row[2].parse::<usize>().unwrap()), (kind, id));
            let label = if kind == "pin" { g.pin_label(id as u32) } else { g.board_label(id as u32) };
            assert_eq!(&row[3], label);
            assert!(row[4].parse::<f32>().unwrap().is_finite() && row[5].parse::<f32>().unwrap().is_finite());
        }
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pinsage"))
        .args(["embed", "--run", run.to_str().unwrap(), "--project", "mds"])
        .output()
        .unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("mds"));
}
