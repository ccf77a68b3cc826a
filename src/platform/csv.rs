//! CSV as spreadsheets will open it: RFC 4180 quoting, and text that a spreadsheet would
//! read as a formula (`=`, `+`, `-`, `@`, tab, carriage return first) neutralised with a
//! leading apostrophe, so that ad text, reasons and names can never run as formulas. In
//! locales that split on `;`, a spreadsheet starts a new cell after every `;` even inside a
//! quoted field, so what follows a `;` is neutralised the same way (`a;=1+1` is written
//! `a;'=1+1`).

/// Characters that make a spreadsheet read a cell as a formula when they come first.
fn starts_formula(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// One field, quoted when it must be and neutralised when it could be a formula: at its
/// start, and after every `;`, where a spreadsheet in a locale that splits on `;` starts a new
/// cell whatever the quoting (quotes only count at a cell's start).
pub fn field(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    if value.chars().next().is_some_and(starts_formula) {
        out.push('\'');
    }
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == ';' && chars.peek().is_some_and(|&n| starts_formula(n) || n == '"') {
            out.push('\'');
        }
    }
    if out.contains([',', ';', '"', '\n', '\r']) {
        format!("\"{}\"", out.replace('"', "\"\""))
    } else {
        out
    }
}

/// One record, ending in CRLF.
pub fn record<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_neutralises() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            field("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("\tcmd"), "'\tcmd");
        assert_eq!(field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(record(&["a", "=1"]), "a,'=1\r\n");
        assert_eq!(field("a;=1+1"), "\"a;'=1+1\"");
        assert_eq!(field("=1;\"=2"), "\"'=1;'\"\"=2\"");
    }
}
