//! `--devices` parsing for the CLI and `pinsage bench train-step --devices`: the training step
//! on 1, 2, … devices, as JSON (triplets/s per device count) or a table.

use pinsage_explorer::train::{self, DeviceChoice, TrainConfig};

use super::DataArgs;

/// A `--devices` list (a newtype: clap would take a bare `Vec` for a repeated flag).
#[derive(Clone, Debug)]
pub struct DeviceList(pub Vec<usize>);

/// clap's parser for `--devices 0,1`.
pub fn devices_arg(text: &str) -> Result<DeviceList, String> {
    train::parallel::parse_devices(text).map(DeviceList).map_err(|e| e.to_string())
}

/// `pinsage bench train-step --devices …`: the real-data defaults (fitted to the graph), one fixed
/// batch, timed on the first 1, 2, … of the devices.
pub fn bench_train_step(
    data: &DataArgs,
    device: DeviceChoice,
    steps: usize,
    batch_size: Option<usize>,
    indices: &[usize],
    json: bool,
) -> anyhow::Result<()> {
    let g = data.load()?;
    let mut cfg = TrainConfig { data: data.data.clone(), ..TrainConfig::default() }.scaled_for(&g);
    if let Some(b) = batch_size {
        cfg.batch_size = b;
    }
    cfg.devices = Some(indices.to_vec());
    cfg.validate()?;
    let (devices, name) = train::parallel::open_devices(device, indices)?;
    let rows = train::parallel::bench_step(&g, &cfg, &devices, steps)?;
    if json {
        let out = serde_json::json!({
            "device": name, "device_indices": indices, "steps": steps, "batch_size": cfg.batch_size,
            "negatives": cfg.negatives, "loss": cfg.loss, "rows": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{name}: batch {}, {} shared negatives, {steps} steps", cfg.batch_size, cfg.negatives);
        for r in &rows {
            let waits: Vec<String> = r.device_wait_shares.iter().map(|w| format!("{:.0}%", w * 100.0)).collect();
            println!(
                "{} device(s): {:.2} ms/step, {:.0} triplets/s, ×{:.2}{}",
                r.devices,
                r.ms_per_step,
                r.triplets_per_sec,
                r.speedup,
                if waits.is_empty() { String::new() } else { format!(", blocked on transfers {}", waits.join("/")) }
            );
        }
    }
    Ok(())
}
