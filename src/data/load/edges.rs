//! CSV/TSV edge lists: `pin,board[,weight[,timestamp]]` per line, with an optional header.

use std::path::Path;

use super::*;

fn looks_like_header(fields: &[&str]) -> bool {
    const NAMES: [&str; 12] =
        ["pin", "board", "item", "user", "weight", "source", "target", "src", "dst", "id", "time", "timestamp"];
    let named = fields.iter().any(|f| {
        let f = f.trim().to_ascii_lowercase();
        NAMES.iter().any(|n| {
            f == *n
                || f.ends_with(&format!("_{n}"))
                || f.starts_with(&format!("{n}_"))
                || f.ends_with(n) && f.len() <= 8
        })
    });
    let weight_not_number = fields.len() >= 3 && fields[2].trim().parse::<f64>().is_err();
    named || weight_not_number
}

/// Loads an edge list: `pin,board[,weight[,timestamp]]` per line (comma or tab separated, optional
/// header, which may name the columns in another order).
/// Ids may be any strings; they become the labels. Edges with weight ≤ 0 are left out.
pub fn load_edge_list(path: &Path) -> Result<Graph, LoadError> {
    edge_list_with(path, &LoadControl::default())
}

pub(super) fn edge_list_with(path: &Path, ctl: &LoadControl) -> Result<Graph, LoadError> {
    let bytes = read_text_with(path, ctl)?;
    let (mut reader, delimiter) = sniffed_csv_reader(&bytes);
    let mut pins = Interner::default();
    let mut boards = Interner::default();
    let mut pairs = Vec::new();
    let mut times: Vec<i64> = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    // Columns by position (pin, board, weight, time) unless a header names them.
    let mut cols = EdgeColumns { pin: 0, board: 1, weight: Some(2), time: Some(3) };
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| csv_error(path, e))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        ctl.line(path, line, record.position().map_or(0, |p| p.byte()), bytes.len())?;
        let mut fields = Vec::with_capacity(4);
        for (i, f) in record.iter().enumerate() {
            let s = std::str::from_utf8(f)
                .map_err(|_| LoadError::line(path, line, format!("field {} is not valid UTF-8 text", i + 1)))?;
            fields.push(s);
        }
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue;
        }
        if first {
            first = false;
            if looks_like_header(&fields) {
                cols = EdgeColumns::from_header(&fields);
                continue;
            }
        }
        let Some((pin, board, time)) = parse_edge(path, line, &fields, &cols, delimiter)? else { continue };
        if !times.is_empty() || (pairs.is_empty() && time.is_some()) {
            times.push(time.ok_or_else(|| LoadError::line(path, line, "missing timestamp (earlier lines have one)"))?);
        }
        pairs.push((boards.get(board), pins.get(pin)));
    }
    if pairs.is_empty() {
        return Err(LoadError::file(path, "no edges found"));
    }
    check_graph_memory(path, pins.names.len() as u32, boards.names.len() as u32, pairs.len(), ctl)?;
    ctl.building(path, bytes.len(), pairs.len() as u64)?;
    let mut g = Graph::from_edges(pins.names.len() as u32, boards.names.len() as u32, &pairs, &[]);
    ctl.check(path)?;
    if times.len() == pairs.len() {
        attach_times(&mut g, &pairs, &times);
    }
    g.pin_labels = Some(pins.names);
    g.board_labels = Some(boards.names);
    g.source = path.display().to_string();
    Ok(g)
}

/// An edge-list line's pin, board and timestamp.
type Edge<'f> = (&'f str, &'f str, Option<i64>);

/// One line's (pin, board, timestamp), or None for an edge left out (weight ≤ 0); an error names
/// the file, the line and the problem.
fn parse_edge<'f>(
    path: &Path,
    line: usize,
    fields: &[&'f str],
    cols: &EdgeColumns,
    delimiter: u8,
) -> Result<Option<Edge<'f>>, LoadError> {
    if !(2..=4).contains(&fields.len()) {
        let sep = if delimiter == b'\t' { "tab" } else { "comma" };
        return Err(LoadError::line(
            path,
            line,
            format!(
                "expected 2 to 4 {sep}-separated fields (pin, board[, weight[, timestamp]]), found {}",
                fields.len()
            ),
        ));
    }
    let field = |i: usize| fields.get(i).map(|f| f.trim());
    let (Some(pin), Some(board)) = (field(cols.pin), field(cols.board)) else {
        return Err(LoadError::line(
            path,
            line,
            format!("missing the pin or board field (columns {} and {})", cols.pin + 1, cols.board + 1),
        ));
    };
    if pin.is_empty() || board.is_empty() {
        return Err(LoadError::line(path, line, "empty pin or board id"));
    }
    if let Some(w) = cols.weight.and_then(field) {
        let w: f32 = w.parse().map_err(|_| LoadError::line(path, line, format!("weight `{w}` is not a number")))?;
        if !w.is_finite() {
            return Err(LoadError::line(path, line, format!("weight {w} is not finite")));
        }
        if w <= 0.0 {
            return Ok(None);
        }
    }
    let time = match cols.time.and_then(field) {
        Some(t) => Some(
            parse_time(t)
                .ok_or_else(|| LoadError::line(path, line, format!("timestamp `{t}` is not a number of seconds")))?,
        ),
        None => None,
    };
    Ok(Some((pin, board, time)))
}

/// Which field of an edge-list line holds what.
struct EdgeColumns {
    pin: usize,
    board: usize,
    weight: Option<usize>,
    time: Option<usize>,
}

impl EdgeColumns {
    /// Columns named by a header (pin/item/target, board/user/source, weight/rating, time/timestamp/ts),
    /// falling back to positions for the ones it does not name.
    fn from_header(fields: &[&str]) -> EdgeColumns {
        let find = |names: &[&str]| {
            fields.iter().position(|f| {
                let f = f.trim().to_ascii_lowercase();
                names.iter().any(|n| {
                    f == *n
                        || f.ends_with(&format!("_{n}"))
                        || f.ends_with(&format!("{n}id"))
                        || f.ends_with(&format!("{n}_id"))
                })
            })
        };
        let pin = find(&["pin", "item", "target", "dst", "movie"]).unwrap_or(0);
        let board = find(&["board", "user", "source", "src"]).unwrap_or(1);
        let time = find(&["timestamp", "time", "ts", "date"]);
        let weight =
            find(&["weight", "rating", "count", "score"]).or_else(|| (2..fields.len()).find(|&i| Some(i) != time));
        EdgeColumns { pin, board, weight, time }
    }
}

/// A timestamp in seconds (integer or decimal).
pub(super) fn parse_time(t: &str) -> Option<i64> {
    t.parse::<i64>().ok().or_else(|| t.parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v as i64))
}

/// Sets the graph's per-edge times from (board, pin) pairs and their times; a repeated edge keeps
/// its latest time.
pub(super) fn attach_times(g: &mut Graph, pairs: &[(u32, u32)], times: &[i64]) {
    let offsets = &g.board_pins().offsets;
    let mut out = vec![i64::MIN; g.n_edges()];
    for (&(b, p), &t) in pairs.iter().zip(times) {
        if let Ok(i) = g.pins_of(b).binary_search(&p) {
            let slot = &mut out[offsets[b as usize] as usize + i];
            *slot = (*slot).max(t);
        }
    }
    g.edge_times = Some(out);
}
