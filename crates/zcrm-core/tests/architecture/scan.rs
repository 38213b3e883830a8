//! Just enough of Rust's lexical structure to measure functions and follow
//! module paths: comments, strings, chars and lifetimes are skipped, so a `{`
//! or a `crate::` inside them counts for nothing.

/// An identifier (`ident`) or one punctuation character (`::` is one token).
#[derive(Debug, Clone)]
pub struct Token {
    pub text: String,
    pub line: usize,
    pub ident: bool,
}

impl Token {
    pub fn is(&self, s: &str) -> bool {
        self.text == s
    }
}

pub fn lex(src: &str) -> Vec<Token> {
    let b: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let push = |out: &mut Vec<Token>, text: String, line: usize, ident: bool| {
        out.push(Token { text, line, ident })
    };
    while i < b.len() {
        let (c, next) = (b[i], b.get(i + 1).copied());
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = block_comment(&b, i, &mut line);
        } else if let Some(end) = string(&b, i, &mut line) {
            i = end;
        } else if c == '\'' || (c == 'b' && next == Some('\'')) {
            i = quote(&b, if c == 'b' { i + 1 } else { i });
        } else if c.is_alphabetic() || c == '_' {
            let raw = c == 'r' && next == Some('#');
            let start = if raw { i + 2 } else { i };
            i = start;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            push(&mut out, b[start..i].iter().collect(), line, true);
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            push(&mut out, "::".into(), line, false);
            i += 2;
        } else {
            push(&mut out, c.to_string(), line, false);
            i += 1;
        }
    }
    out
}

/// Skips a (nested) block comment starting at `i`.
fn block_comment(b: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut depth = 0;
    while i < b.len() {
        if b[i] == '/' && b.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            *line += usize::from(b[i] == '\n');
            i += 1;
        }
    }
    i
}

/// If a string literal (`"…"`, `b"…"`, `c"…"`, `r#"…"#`, `br"…"`) starts at
/// `i`, where it ends.
fn string(b: &[char], i: usize, line: &mut usize) -> Option<usize> {
    let mut j = i;
    if matches!(b[j], 'b' | 'c') {
        j += 1;
    }
    let raw = b.get(j) == Some(&'r');
    if raw {
        j += 1;
    }
    let mut hashes = 0;
    while raw && b.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if b.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < b.len() {
        match b[j] {
            '\\' if !raw => j += 1,
            '"' if (1..=hashes).all(|k| b.get(j + k) == Some(&'#')) => return Some(j + 1 + hashes),
            '\n' => *line += 1,
            _ => {}
        }
        j += 1;
    }
    Some(j)
}

/// Skips a char literal or a lifetime starting at the `'` at `i`.
fn quote(b: &[char], i: usize) -> usize {
    if b.get(i + 1) == Some(&'\\') {
        let mut j = i + 3;
        while j < b.len() && b[j] != '\'' {
            j += 1;
        }
        return j + 1;
    }
    if b.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    let mut j = i + 1;
    while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
        j += 1;
    }
    j
}

/// A function with a body.
#[derive(Debug)]
pub struct Function {
    pub name: String,
    pub line: usize,
    /// From the line of its opening brace to that of its closing one.
    pub body_lines: usize,
}

/// Every `fn` item with a body, nested ones included.
pub fn functions(toks: &[Token]) -> Vec<Function> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let Some(name) = toks.get(i + 1).filter(|n| t.is("fn") && n.ident) else {
            continue;
        };
        let mut depth = 0i32;
        let mut open = None;
        for (j, s) in toks.iter().enumerate().skip(i + 2) {
            match s.text.as_str() {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                ";" if depth == 0 => break,
                "{" if depth == 0 => {
                    open = Some(j);
                    break;
                }
                _ => {}
            }
        }
        if let Some(open) = open {
            let close = matching_brace(toks, open);
            out.push(Function {
                name: name.text.clone(),
                line: t.line,
                body_lines: toks[close].line - toks[open].line + 1,
            });
        }
    }
    out
}

/// The index of the `}` closing the `{` at `open` (the last token if none).
fn matching_brace(toks: &[Token], open: usize) -> usize {
    let mut depth = 0;
    for (j, t) in toks.iter().enumerate().skip(open) {
        if t.is("{") {
            depth += 1;
        } else if t.is("}") {
            depth -= 1;
            if depth == 0 {
                return j;
            }
        }
    }
    toks.len() - 1
}

