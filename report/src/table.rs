//! Aligned text and markdown tables, so the terminal and markdown reports share their cells.

use crate::html::escaped;

/// How a column's cells line up in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// A header and rows of already formatted cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column headers.
    pub(crate) fn new(columns: &[(&'static str, Align)]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; it must have one cell per column.
    pub(crate) fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len(), "one cell per column");
        self.rows.push(row);
    }

    /// Header, a dash rule, then the rows; every line is padded to the same width so that
    /// the table stays a rectangle whatever the cell lengths.
    pub(crate) fn to_text(&self) -> String {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(c, (header, _))| {
                self.rows
                    .iter()
                    .map(|row| row[c].chars().count())
                    .chain([header.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<String>| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&self.columns)
                .zip(&widths)
                .map(|((cell, (_, align)), &width)| {
                    let fill = " ".repeat(width - cell.chars().count());
                    match align {
                        Align::Left => format!("{cell}{fill}"),
                        Align::Right => format!("{fill}{cell}"),
                    }
                })
                .collect();
            padded.join("  ") + "\n"
        };
        let mut out = line(self.columns.iter().map(|(h, _)| (*h).to_owned()).collect());
        out += &line(widths.iter().map(|&w| "-".repeat(w)).collect());
        for row in &self.rows {
            out += &line(row.clone());
        }
        out
    }

    /// A GitHub markdown table; pipes and line breaks inside cells are escaped so that every
    /// line keeps one cell per column.
    pub(crate) fn to_markdown(&self) -> String {
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let mut out = line(self.columns.iter().map(|(h, _)| (*h).to_owned()).collect());
        out += &line(
            self.columns
                .iter()
                .map(|(_, align)| match align {
                    Align::Left => "---".to_owned(),
                    Align::Right => "---:".to_owned(),
                })
                .collect(),
        );
        for row in &self.rows {
            out += &line(row.iter().map(|cell| markdown_cell(cell)).collect());
        }
        out
    }
}

impl Table {
    /// An HTML `<table>`, every cell escaped; right-aligned columns get `class="num"`.
    pub(crate) fn to_html(&self) -> String {
        let class = |align: &Align| match align {
            Align::Left => "",
            Align::Right => " class=\"num\"",
        };
        let mut out = String::from("<table>\n<thead><tr>");
        for (header, align) in &self.columns {
            out += &format!("<th{}>{}</th>", class(align), escaped(header));
        }
        out += "</tr></thead>\n<tbody>\n";
        for row in &self.rows {
            out += "<tr>";
            for (cell, (_, align)) in row.iter().zip(&self.columns) {
                out += &format!("<td{}>{}</td>", class(align), escaped(cell));
            }
            out += "</tr>\n";
        }
        out + "</tbody>\n</table>\n"
    }
}

fn markdown_cell(cell: &str) -> String {
    cell.replace('|', "\\|").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut table = Table::new(&[("name", Align::Left), ("n", Align::Right)]);
        table.push(vec!["a|b".to_owned(), "7".to_owned()]);
        table.push(vec!["longer name".to_owned(), "1234".to_owned()]);
        table
    }

    #[test]
    fn text_pads_every_line_to_the_same_width_and_aligns_right_columns() {
        assert_eq!(
            sample().to_text(),
            "name            n\n\
             -----------  ----\n\
             a|b             7\n\
             longer name  1234\n"
        );
    }

    #[test]
    fn markdown_escapes_pipes_in_cells() {
        assert_eq!(
            sample().to_markdown(),
            "| name | n |\n| --- | ---: |\n| a\\|b | 7 |\n| longer name | 1234 |\n"
        );
    }
}
