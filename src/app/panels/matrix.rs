//! The matrix view: the graph view's neighbourhood as a pins × boards incidence matrix (a filled
//! cell is a pin saved to a board), linked to the node-link picture through the shared selection
//! and hover in `AppState`: a cell, row or column picked here selects the pin or board there, and
//! what is hovered or selected there lights up its row or column here.

use eframe::egui;

use crate::app::state::{AppState, Command, Ctx};
use crate::explain::{EgoNode, EgoSlice};
use crate::graph::Graph;

/// The most rows (pins) and columns (boards) drawn; the slice's nearest nodes come first.
pub const MAX_SIDE: usize = 48;

const LABEL_W: f32 = 130.0;
const MIN_CELL: f32 = 10.0;
const HEADER_H: f32 = 70.0;
const FILLED: egui::Color32 = egui::Color32::from_rgb(110, 150, 220);
const LIT: egui::Color32 = egui::Color32::from_rgb(255, 220, 60);

/// The matrix view's state.
#[derive(Default)]
pub struct MatrixPanel {
    /// The pins (rows) and boards (columns) drawn last frame, in order.
    pub rows: Vec<u32>,
    pub cols: Vec<u32>,
    /// Top-left corner of the cell grid and a cell's side, last frame (screen points).
    origin: egui::Pos2,
    cell: f32,
    /// The row and column lit last frame as selected (the selected pin and board, when shown).
    pub selected_row: Option<u32>,
    pub selected_col: Option<u32>,
    /// The row and column lit last frame as hovered (here or in the graph view).
    pub hovered_row: Option<u32>,
    pub hovered_col: Option<u32>,
    /// The pointer was over the matrix last frame (so this view owns the shared hover).
    hovering: bool,
}

impl MatrixPanel {
    /// Where the cell of (`pin`, `board`) was drawn last frame.
    pub fn cell_centre(&self, pin: u32, board: u32) -> Option<egui::Pos2> {
        let r = self.rows.iter().position(|&p| p == pin)?;
        let c = self.cols.iter().position(|&b| b == board)?;
        Some(self.origin + egui::vec2((c as f32 + 0.5) * self.cell, (r as f32 + 0.5) * self.cell))
    }

    /// Draws the matrix of `slice` (the graph view's current neighbourhood), if there is one.
    pub fn ui(&mut self, ui: &mut egui::Ui, ctx: &mut Ctx, slice: Option<&EgoSlice>) {
        let g = ctx.state.graph.clone();
        let Some(slice) = slice else {
            ui.weak("The matrix appears once the neighbourhood is built.");
            return;
        };
        self.rows = slice
            .nodes
            .iter()
            .filter_map(|n| if let EgoNode::Pin(p) = n { Some(*p) } else { None })
            .filter(|&p| p < g.n_pins())
            .take(MAX_SIDE)
            .collect();
        self.cols = slice
            .nodes
            .iter()
            .filter_map(|n| if let EgoNode::Board(b) = n { Some(*b) } else { None })
            .filter(|&b| b < g.n_boards())
            .take(MAX_SIDE)
            .collect();
        header_ui(ui, slice);
        let (resp, painter) = self.painter_ui(ui);
        let rect = resp.rect;
        let state = ctx.state;
        self.pointer(ctx, &resp);
        self.selected_row = self.rows.iter().copied().find(|&p| p == state.selected_pin);
        self.selected_col = state.selected_board.filter(|b| self.cols.contains(b));
        self.hovered_row = state.hovered_pin.filter(|p| self.rows.contains(p));
        self.hovered_col = state.hovered_board.filter(|b| self.cols.contains(b));

        let grid = egui::Rect::from_min_size(
            self.origin,
            egui::vec2(self.cell * self.cols.len() as f32, self.cell * self.rows.len() as f32),
        );
        painter.rect_filled(grid, 0.0, ui.visuals().extreme_bg_color);
        self.paint_bands(&painter, rect, grid);
        self.paint_cells(&painter, &g);
        self.paint_grid_lines(ui, &painter, grid);
        self.paint_labels(ui, &painter, &g);
        if self.hovering
            && let Some(h) = self.hover_text(state, &g)
        {
            resp.on_hover_text(h);
        }
    }