/// A path into the crate from a file: `crate::x…`, or `super::…` climbing to
/// the root and on to `x`, names `x`; `super::…` staying inside the file's own
/// top-level module `m` names `m`.
#[derive(Debug)]
pub struct Reference {
    pub name: String,
    pub line: usize,
}

/// Whether the `mod` at `i` is compiled for tests only (`#[cfg(test)]`).
pub fn test_only(toks: &[Token], i: usize) -> bool {
    let mut j = i;
    if j >= 4 && toks[j - 1].is(")") && toks[j - 4].is("pub") {
        j -= 4;
    } else if j >= 1 && toks[j - 1].is("pub") {
        j -= 1;
    }
    let cfg_test = ["#", "[", "cfg", "(", "test", ")", "]"];
    j >= 7 && toks[j - 7..j].iter().zip(cfg_test).all(|(t, w)| t.is(w))
}

/// The `#[cfg(test)] mod x;` a file declares: unit tests in files of their own.
pub fn test_modules(toks: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let declared = toks.get(i + 2).is_some_and(|s| s.is(";"));
        if t.is("mod") && declared && test_only(toks, i) {
            out.push(toks[i + 1].text.clone());
        }
    }
    out
}

/// The crate paths used in a file whose module path is `module` (`[]` for the
/// crate root, `["outbox", "claim"]` for `src/outbox/claim.rs`). Inline `mod x
/// { … }` blocks deepen the path, so `super::` in a `mod tests` resolves right;
/// what an inline `#[cfg(test)]` module uses is left out.
pub fn references(toks: &[Token], module: &[String]) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut inline: Vec<(String, usize, bool)> = Vec::new();
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate() {
        match t.text.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d, _)| *d == depth) {
                    inline.pop();
                }
            }
            "mod" if toks.get(i + 2).is_some_and(|n| n.is("{")) => {
                inline.push((toks[i + 1].text.clone(), depth, test_only(toks, i)));
            }
            _ => {}
        }
        let after_path = i > 0 && toks[i - 1].is("::");
        let in_test = inline.iter().any(|(_, _, test)| *test);
        if after_path || in_test || !(t.is("crate") || t.is("super")) {
            continue;
        }
        let mut path: Vec<String> = module.to_vec();
        path.extend(inline.iter().map(|(n, _, _)| n.clone()));
        let is_sep = |k: usize| toks.get(k).is_some_and(|s| s.is("::"));
        let mut j = i;
        if t.is("crate") {
            path.clear();
        } else {
            while toks[j].is("super") && is_sep(j + 1) && toks.len() > j + 2 {
                path.pop();
                j += 2;
            }
            if j == i {
                continue;
            }
            j -= 2;
        }
        if !is_sep(j + 1) {
            continue;
        }
        let names = match path.first() {
            Some(top) => vec![top.clone()],
            None => first_segments(toks, j + 2),
        };
        out.extend(
            names
                .into_iter()
                .map(|name| Reference { name, line: t.line }),
        );
    }
    out
}

/// The first segment of the path starting at `i`: one name, or each branch's
/// first name in a `{a, b::c}` group.
pub fn first_segments(toks: &[Token], i: usize) -> Vec<String> {
    match toks.get(i) {
        Some(t) if t.ident && t.text != "self" => vec![t.text.clone()],
        Some(t) if t.is("{") => {
            let (mut depth, mut out) = (0, Vec::new());
            for (j, s) in toks.iter().enumerate().skip(i) {
                match s.text.as_str() {
                    "{" => depth += 1,
                    "}" => depth -= 1,
                    _ if depth == 1
                        && s.ident
                        && s.text != "self"
                        && (toks[j - 1].is("{") || toks[j - 1].is(",")) =>
                    {
                        out.push(s.text.clone())
                    }
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

/// The names a `use` tree starting at `i` brings into scope (the last segment
/// of each branch, or what it is renamed `as`), up to its `;`.
pub fn use_leaves(toks: &[Token], i: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (j, t) in toks.iter().enumerate().skip(i) {
        if t.is(";") {
            break;
        }
        let next = toks.get(j + 1).map(|n| n.text.as_str());
        if t.ident
            && t.text != "self"
            && t.text != "as"
            && matches!(next, Some(",") | Some("}") | Some(";"))
        {
            out.push(t.text.clone());
        }
    }
    out
}
