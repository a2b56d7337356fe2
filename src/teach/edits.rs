//! What-if edits: an undoable stack of graph edits (add or remove a pin–board edge, add a new pin
//! with features and a category of its own or another pin's) applied to an in-memory copy of the loaded graph (never the file),
//! and what an edit changes for one pin: its walk visits, its top-K neighbourhood, its
//! importance-pooled feature vector and, under a model, its embedding and nearest pins.

use std::collections::HashSet;

use crate::graph::{Categories, Features, Graph};
use crate::infer::{Embeddings, embed_all};
use crate::jobs::ModelBundle;
use crate::sampler::try_node_neighbourhoods;
use crate::walk::{WalkConfig, neighbourhoods, visit_counts};

/// One edit of the graph.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Pin `pin` is saved to board `board`.
    AddEdge { pin: u32, board: u32 },
    /// Pin `pin` is taken off board `board`.
    RemoveEdge { pin: u32, board: u32 },
    /// A new pin (id: the number of pins before it) saved to `boards`, with `features` (one value
    /// per feature column of the graph) and `category` (an index into the graph's category names)
    /// where given, else pin `like`'s.
    AddPin { like: u32, boards: Vec<u32>, features: Option<Vec<f32>>, category: Option<u16> },
}

impl Edit {
    /// In words, for the undo list.
    pub fn describe(&self, g: &Graph) -> String {
        match self {
            Edit::AddEdge { pin, board } => format!("+ {} -> {}", g.pin_label(*pin), g.board_label(*board)),
            Edit::RemoveEdge { pin, board } => format!("- {} -> {}", g.pin_label(*pin), g.board_label(*board)),
            Edit::AddPin { like, boards, features, category } => {
                let own = match (features.is_some(), category.and_then(|c| category_name(g, c))) {
                    (true, Some(c)) => format!(" (own features, {c})"),
                    (true, None) => " (own features)".into(),
                    (false, Some(c)) => format!(" ({c})"),
                    (false, None) => String::new(),
                };
                format!("+ new pin like {}{own} on {} board(s)", g.pin_label(*like), boards.len())
            }
        }
    }
}

/// The name of category `c` of `g`, if it has one.
fn category_name(g: &Graph, c: u16) -> Option<&str> {
    g.categories.as_ref()?.names.get(c as usize).map(String::as_str)
}

/// Why an edit was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EditError {
    #[error("there is no pin {pin} (the graph has {n_pins})")]
    NoSuchPin { pin: u32, n_pins: u32 },
    #[error("there is no board {board} (the graph has {n_boards})")]
    NoSuchBoard { board: u32, n_boards: u32 },
    #[error("pin {pin} is already on board {board}")]
    AlreadyThere { pin: u32, board: u32 },
    #[error("pin {pin} is not on board {board}")]
    NotThere { pin: u32, board: u32 },
    #[error("pin {pin} on board {board} is a held-out edge (test or validation): adding it would leak it")]
    HeldOut { pin: u32, board: u32 },
    #[error("a new pin needs at least one board")]
    NoBoards,
    #[error("the graph has no pin features to give a new pin")]
    NoFeatures,
    #[error("a new pin needs {want} feature values, got {got}")]
    FeatureCount { want: usize, got: usize },
    #[error("feature {column} of the new pin is not a finite number")]
    FeatureNotFinite { column: usize },
    #[error("there is no category {category} (the graph has {n})")]
    NoSuchCategory { category: u16, n: usize },
}