    /// Readable cells: as many rows and columns as fit at 10 points or more; the painter for them.
    fn painter_ui(&mut self, ui: &mut egui::Ui) -> (egui::Response, egui::Painter) {
        let avail = ui.available_size();
        let fit = |space: f32| ((space / MIN_CELL).floor() as usize).max(1);
        self.rows.truncate(fit(avail.y - HEADER_H - 8.0));
        self.cols.truncate(fit(avail.x - LABEL_W - 8.0));
        let cell = ((avail.x - LABEL_W - 8.0) / self.cols.len().max(1) as f32)
            .min((avail.y - HEADER_H - 8.0) / self.rows.len().max(1) as f32)
            .clamp(MIN_CELL, 18.0);
        let size =
            egui::vec2(LABEL_W + cell * self.cols.len() as f32 + 4.0, HEADER_H + cell * self.rows.len() as f32 + 4.0);
        let (resp, painter) = ui.allocate_painter(size.min(avail.max(egui::vec2(50.0, 50.0))), egui::Sense::click());
        self.origin = resp.rect.min + egui::vec2(LABEL_W, HEADER_H);
        self.cell = cell;
        (resp, painter)
    }

    /// What the pointer is over: a cell, a row label or a column label.
    fn at(&self, pos: egui::Pos2) -> (Option<u32>, Option<u32>) {
        let d = pos - self.origin;
        let r = (d.y / self.cell).floor();
        let c = (d.x / self.cell).floor();
        let row = (r >= 0.0).then(|| self.rows.get(r as usize).copied()).flatten();
        let col = (c >= 0.0).then(|| self.cols.get(c as usize).copied()).flatten();
        match (d.x >= 0.0, d.y >= 0.0) {
            (true, true) => (row, col),
            (false, true) => (row, None),
            (true, false) => (None, col),
            (false, false) => (None, None),
        }
    }

    /// Hovering sets the shared hover; a click selects the pin and board under it.
    fn pointer(&mut self, ctx: &mut Ctx, resp: &egui::Response) {
        let state = ctx.state;
        if let Some(pos) = resp.hover_pos() {
            let (hp, hb) = self.at(pos);
            if (hp, hb) != (state.hovered_pin, state.hovered_board) {
                ctx.send(Command::Hover { pin: hp, board: hb });
            }
            self.hovering = true;
        } else if std::mem::take(&mut self.hovering) {
            ctx.send(Command::Hover { pin: None, board: None });
        }
        if resp.clicked()
            && let Some(pos) = resp.interact_pointer_pos()
        {
            let (p, b) = self.at(pos);
            if let Some(p) = p {
                ctx.send(Command::SelectPin(p));
            }
            if b.is_some() || p.is_some() {
                ctx.send(Command::SelectBoard(b));
            }
        }
    }

    /// The hovered and selected rows and columns as bands across the labels and the grid.
    fn paint_bands(&self, painter: &egui::Painter, rect: egui::Rect, grid: egui::Rect) {
        let cell = self.cell;
        let band = |painter: &egui::Painter, r: egui::Rect, c: egui::Color32| painter.rect_filled(r, 0.0, c);
        let row_rect = |i: usize| {
            egui::Rect::from_min_size(
                egui::pos2(rect.min.x, self.origin.y + i as f32 * cell),
                egui::vec2(LABEL_W + grid.width(), cell),
            )
        };
        let col_rect = |j: usize| {
            egui::Rect::from_min_size(
                egui::pos2(self.origin.x + j as f32 * cell, rect.min.y),
                egui::vec2(cell, HEADER_H + grid.height()),
            )
        };
        for (lit, strong) in [(self.hovered_row, false), (self.selected_row, true)] {
            if let Some(i) = lit.and_then(|p| self.rows.iter().position(|&q| q == p)) {
                band(painter, row_rect(i), LIT.gamma_multiply(if strong { 0.28 } else { 0.15 }));
            }
        }
        for (lit, strong) in [(self.hovered_col, false), (self.selected_col, true)] {
            if let Some(j) = lit.and_then(|b| self.cols.iter().position(|&q| q == b)) {
                band(painter, col_rect(j), LIT.gamma_multiply(if strong { 0.28 } else { 0.15 }));
            }
        }
    }

