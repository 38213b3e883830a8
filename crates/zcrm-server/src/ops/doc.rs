//! The README's list of served operations, rendered from the table (a test
//! checks the README holds exactly this; `ZCRM_BLESS=1` rewrites it).

use super::{Need, Source, OPERATIONS};
use std::fmt::Write;

fn scope(need: Need) -> String {
    match need {
        Need::Module(o) => format!("`ZohoCRM.modules.{{module}}.{}`", o.as_str()),
        Need::Scope(s) => format!("`{s}`"),
        Need::ModuleOr(o, alt) => {
            format!("`ZohoCRM.modules.{{module}}.{}` or `{alt}`", o.as_str())
        }
        Need::Family(f, o) => {
            let o = o.as_str();
            format!("`ZohoCRM.{f}.{o}` or `ZohoCRM.{f}.{{module}}.{o}`")
        }
        Need::Related(o) => format!("`ZohoCRM.modules.{{related}}.{}`", o.as_str()),
        Need::JobModule(_, o) => format!("`ZohoCRM.modules.{{job's module}}.{}`", o.as_str()),
        Need::All(needs) => needs
            .iter()
            .map(|n| match scope(*n) {
                alt if alt.contains(" or ") => format!("({alt})"),
                one => one,
            })
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

/// One Markdown table row per operation, in table order.
pub fn markdown() -> String {
    let mut out = String::from(
        "| method | path | Zoho's document: operationId | scope | credits |\n|---|---|---|---|---|\n",
    );
    for o in OPERATIONS {
        let source = match o.source {
            Source::Spec { doc, id } => format!("{doc}: {id}"),
            Source::Page(p) => format!("developer page: {p}"),
        };
        let credits = match o.credits {
            (a, b) if a == b => a.to_string(),
            (a, b) => format!("{a}–{b}"),
        };
        let mut flags = String::new();
        if o.heavy {
            flags.push_str(", heavy");
        }
        if !o.composite {
            flags.push_str(", not in composite");
        }
        let _ = writeln!(
            out,
            "| {} | `{}` | {source} | {} | {credits}{flags} |",
            o.method.as_str(),
            o.path,
            scope(o.need)
        );
    }
    let _ = writeln!(out, "\n{} operations", OPERATIONS.len());
    out
}
