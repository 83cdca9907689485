//! Plain-text tables for `herald ctl`: a header row, then one row per item, each column as wide
//! as its widest cell, two spaces between columns.
//!
//! Terminals, `grep` and `awk` all read such tables, so there are no borders and no colours.
//! Widths count `char`s: identifiers in Herald (node ids, hubs, users, lease ids) are short and
//! almost always ASCII, and a wide glyph only shifts its own row.

/// How the cells of a column line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    /// Text: ids, states, URLs.
    Left,
    /// Numbers, so that digits of the same weight line up.
    Right,
}

#[derive(Debug, Clone)]
struct Column {
    title: String,
    align: Align,
}

/// A table under construction: declare the columns, push rows, [`Table::render`].
#[derive(Debug, Clone, Default)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

/// The space between two columns.
const GAP: &str = "  ";

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a left-aligned column (text).
    pub fn left(self, title: &str) -> Self {
        self.column(title, Align::Left)
    }

    /// Adds a right-aligned column (numbers).
    pub fn right(self, title: &str) -> Self {
        self.column(title, Align::Right)
    }

    fn column(mut self, title: &str, align: Align) -> Self {
        self.columns.push(Column {
            title: title.to_owned(),
            align,
        });
        self
    }

    /// Adds a row; missing cells are empty and cells beyond the declared columns are dropped,
    /// so a row can never shift the columns after it.
    pub fn push(&mut self, row: Vec<String>) {
        let mut row = row;
        row.resize(self.columns.len(), String::new());
        self.rows.push(row);
    }

    /// The header and every row, each line ending in `\n`, without trailing spaces.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                self.rows
                    .iter()
                    .map(|row| width(&row[i]))
                    .chain([width(&column.title)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header: Vec<&str> = self.columns.iter().map(|c| c.title.as_str()).collect();
        let mut out = String::new();
        for cells in std::iter::once(header).chain(
            self.rows
                .iter()
                .map(|r| r.iter().map(String::as_str).collect()),
        ) {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i > 0 {
                    line.push_str(GAP);
                }
                let pad = " ".repeat(widths[i] - width(cell));
                match self.columns[i].align {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&pad);
                    }
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn width(cell: &str) -> usize {
    cell.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_two_spaces_apart() {
        let mut table = Table::new().left("ID").left("STATE").right("CONNECTIONS");
        table.push(row(&["node-a", "ready", "3"]));
        table.push(row(&["node-bb", "unreachable", "120"]));
        assert_eq!(
            table.render(),
            "ID       STATE        CONNECTIONS\n\
             node-a   ready                  3\n\
             node-bb  unreachable          120\n"
        );
    }

    #[test]
    fn a_cell_wider_than_its_title_widens_the_column_and_right_aligns_the_title() {
        let mut table = Table::new().right("N").left("NAME");
        table.push(row(&["1000", "x"]));
        assert_eq!(table.render(), "   N  NAME\n1000  x\n");
    }

    #[test]
    fn lines_carry_no_trailing_spaces_when_the_last_column_is_short() {
        let mut table = Table::new().left("A").left("GROUPS");
        table.push(row(&["a", ""]));
        table.push(row(&["bbb", "g"]));
        assert_eq!(table.render(), "A    GROUPS\na\nbbb  g\n");
    }

    #[test]
    fn rows_of_the_wrong_length_keep_the_columns_in_place() {
        let mut table = Table::new().left("A").left("B");
        table.push(row(&["x"]));
        table.push(row(&["y", "z", "dropped"]));
        assert_eq!(table.render(), "A  B\nx\ny  z\n");
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let mut table = Table::new().left("USER").left("HUB");
        table.push(row(&["zoë", "chat"]));
        table.push(row(&["bob1", "chat"]));
        assert_eq!(table.render(), "USER  HUB\nzoë   chat\nbob1  chat\n");
    }

    #[test]
    fn an_empty_table_is_its_header() {
        let table = Table::new().left("ID").right("LAG");
        assert_eq!(table.render(), "ID  LAG\n");
    }
}
