//! Printing a finished table the way libdm's report code does: aligned
//! columns, `--separator`, `--nameprefixes`, `--rows`, and lvm2's JSON.
//!
//! Every line lvm2 prints goes through `log_print`, which indents it by two
//! spaces; the text produced here includes that indent and a final newline
//! on every line, so it is exactly what `lvs`/`pvs`/`vgs` write to stdout.

use super::fields::{Cell, FieldDef};

/// The layout switches of a basic (non-JSON) report.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub headings: bool,
    pub separator: String,
    pub aligned: bool,
    pub name_prefixes: bool,
    pub quoted: bool,
    pub columns_as_rows: bool,
}

pub(crate) struct Table<'f> {
    pub fields: Vec<&'f FieldDef>,
    /// Sort-only fields that `-O` added: computed, never printed.
    pub hidden: Vec<bool>,
    pub rows: Vec<Vec<Cell>>,
}

/// Every printed line gets lvm2's log indent.
fn push_line(out: &mut String, line: &str) {
    out.push_str("  ");
    out.push_str(line);
    out.push('\n');
}

impl Table<'_> {
    /// Column widths: the field's declared width, widened to the longest
    /// value (lvm2 measures bytes, and so do we).
    fn widths(&self) -> Vec<usize> {
        self.fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                self.rows
                    .iter()
                    .map(|r| r[i].text.len())
                    .fold(f.width(), usize::max)
            })
            .collect()
    }

    fn visible(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.fields.len()).filter(|&i| !self.hidden[i])
    }

    /// One value as `_output_field` prints it.
    fn field_text(&self, i: usize, value: &str, width: usize, l: &Layout) -> String {
        let f = self.fields[i];
        let mut s = String::new();
        if l.name_prefixes {
            s.push_str("LVM2_");
            s.push_str(&f.id.to_ascii_uppercase());
            s.push('=');
            if l.quoted {
                s.push('\'');
            }
        }
        if l.aligned {
            // "%-*.*s" / "%*.*s": pad, and cut anything longer than width.
            let v: String = truncate(value, width);
            if f.kind.right_aligned() {
                s.push_str(&format!("{v:>width$}"));
            } else {
                s.push_str(&format!("{v:<width$}"));
            }
        } else {
            s.push_str(value);
        }
        if l.name_prefixes && l.quoted {
            s.push('\'');
        }
        s
    }

    /// A basic report: heading line and one line per row, or with
    /// `--rows` one line per field.
    pub fn basic(&self, l: &Layout) -> String {
        let mut out = String::new();
        // An empty report prints nothing at all, not even headings.
        if self.rows.is_empty() {
            return out;
        }
        let widths = self.widths();
        if l.columns_as_rows {
            for i in self.visible() {
                let mut line = String::new();
                if l.headings {
                    line.push_str(self.fields[i].heading);
                    line.push_str(&l.separator);
                }
                let cells: Vec<String> = self
                    .rows
                    .iter()
                    .map(|r| self.field_text(i, &r[i].text, widths[i], l))
                    .collect();
                line.push_str(&cells.join(&l.separator));
                push_line(&mut out, &line);
            }
            return out;
        }
        if l.headings {
            let heads: Vec<String> = self
                .visible()
                .map(|i| {
                    let h = self.fields[i].heading;
                    if l.aligned {
                        let w = widths[i];
                        format!("{:<w$}", truncate(h, w))
                    } else {
                        h.to_string()
                    }
                })
                .collect();
            push_line(&mut out, &heads.join(&l.separator));
        }
        for row in &self.rows {
            let cells: Vec<String> = self
                .visible()
                .map(|i| self.field_text(i, &row[i].text, widths[i], l))
                .collect();
            push_line(&mut out, &cells.join(&l.separator));
        }
        out
    }

    /// lvm2's JSON: a fixed frame around one object per row, one line per
    /// row, four-space indentation steps.
    pub fn json(&self, name: &str) -> String {
        let mut out = String::new();
        push_line(&mut out, "{");
        push_line(&mut out, "    \"report\": [");
        push_line(&mut out, "        {");
        push_line(&mut out, &format!("            \"{name}\": ["));
        for (n, row) in self.rows.iter().enumerate() {
            let items: Vec<String> = self
                .visible()
                .map(|i| {
                    // libdm escapes double quotes and nothing else.
                    format!(
                        "\"{}\":\"{}\"",
                        self.fields[i].id,
                        row[i].text.replace('"', "\\\"")
                    )
                })
                .collect();
            let comma = if n + 1 < self.rows.len() { "," } else { "" };
            push_line(
                &mut out,
                &format!("                {{{}}}{}", items.join(", "), comma),
            );
        }
        push_line(&mut out, "            ]");
        push_line(&mut out, "        }");
        push_line(&mut out, "    ]");
        push_line(&mut out, "}");
        out
    }
}

fn truncate(s: &str, width: usize) -> String {
    if s.len() <= width {
        return s.to_string();
    }
    let mut end = width;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