    /// A filled cell for every pin saved to a board (lit on the selected row or column).
    fn paint_cells(&self, painter: &egui::Painter, g: &Graph) {
        let cell = self.cell;
        for (i, &p) in self.rows.iter().enumerate() {
            let boards = g.boards_of(p);
            for (j, &b) in self.cols.iter().enumerate() {
                if boards.binary_search(&b).is_err() {
                    continue;
                }
                let lit = Some(p) == self.selected_row || Some(b) == self.selected_col;
                let c = egui::Rect::from_min_size(
                    self.origin + egui::vec2(j as f32 * cell, i as f32 * cell),
                    egui::vec2(cell, cell),
                )
                .shrink(cell * 0.12);
                painter.rect_filled(c, 1.0, if lit { LIT } else { FILLED });
            }
        }
    }

    /// Grid lines every 5 rows and columns.
    fn paint_grid_lines(&self, ui: &egui::Ui, painter: &egui::Painter, grid: egui::Rect) {
        let line = egui::Stroke::new(0.5, ui.visuals().weak_text_color().gamma_multiply(0.4));
        for i in (0..=self.rows.len()).step_by(5) {
            let y = self.origin.y + i as f32 * self.cell;
            painter.line_segment([egui::pos2(grid.min.x, y), egui::pos2(grid.max.x, y)], line);
        }
        for j in (0..=self.cols.len()).step_by(5) {
            let x = self.origin.x + j as f32 * self.cell;
            painter.line_segment([egui::pos2(x, grid.min.y), egui::pos2(x, grid.max.y)], line);
        }
    }

    /// Labels: pins on the left, boards on top (turned a quarter).
    fn paint_labels(&self, ui: &egui::Ui, painter: &egui::Painter, g: &Graph) {
        let cell = self.cell;
        let font = egui::FontId::proportional((cell * 0.8).clamp(7.0, 11.0));
        let text = ui.visuals().text_color();
        let strong = ui.visuals().strong_text_color();
        for (i, &p) in self.rows.iter().enumerate() {
            let colour = if Some(p) == self.selected_row { strong } else { text };
            let mut label = g.pin_label(p);
            if label.chars().count() > 20 {
                label = label.chars().take(19).collect::<String>() + "…";
            }
            painter.text(
                egui::pos2(self.origin.x - 4.0, self.origin.y + (i as f32 + 0.5) * cell),
                egui::Align2::RIGHT_CENTER,
                label,
                font.clone(),
                colour,
            );
        }
        for (j, &b) in self.cols.iter().enumerate() {
            let colour = if Some(b) == self.selected_col { strong } else { text };
            let mut label = g.board_label(b);
            if label.chars().count() > 12 {
                label = label.chars().take(11).collect::<String>() + "…";
            }
            let galley = painter.layout_no_wrap(label, font.clone(), colour);
            let pos = egui::pos2(self.origin.x + (j as f32 + 0.5) * cell - galley.size().y / 2.0, self.origin.y - 4.0);
            painter.add(egui::epaint::TextShape::new(pos, galley, colour).with_angle(-std::f32::consts::FRAC_PI_2));
        }
    }

    /// The tooltip of what is hovered (here or in the graph view), when it is shown here.
    fn hover_text(&self, state: &AppState, g: &Graph) -> Option<String> {
        match (
            state.hovered_pin.filter(|p| self.rows.contains(p)),
            state.hovered_board.filter(|b| self.cols.contains(b)),
        ) {
            (Some(p), Some(b)) => Some(format!(
                "{} {} {}",
                g.pin_label(p),
                if g.boards_of(p).binary_search(&b).is_ok() { "is on" } else { "is not on" },
                g.board_label(b)
            )),
            (Some(p), None) => Some(format!("{} · {} boards", g.pin_label(p), g.boards_of(p).len())),
            (None, Some(b)) => Some(format!("{} · {} pins", g.board_label(b), g.pins_of(b).len())),
            _ => None,
        }
    }
}

/// The view's title and what it shows.
fn header_ui(ui: &mut egui::Ui, slice: &EgoSlice) {
    let (n_pins, n_boards) = slice.nodes.iter().fold((0, 0), |(p, b), n| match n {
        EgoNode::Pin(_) => (p + 1, b),
        EgoNode::Board(_) => (p, b + 1),
    });
    ui.horizontal_wrapped(|ui| {
        ui.strong("Matrix view");
        ui.weak(format!(
            "pins × boards of the neighbourhood ({n_pins} pins, {n_boards} boards; the nearest that fit are shown). A filled cell is a pin saved to a board. Click a cell to select its pin and board; hover to light them up in the picture."
        ));
    });
}