/// Checks that `edit` applies to `g` (the graph with the earlier edits applied).
pub fn check(g: &Graph, edit: &Edit) -> Result<(), EditError> {
    let pin_ok =
        |pin: u32| if pin < g.n_pins() { Ok(()) } else { Err(EditError::NoSuchPin { pin, n_pins: g.n_pins() }) };
    let board_ok = |board: u32| {
        if board < g.n_boards() { Ok(()) } else { Err(EditError::NoSuchBoard { board, n_boards: g.n_boards() }) }
    };
    match *edit {
        Edit::AddEdge { pin, board } => {
            pin_ok(pin)?;
            board_ok(board)?;
            if g.boards_of(pin).contains(&board) {
                return Err(EditError::AlreadyThere { pin, board });
            }
            if g.test_pins_of(board).contains(&pin) || g.validation_pins_of(board).contains(&pin) {
                return Err(EditError::HeldOut { pin, board });
            }
            Ok(())
        }
        Edit::RemoveEdge { pin, board } => {
            pin_ok(pin)?;
            board_ok(board)?;
            if g.boards_of(pin).contains(&board) { Ok(()) } else { Err(EditError::NotThere { pin, board }) }
        }
        Edit::AddPin { like, ref boards, ref features, category } => {
            pin_ok(like)?;
            if boards.is_empty() {
                return Err(EditError::NoBoards);
            }
            boards.iter().try_for_each(|&b| board_ok(b))?;
            if let Some(values) = features {
                let want = g.features.as_ref().ok_or(EditError::NoFeatures)?.dim;
                if values.len() != want {
                    return Err(EditError::FeatureCount { want, got: values.len() });
                }
                if let Some(column) = values.iter().position(|x| !x.is_finite()) {
                    return Err(EditError::FeatureNotFinite { column });
                }
            }
            match (category, &g.categories) {
                (Some(category), Some(c)) if (category as usize) >= c.names.len() => {
                    Err(EditError::NoSuchCategory { category, n: c.names.len() })
                }
                (Some(category), None) => Err(EditError::NoSuchCategory { category, n: 0 }),
                _ => Ok(()),
            }
        }
    }
}

/// `base` with `edits` applied in order (each checked first), as a new graph: training edges
/// changed, held-out edges, labels, features and categories kept (a new pin's appended), edge
/// times dropped (they no longer line up with the edges).
pub fn apply(base: &Graph, edits: &[Edit]) -> Result<Graph, EditError> {
    let mut g = base.clone();
    for e in edits {
        check(&g, e)?;
        g = apply_one(&g, e);
    }
    Ok(g)
}

fn pairs(csr: &crate::graph::Csr) -> Vec<(u32, u32)> {
    (0..csr.rows() as u32).flat_map(|b| csr.row(b).iter().map(move |&p| (b, p))).collect()
}

fn apply_one(g: &Graph, edit: &Edit) -> Graph {
    let mut train = pairs(g.board_pins());
    let mut n_pins = g.n_pins();
    match edit {
        Edit::AddEdge { pin, board } => train.push((*board, *pin)),
        Edit::RemoveEdge { pin, board } => train.retain(|&(b, p)| (b, p) != (*board, *pin)),
        Edit::AddPin { boards, .. } => {
            let unique: HashSet<u32> = boards.iter().copied().collect();
            train.extend(unique.into_iter().map(|b| (b, n_pins)));
            n_pins += 1;
        }
    }
    let test = if g.test().rows() == 0 { Vec::new() } else { pairs(g.test()) };
    let mut out = Graph::from_edges(n_pins, g.n_boards(), &train, &test);
    if g.validation().rows() > 0 {
        out.set_validation(&pairs(g.validation()));
    }
    out.pin_labels = g.pin_labels.clone();
    out.pin_keys = g.pin_keys.clone();
    out.board_labels = g.board_labels.clone();
    out.features = g.features.clone();
    out.categories = g.categories.clone();
    out.source = format!("{} (edited)", g.source.trim_end_matches(" (edited)"));
    if let Edit::AddPin { like, features, category, .. } = edit {
        let like = *like;
        let new = n_pins - 1;
        if let Some(l) = &mut out.pin_labels {
            l.push(format!("new pin {new} (like {})", g.pin_label(like)));
        }
        if let Some(k) = &mut out.pin_keys {
            k.push(format!("new-{new}"));
        }
        if let Some(Features { dim, data }) = &mut out.features {
            let row = match features {
                Some(values) => values.clone(),
                None => g.features.as_ref().map(|f| f.row(like).to_vec()).unwrap_or_else(|| vec![0.0; *dim]),
            };
            data.extend(row);
        }
        if let Some(Categories { of_pin, .. }) = &mut out.categories {
            let c = category.unwrap_or(of_pin[like as usize]);
            of_pin.push(c);
        }
    }
    out
}

/// The edits made so far, undoable one at a time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EditStack {
    edits: Vec<Edit>,
    /// Bumped by every change, so results computed from an edited graph can be keyed by it.
    pub version: u64,
}

