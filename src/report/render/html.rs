//! One self-contained HTML page: inline CSS and SVG charts, no script, a content security
//! policy that forbids fetching anything, print styles.

use std::fmt::Write as _;

use super::blocks::{Block, Cell, Span};
use super::layout::layout;
use crate::report::{Report, ReportError, escape};

const CSS: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 2rem auto;
  max-width: 1200px; padding: 0 1.5rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .3rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #0072b2; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
nav ul { display: flex; flex-wrap: wrap; gap: .3rem 1rem; padding: 0; list-style: none; }
nav a { color: #0072b2; text-decoration: none; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .86rem; display: block;
  max-width: 100%; overflow-x: auto; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; vertical-align: top; text-align: left;
  overflow-wrap: break-word; }
th { overflow-wrap: normal; }
th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, pre { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: .8rem; }
td code { word-break: break-all; }
pre { background: #f5f5f5; border: 1px solid #ddd; padding: .6rem; white-space: pre-wrap;
  word-break: break-all; }
.ctl { background: #ffe3a3; color: #6b4000; border-radius: 3px; padding: 0 2px;
  font-family: ui-monospace, monospace; font-size: .8em; }
figure { display: inline-block; margin: .4rem .8rem .8rem 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { font-size: .8rem; color: #555; }
footer { margin-top: 3rem; font-size: .8rem; color: #666; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  nav { display: none; }
  h2 { break-before: auto; break-after: avoid; }
  h3 { break-after: avoid; }
  table { display: table; overflow: visible; }
  tr, figure { break-inside: avoid; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
";

fn html_spans(spans: &[Span], out: &mut String) {
    for s in spans {
        match s {
            Span::Text(t) => out.push_str(&escape::html(t)),
            Span::Strong(t) => {
                let _ = write!(out, "<strong>{}</strong>", escape::html(t));
            }
        }
    }
}

/// The SVG element of a chart for inline use in HTML: the XML namespace attribute (a URL the
/// HTML parser does not need) removed, so the page names no external address at all.
fn inline_svg(svg: &str) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

/// One self-contained HTML page: inline CSS and SVG, no script, a content security policy
/// that forbids fetching anything.
pub fn html(r: &Report) -> Result<String, ReportError> {
    let blocks = layout(r, true)?;
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\n",
    );
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        o,
        "<meta name=\"generator\" content=\"embedscope {}\">",
        escape::html(&r.embedscope_version)
    );
    let _ = writeln!(o, "<title>{}</title>", escape::html(&r.title));
    let _ = writeln!(o, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(o, "<h1>{}</h1>", escape::html(&r.title));
    o.push_str("<nav><ul>\n");
    for s in &r.sections {
        let _ = writeln!(
            o,
            "<li><a href=\"#{}\">{}</a></li>",
            s.name(),
            escape::html(s.title())
        );
    }
    o.push_str("</ul></nav>\n");
    for b in &blocks {
        match b {
            Block::Heading(level, t, id) => {
                let _ = writeln!(
                    o,
                    "<h{level} id=\"{}\">{}</h{level}>",
                    escape::html(id),
                    escape::html(t)
                );
            }
            Block::Para(spans) => {
                o.push_str("<p>");
                html_spans(spans, &mut o);
                o.push_str("</p>\n");
            }
            Block::Code(t) => {
                let _ = writeln!(o, "<pre>{}</pre>", escape::html(t));
            }
            Block::Image { alt, svg, .. } => {
                let _ = writeln!(
                    o,
                    "<figure role=\"img\" aria-label=\"{}\">\n{}<figcaption>{}</figcaption>\n\
                     </figure>",
                    escape::html(alt),
                    inline_svg(svg),
                    escape::html(alt)
                );
            }
            Block::Table { head, rows, .. } => {
                o.push_str("<table>\n<thead><tr>");
                for h in head {
                    let _ = write!(o, "<th>{}</th>", escape::html(h));
                }
                o.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    o.push_str("<tr>");
                    for c in row {
                        match c {
                            Cell::Code(t) => {
                                let _ = write!(o, "<td><code>{}</code></td>", escape::html(t));
                            }
                            c if c.is_number() => {
                                let _ = write!(
                                    o,
                                    "<td class=\"num\">{}</td>",
                                    escape::html(&c.shown())
                                );
                            }
                            c => {
                                let _ = write!(o, "<td>{}</td>", escape::html(&c.shown()));
                            }
                        }
                    }
                    o.push_str("</tr>\n");
                }
                o.push_str("</tbody>\n</table>\n");
            }
        }
    }
    let _ = writeln!(
        o,
        "<footer>Made by embedscope {} on this machine; no data was sent anywhere.</footer>\n\
         </body>\n</html>",
        escape::html(&r.embedscope_version)
    );
    Ok(o)
}
