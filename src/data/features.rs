//! Pin features from a file (the paper's input): `.npy` `[pins, d]` in pin order, or CSV/TSV
//! `pin,f1,…,fd` keyed by the graph file's own pin ids. Every failure names file, row and problem.

use std::collections::HashMap;
use std::path::Path;

use crate::graph::{Features, Graph};
use crate::load::{LoadError, csv_error, read_text, sniffed_csv_reader};

/// Reads pin features for `g` from `path` (by extension: `.npy`, else CSV/TSV).
pub fn load_pin_features(g: &Graph, path: &Path) -> Result<Features, LoadError> {
    let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let f = if is_npy { read_npy(g, path)? } else { read_csv(g, path)? };
    if f.dim == 0 {
        return Err(LoadError::file(path, "no feature columns"));
    }
    Ok(f)
}

/// Loads the features and puts them on the graph (replacing any it had).
pub fn attach_pin_features(g: &mut Graph, path: &Path) -> Result<(), LoadError> {
    g.features = Some(load_pin_features(g, path)?);
    Ok(())
}

fn read_npy(g: &Graph, path: &Path) -> Result<Features, LoadError> {
    let open = || -> Result<npyz::NpyFile<std::io::BufReader<std::fs::File>>, LoadError> {
        let file = std::fs::File::open(path).map_err(|error| LoadError::Io { path: path.to_path_buf(), error })?;
        npyz::NpyFile::new(std::io::BufReader::new(file))
            .map_err(|e| LoadError::file(path, format!("not a .npy file: {e}")))
    };
    let npy = open()?;
    let shape = npy.shape().to_vec();
    let [rows, dim] = shape[..] else {
        return Err(LoadError::file(path, format!("expected a 2-D array [pins, d], found shape {shape:?}")));
    };
    if rows != g.n_pins() as u64 {
        return Err(LoadError::file(
            path,
            format!("has {rows} rows but the graph has {} pins (one row per pin, in pin order)", g.n_pins()),
        ));
    }
    let need = rows.saturating_mul(dim).saturating_mul(4);
    crate::memory::check(need, "the pin features").map_err(|e| LoadError::file(path, e.to_string()))?;
    let data: Vec<f32> = match npy.into_vec::<f32>() {
        Ok(v) => v,
        Err(_) => open()?
            .into_vec::<f64>()
            .map_err(|e| LoadError::file(path, format!("values must be float32 or float64: {e}")))?
            .into_iter()
            .map(|x| x as f32)
            .collect(),
    };
    let dim = dim as usize;
    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
        return Err(LoadError::file(
            path,
            format!(
                "row {} (pin {}), column {}: value {} is not finite",
                i / dim,
                g.pin_label((i / dim) as u32),
                i % dim + 1,
                data[i]
            ),
        ));
    }
    Ok(Features { dim, data })
}

/// The graph's pins by the ids its file used: the keys the loader kept, else the labels (with a
/// `pin ` prefix of generated labels also accepted without it), else the dense numbers.
fn pin_index(g: &Graph) -> Option<HashMap<String, u32>> {
    let keys = g.pin_keys.as_ref().or(g.pin_labels.as_ref())?;
    let mut map = HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        map.insert(k.clone(), i as u32);
        if let Some(bare) = k.strip_prefix("pin ") {
            map.entry(bare.to_string()).or_insert(i as u32);
        }
    }
    Some(map)
}

fn read_csv(g: &Graph, path: &Path) -> Result<Features, LoadError> {
    let bytes = read_text(path)?;
    let (mut reader, _) = sniffed_csv_reader(&bytes);
    let index = pin_index(g);
    let n = g.n_pins() as usize;
    let mut dim = None;
    let mut data: Vec<f32> = Vec::new();
    let mut seen = vec![false; n];
    let mut record = csv::StringRecord::new();
    let mut first_row = true;
    loop {
        let more = reader.read_record(&mut record).map_err(|e| csv_error(path, e))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.len() == 1 && record[0].trim().is_empty() {
            continue;
        }
        // A header: the first row whose feature fields are not numbers.
        if first_row {
            first_row = false;
            if record.iter().skip(1).any(|f| f.trim().parse::<f32>().is_err()) {
                continue;
            }
        }
        let d = record.len().saturating_sub(1);
        let want = *dim.get_or_insert(d);
        if d == 0 {
            return Err(LoadError::line(path, line, "a pin id but no feature values"));
        }
        if d != want {
            return Err(LoadError::line(
                path,
                line,
                format!("ragged row: {d} feature values where earlier rows have {want}"),
            ));
        }
        if data.is_empty() {
            crate::memory::check((n * want * 4) as u64, "the pin features")
                .map_err(|e| LoadError::file(path, e.to_string()))?;
            data = vec![0.0; n * want];
        }
        let id = record[0].trim();
        let pin = match &index {
            Some(map) => map.get(id).copied(),
            None => id.parse::<u32>().ok().filter(|&p| p < g.n_pins()),
        };
        let Some(pin) = pin else {
            return Err(LoadError::line(path, line, format!("unknown pin id `{id}`: the graph has no such pin")));
        };
        if std::mem::replace(&mut seen[pin as usize], true) {
            return Err(LoadError::line(path, line, format!("pin `{id}` appears twice")));
        }
        for (j, field) in record.iter().skip(1).enumerate() {
            let v: f32 = field.trim().parse().map_err(|_| {
                LoadError::line(path, line, format!("column {}: `{}` is not a number", j + 2, field.trim()))
            })?;
            if !v.is_finite() {
                return Err(LoadError::line(path, line, format!("column {}: value {v} is not finite", j + 2)));
            }
            data[pin as usize * want + j] = v;
        }
    }
    let Some(dim) = dim else { return Err(LoadError::file(path, "no feature rows")) };
    Ok(Features { dim, data })
}
