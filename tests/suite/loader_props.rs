//! Loader robustness as properties: whatever the bytes (generated files of each format put through
//! mutations, or raw bytes), every loader returns a graph or a `LoadError` naming the file, and
//! never panics. `pinsage bench fuzz-loaders` runs the same generator over a million inputs each.

use pinsage_explorer::data::fuzz::{FuzzTarget, feature_graph, fuzz_input, load_with};
use pinsage_explorer::names::Named;
use proptest::prelude::*;

/// Writes `bytes` under `name` in a fresh folder and loads it with `target`'s loader; the error,
/// if any, must name the file.
fn check(target: FuzzTarget, name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let graph = feature_graph(dir.path()).unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    if let Err(e) = load_with(target, &path, &graph) {
        prop_assert!(e.to_string().contains(name), "{} error does not name the file: {e}", target.name());
    }
    Ok(())
}

fn file_name(target: FuzzTarget) -> &'static str {
    match target {
        FuzzTarget::Lightgcn => "train.txt",
        FuzzTarget::Edges => "edges.csv",
        FuzzTarget::Movielens => "ratings.csv",
        FuzzTarget::Features => "features.csv",
    }
}

fn target() -> impl Strategy<Value = FuzzTarget> {
    prop::sample::select(FuzzTarget::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_inputs_load_or_are_refused_with_a_load_error(t in target(), seed in any::<u64>()) {
        let (name, bytes) = fuzz_input(t, seed);
        check(t, &name, &bytes)?;
    }

    #[test]
    fn raw_bytes_load_or_are_refused_with_a_load_error(
        t in target(),
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        check(t, file_name(t), &bytes)?;
    }

    #[test]
    fn text_lines_of_odd_tokens_load_or_are_refused(
        t in target(),
        lines in prop::collection::vec("[-0-9a-z ,\t.#\"eE+]{0,24}", 0..12),
    ) {
        let text = lines.join("\n");
        check(t, file_name(t), text.as_bytes())?;
    }
}

#[test]
fn valid_generated_inputs_mostly_load() {
    // The generator's unmutated files are valid, so some inputs of every loader load: the property
    // tests above exercise the parsers, not just their first check.
    let dir = tempfile::tempdir().unwrap();
    let graph = feature_graph(dir.path()).unwrap();
    for t in FuzzTarget::ALL {
        let loaded = (0..200u64)
            .filter(|&seed| {
                let (name, bytes) = fuzz_input(t, seed);
                let path = dir.path().join(name);
                std::fs::write(&path, bytes).unwrap();
                load_with(t, &path, &graph).is_ok()
            })
            .count();
        assert!(loaded >= 20, "{}: only {loaded} of 200 generated inputs loaded", t.name());
    }
}
