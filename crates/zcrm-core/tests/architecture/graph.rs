//! The dependency graph between the top-level modules of one crate, and its
//! cycles (strongly connected components of more than one module).

use crate::scan::{self, Token};
use std::collections::{BTreeMap, BTreeSet};

/// The node standing for items defined in the crate root itself.
pub const ROOT: &str = "(crate root)";

/// One source file of a crate: its path from the workspace, its module path
/// (`[]` for the root) and its tokens.
pub struct File {
    pub path: String,
    pub module: Vec<String>,
    pub toks: Vec<Token>,
}

/// Edges between top-level modules, each with where it is made (`file:line`).
pub type Graph = BTreeMap<(String, String), Vec<String>>;

/// Builds the graph from `crate::x`, `super::…` and (in the root) `x::` paths.
/// A name the root re-exports (`pub use refusal::Refusal`) or an exported macro
/// counts as a use of the module defining it; any other name the root defines
/// counts as a use of the root, whose own paths count as its uses. Unit-test
/// modules (`#[cfg(test)]`) are left out: a test may assemble the whole crate.
pub fn build(files: &[File]) -> Graph {
    let root = files
        .iter()
        .find(|f| f.module.is_empty())
        .expect("crate root");
    let modules = declared_modules(&root.toks);
    let mut home: BTreeMap<String, String> = BTreeMap::new();
    for (i, t) in root.toks.iter().enumerate() {
        let first = root
            .toks
            .get(i + 1)
            .filter(|n| t.is("use") && modules.contains(&n.text));
        if let Some(m) = first {
            for leaf in scan::use_leaves(&root.toks, i + 1) {
                home.insert(leaf, m.text.clone());
            }
        }
    }
    for f in files.iter().filter(|f| !f.module.is_empty()) {
        for (i, t) in f.toks.iter().enumerate() {
            if t.is("macro_export") {
                let name = f.toks[i..]
                    .windows(3)
                    .find(|w| w[0].is("macro_rules") && w[1].is("!"));
                if let Some(w) = name {
                    home.insert(w[2].text.clone(), f.module[0].clone());
                }
            }
        }
    }
    let tests: Vec<Vec<String>> = files
        .iter()
        .flat_map(|f| {
            scan::test_modules(&f.toks)
                .into_iter()
                .map(|m| [f.module.clone(), vec![m]].concat())
        })
        .collect();
    let mut graph = Graph::new();
    for f in files
        .iter()
        .filter(|f| !tests.iter().any(|t| f.module.starts_with(t)))
    {
        let from = f
            .module
            .first()
            .cloned()
            .unwrap_or_else(|| ROOT.to_string());
        let mut refs = scan::references(&f.toks, &f.module);
        if f.module.is_empty() {
            refs.extend(relative_paths(&f.toks, &modules));
        }
        for r in refs {
            let to = if modules.contains(&r.name) {
                r.name
            } else {
                home.get(&r.name)
                    .cloned()
                    .unwrap_or_else(|| ROOT.to_string())
            };
            if to != from {
                let at = format!("{}:{}", f.path, r.line);
                graph.entry((from.clone(), to)).or_default().push(at);
            }
        }
    }
    graph
}

/// `mod x;` and `mod x { … }` at the top of the root.
fn declared_modules(toks: &[Token]) -> BTreeSet<String> {
    let mut depth = 0;
    let mut out = BTreeSet::new();
    for (i, t) in toks.iter().enumerate() {
        match t.text.as_str() {
            "{" => depth += 1,
            "}" => depth -= 1,
            "mod" if depth == 0 => {
                if let Some(n) = toks.get(i + 1).filter(|n| n.ident) {
                    out.insert(n.text.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// In the root, `x::…` names module `x` without `crate::`.
fn relative_paths(toks: &[Token], modules: &BTreeSet<String>) -> Vec<scan::Reference> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let qualified = i > 0 && toks[i - 1].is("::");
        let is_path = toks.get(i + 1).is_some_and(|n| n.is("::"));
        if modules.contains(&t.text) && is_path && !qualified {
            out.push(scan::Reference {
                name: t.text.clone(),
                line: t.line,
            });
        }
    }
    out
}

/// Every set of modules that depend on each other (Tarjan's algorithm).
pub fn cycles(graph: &Graph) -> Vec<BTreeSet<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in graph.keys() {
        next.entry(from).or_default().push(to);
        next.entry(to).or_default();
    }
    let mut t = Tarjan {
        next: &next,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for n in next.keys() {
        if !t.index.contains_key(n) {
            t.visit(n);
        }
    }
    t.out
}

struct Tarjan<'a> {
    next: &'a BTreeMap<&'a str, Vec<&'a str>>,
    index: BTreeMap<&'a str, usize>,
    low: BTreeMap<&'a str, usize>,
    stack: Vec<&'a str>,
    on_stack: BTreeSet<&'a str>,
    out: Vec<BTreeSet<String>>,
}

impl<'a> Tarjan<'a> {
    fn visit(&mut self, n: &'a str) {
        let i = self.index.len();
        self.index.insert(n, i);
        self.low.insert(n, i);
        self.stack.push(n);
        self.on_stack.insert(n);
        for &m in &self.next[n] {
            if !self.index.contains_key(m) {
                self.visit(m);
                let low = self.low[n].min(self.low[m]);
                self.low.insert(n, low);
            } else if self.on_stack.contains(m) {
                let low = self.low[n].min(self.index[m]);
                self.low.insert(n, low);
            }
        }
        if self.low[n] == self.index[n] {
            let mut scc = BTreeSet::new();
            while let Some(m) = self.stack.pop() {
                self.on_stack.remove(m);
                scc.insert(m.to_string());
                if m == n {
                    break;
                }
            }
            if scc.len() > 1 {
                self.out.push(scc);
            }
        }
    }
}

/// A cycle as a reader needs it to break it: each edge inside it, with the
/// places that make it.
pub fn describe(graph: &Graph, scc: &BTreeSet<String>) -> String {
    let mut out = String::new();
    for ((from, to), places) in graph {
        if scc.contains(from) && scc.contains(to) {
            let mut places = places.clone();
            places.dedup();
            let shown: Vec<&str> = places.iter().take(4).map(String::as_str).collect();
            let more = places.len().saturating_sub(4);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            out.push_str(&format!("\n    {from} -> {to}: {}{more}", shown.join(", ")));
        }
    }
    out
}
