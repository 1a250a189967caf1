//! Escaping for every output format, and hazardous characters made visible.
//!
//! A token is untrusted text: it may hold markup (`<script>`), table syntax (`|`), line breaks,
//! or characters that change how the text around them is shown (the right-to-left override
//! U+202E, zero-width characters). Human-facing formats show such characters as Rust-style
//! escapes (`\n`, `\u{202e}`); JSON keeps the exact text but writes them as `\uXXXX` escapes.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that are invisible or reorder the text around them: control characters (C0, DEL,
/// C1), bidirectional controls, zero-width characters, line and paragraph separators, the byte
/// order mark, the soft hyphen, variation of nothing visible.
pub fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// The visible stand-in of a hazardous character: `\n`, `\t`, `\r`, else `\u{XXXX}`.
fn stand_in(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
}

/// `s` with every hazardous character replaced by its visible stand-in.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hazard) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hazard(c) {
            stand_in(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for HTML element content or a quoted attribute value: `& < > " '` as entities, hazards
/// as visible stand-ins in a `ctl` span.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_hazard(c) => {
                out.push_str("<span class=\"ctl\">");
                stand_in(c, &mut out);
                out.push_str("</span>");
            }
            c => out.push(c),
        }
    }
    out
}

/// Text for XML (an SVG `<text>` element or attribute): hazards as visible stand-ins, then
/// `& < > " '` as entities.
pub fn xml(s: &str) -> String {
    let v = visible(s);
    let mut out = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Text for a Markdown paragraph or table cell: hazards visible, then every character that can
/// start inline markup in CommonMark or GitHub Markdown backslash-escaped (emphasis, code,
/// links and images, raw HTML and entities, table pipes, strikethrough, math, autolinks
/// through `://`, `@` and `www.`), and a block marker at the start escaped, so `<script>` shows
/// as text and `|` does not split a cell.
pub fn markdown(s: &str) -> String {
    markdown_with(s, true)
}

/// Text for a Markdown table cell: as [`markdown`], without the block-marker rule (a cell
/// cannot start a block, so `0.5` and `-1` stay as they are).
pub fn markdown_cell(s: &str) -> String {
    markdown_with(s, false)
}

fn markdown_with(s: &str, block_start: bool) -> String {
    let v = visible(s);
    let www = v.to_ascii_lowercase().contains("www.");
    let mut out = String::with_capacity(v.len() + 8);
    let mut at_start = block_start;
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        let inline = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '!' | '$' | '@'
        ) || (c == '.' && www)
            || (c == ':' && chars.peek() == Some(&'/'));
        let block = at_start
            && (matches!(c, '#' | '+' | '-' | '=')
                || (c.is_ascii_digit() && {
                    // "1." or "1)" would start an ordered list.
                    let rest: String = chars.clone().take_while(|x| x.is_ascii_digit()).collect();
                    let after = chars.clone().nth(rest.len());
                    matches!(after, Some('.' | ')'))
                }));
        if block && c.is_ascii_digit() {
            out.push(c);
            for d in chars.by_ref() {
                if d.is_ascii_digit() {
                    out.push(d);
                } else {
                    out.push('\\');
                    out.push(d);
                    break;
                }
            }
            at_start = false;
            continue;
        }
        if inline || block {
            out.push('\\');
        }
        out.push(c);
        at_start = c == ' ' && at_start;
    }
    out
}

/// Text inside a Markdown fenced code block (```text): hazards visible; a line of backticks
/// cannot close the fence because the fence is longer than any run in the text.
pub fn markdown_fence(s: &str) -> (String, String) {
    let v = visible(s).into_owned();
    let mut longest = 0;
    let mut run = 0;
    for c in v.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    ("`".repeat((longest + 1).max(3)), v)
}

/// One CSV field: hazards visible, then RFC 4180 quoting (see [`crate::formats::csv_field`]).
pub fn csv(s: &str) -> String {
    crate::formats::csv_field(&visible(s))
}

/// JSON text with every hazardous non-ASCII character (which can only occur inside strings)
/// written as a `\uXXXX` escape: the same value, nothing that reorders a viewer's display.
pub fn json_ascii_hazards(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !c.is_ascii() && is_hazard(c) {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazards_are_visible() {
        assert_eq!(visible("plain"), "plain");
        assert_eq!(visible("a\nb\u{202e}c\u{200b}"), "a\\nb\\u{202e}c\\u{200b}");
        assert_eq!(visible("\u{7f}\u{85}"), "\\u{007f}\\u{0085}");
    }

    #[test]
    fn html_escapes_markup_and_marks_controls() {
        assert_eq!(
            html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            html("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(html("a&b'"), "a&amp;b&#39;");
        assert_eq!(html("x\u{202e}"), "x<span class=\"ctl\">\\u{202e}</span>");
    }

    #[test]
    fn markdown_escapes_markup() {
        assert_eq!(markdown("a|b"), "a\\|b");
        assert_eq!(markdown("`x`"), "\\`x\\`");
        assert_eq!(markdown("<b>"), "\\<b\\>");
        assert_eq!(markdown("l1\nl2"), "l1\\\\nl2");
        assert_eq!(markdown("www.x.com"), "www\\.x\\.com");
        assert_eq!(markdown("a.b (c) - d"), "a.b (c) - d");
        assert_eq!(markdown("# h"), "\\# h");
        assert_eq!(markdown("12. x"), "12\\. x");
        assert_eq!(markdown("12 x"), "12 x");
        assert_eq!(markdown("http://e"), "http\\://e");
        assert_eq!(markdown_cell("0.5 | -1"), "0.5 \\| -1");
        assert_eq!(markdown("0. x"), "0\\. x");
        let (fence, body) = markdown_fence("a ```` b");
        assert_eq!(fence, "`````");
        assert_eq!(body, "a ```` b");
    }

    #[test]
    fn csv_quotes_and_shows_controls() {
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("a\nb"), "a\\nb");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn json_hazards_are_escaped_and_keep_the_value() {
        let v = serde_json::json!({"t": "x\u{202e}y\u{85}z\n"});
        let text = json_ascii_hazards(&serde_json::to_string(&v).unwrap());
        assert!(!text.contains('\u{202e}'));
        assert!(text.contains("\\u202e"));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