impl EditStack {
    pub fn edits(&self) -> &[Edit] {
        &self.edits
    }
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }
    pub fn len(&self) -> usize {
        self.edits.len()
    }
    /// Adds `edit` when it applies to `current` (the graph with the edits so far).
    pub fn push(&mut self, current: &Graph, edit: Edit) -> Result<(), EditError> {
        check(current, &edit)?;
        self.edits.push(edit);
        self.version += 1;
        Ok(())
    }
    /// Takes the last edit back.
    pub fn undo(&mut self) -> Option<Edit> {
        let e = self.edits.pop();
        if e.is_some() {
            self.version += 1;
        }
        e
    }
    /// Takes every edit back.
    pub fn reset(&mut self) {
        if !self.edits.is_empty() {
            self.edits.clear();
            self.version += 1;
        }
    }
}

/// A pin's walk-based picture in one graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PinPicture {
    /// The most visited pins with their raw visit counts, most first (at most 10).
    pub visits: Vec<(u32, u32)>,
    /// The top-K importance neighbourhood: (pin, weight α), heaviest first.
    pub neighbourhood: Vec<(u32, f32)>,
    /// Σ α · features over the neighbourhood (empty without features).
    pub pooled: Vec<f32>,
    /// The pin's embedding under the model (empty without one).
    pub embedding: Vec<f32>,
    /// Its nearest pins by that embedding (best first, itself excluded).
    pub nearest: Vec<(u32, f32)>,
}

/// What an edit changed for one pin: the picture in the loaded graph (None for a new pin) and in
/// the edited one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WhatIf {
    pub pin: u32,
    pub before: Option<PinPicture>,
    pub after: PinPicture,
    /// Why there is no embedding (no model, a new pin under id embeddings).
    pub embedding_note: Option<String>,
}

/// How many nearest pins a picture lists.
pub const NEAREST: usize = 8;

/// `pin`'s picture in `g` under the walk config `walk` and, if given, the embeddings `emb`.
pub fn picture(g: &Graph, pin: u32, walk: &WalkConfig, emb: Option<&Embeddings>) -> PinPicture {
    let counts = visit_counts(g, pin, walk);
    let mut visits: Vec<(u32, u32)> =
        counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(p, c)| (p as u32, *c)).collect();
    visits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    visits.truncate(10);
    let (nb, _) = neighbourhoods(g, &[pin], walk);
    let (ids, weights, _) = nb.of(0);
    let neighbourhood: Vec<(u32, f32)> = ids.iter().copied().zip(weights.iter().copied()).collect();
    let pooled = g.features.as_ref().map_or_else(Vec::new, |f| {
        let mut v = vec![0f32; f.dim];
        for &(q, w) in &neighbourhood {
            v.iter_mut().zip(f.row(q)).for_each(|(a, x)| *a += w * x);
        }
        v
    });
    let (embedding, nearest) = match emb.filter(|e| (pin as usize) < e.n_pins) {
        Some(e) => {
            let n = e.n_pins;
            let mut scores: Vec<f32> = (0..n as u32).map(|q| e.dot(pin, q)).collect();
            scores[pin as usize] = f32::NEG_INFINITY;
            let top = crate::eval::top_k(&scores, NEAREST);
            (e.row(pin).to_vec(), top.into_iter().map(|q| (q, scores[q as usize])).collect())
        }
        None => (Vec::new(), Vec::new()),
    };
    PinPicture { visits, neighbourhood, pooled, embedding, nearest }
}

/// Every node of `edited` embedded by `bundle`'s model, with neighbourhoods walked on `edited`.
/// Refused for a graph with more pins than the model knows when the model has id embeddings (a
/// new pin has no row in its table).
pub fn edited_embeddings(bundle: &ModelBundle, base: &Graph, edited: &Graph) -> Result<Embeddings, String> {
    if bundle.config.id_embedding && edited.n_pins() != base.n_pins() {
        return Err(
            "this model learns an id embedding per node, so a new pin (which has none) cannot be embedded; a feature-only model can".into(),
        );
    }
    let nb =
        try_node_neighbourhoods(edited, bundle.config.neighbourhood, &bundle.config.walk).map_err(|e| e.to_string())?;
    embed_all(&bundle.model, &nb, edited.features.as_ref(), &bundle.device, 4096, |_, _| {}).map_err(|e| e.to_string())
}
