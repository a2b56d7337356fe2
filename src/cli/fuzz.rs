//! `pinsage bench fuzz-loaders`: generated inputs through every loader, panics counted.

use anyhow::Context;
use pinsage_explorer::data::fuzz::{FuzzReport, FuzzTarget, fuzz_loader};

/// Runs `inputs` generated inputs per loader (or only `loader`), prints the reports, and fails
/// when any input panicked.
pub fn fuzz_loaders(inputs: u64, seed: u64, loader: Option<FuzzTarget>, json: bool) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("pinsage-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let targets: Vec<FuzzTarget> = loader.map_or_else(|| FuzzTarget::ALL.to_vec(), |t| vec![t]);
    // Panics are counted, not printed (a million inputs could print as many messages).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut reports: Vec<FuzzReport> = Vec::new();
    let mut failed = None;
    for t in targets {
        match fuzz_loader(t, inputs, seed, &dir) {
            Ok(r) => {
                if !json {
                    println!(
                        "{:<10} {:>9} inputs  {:>9} loaded  {:>9} refused {:?}  {} panics  ({:.0} inputs/s)",
                        r.loader, r.inputs, r.loaded, r.refused, r.refused_by_kind, r.panics, r.inputs_per_sec
                    );
                }
                reports.push(r);
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    std::panic::set_hook(hook);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(e) = failed {
        return Err(e.into());
    }
    if json {
        let threads = rayon::current_num_threads();
        let out = serde_json::json!({ "bench": "fuzz-loaders", "seed": seed, "threads": threads, "loaders": reports });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    let panics: u64 = reports.iter().map(|r| r.panics).sum();
    if panics > 0 {
        let seeds: Vec<String> = reports.iter().map(|r| format!("{}: {:?}", r.loader, r.panic_seeds)).collect();
        anyhow::bail!("{panics} inputs panicked (first seeds: {})", seeds.join("; "));
    }
    Ok(())
}
