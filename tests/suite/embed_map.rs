//! The embedding map's projections: t-SNE and UMAP keep neighbours together on clustered data
//! (a statistical check), cancel stops them, bad input is an error, and `pinsage embed --project`
//! writes `row,kind,id,label,x,y` for every node of a run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pinsage_explorer::embed_map::{MapControl, MapError, Method, knn, project, subsample};

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
