//! `badge.svg`: a flat two-part badge, `PSS <profile> | <decisions score>`, green when
//! certified, red when not; the message score in its tooltip.

use super::html::esc;
use super::model::Report;

/// Approximate width of text in 11px Verdana (the badge convention), in pixels.
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            'i' | 'l' | '.' | ',' | ':' | '|' | '!' | '\'' => 4,
            'm' | 'w' | 'M' | 'W' | '%' | '@' => 10,
            c if c.is_ascii_uppercase() => 8,
            _ => 7,
        })
        .sum::<usize>()
        + 10
}

/// The badge.
pub fn render(report: &Report) -> String {
    let label = format!("PSS {}", report.engine.profile);
    let d = &report.verdict.decisions;
    let value = format!("{:.2}% decisions", d.percent).replace(".00%", "%");
    let colour = match report.verdict.certified {
        true => "#2da44e",
        false => "#cf222e",
    };
    let m = &report.verdict.messages;
    let title = format!(
        "{label}: decisions {}/{} conform, messages {}/{} scenarios and {}/{} goldens",
        d.conforming,
        d.judged(),
        m.scenarios.conforming,
        m.scenarios.judged(),
        m.goldens.conforming,
        m.goldens.judged()
    );
    let (lw, vw) = (width(&label), width(&value));
    let total = lw + vw;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" \
         aria-label=\"{label_e}: {value_e}\"><title>{title_e}</title>\
         <linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" \
         stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
         <clipPath id=\"r\"><rect width=\"{total}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
         <g clip-path=\"url(#r)\"><rect width=\"{lw}\" height=\"20\" fill=\"#555\"/>\
         <rect x=\"{lw}\" width=\"{vw}\" height=\"20\" fill=\"{colour}\"/>\
         <rect width=\"{total}\" height=\"20\" fill=\"url(#s)\"/></g>\
         <g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" \
         font-size=\"11\"><text x=\"{lx}\" y=\"14\">{label_e}</text>\
         <text x=\"{vx}\" y=\"14\">{value_e}</text></g></svg>\n",
        label_e = esc(&label),
        value_e = esc(&value),
        title_e = esc(&title),
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}
