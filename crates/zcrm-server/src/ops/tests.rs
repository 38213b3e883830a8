use super::*;
use std::collections::HashSet;
use std::path::PathBuf;

/// A concrete path for a template: modules, ids and related lists filled in.
pub(crate) fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| match s {
            "{module}" => "Leads",
            "{related}" => "Notes",
            s if s.starts_with('{') => "4876876000000123001",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn ids_are_table_positions() {
    for (i, o) in OPERATIONS.iter().enumerate() {
        assert_eq!(o.index(), i, "{}", o.key());
        assert!(std::ptr::eq(get(o.id), o));
    }
}

#[test]
fn each_method_and_path_once() {
    let mut seen = HashSet::new();
    for o in OPERATIONS {
        assert!(seen.insert(o.key()), "twice: {}", o.key());
        assert!(
            o.credits.0 >= 1 && o.credits.0 <= o.credits.1,
            "{}",
            o.key()
        );
        check_need(o.need, o);
    }
}

/// Fixed scopes parse; a rule naming `{module}`, `{related}` or `{job_id}`
/// is only on a path that has it; `All` holds at least two needs.
fn check_need(need: Need, o: &Operation) {
    let has = |p: &str| o.path.contains(p);
    match need {
        Need::Scope(s) => assert!(zcrm_core::scope::Scope::parse(s).is_some(), "{s}"),
        Need::ModuleOr(_, s) => {
            assert!(zcrm_core::scope::Scope::parse(s).is_some(), "{s}");
            assert!(has("{module}"), "{}", o.key());
        }
        Need::Module(_) | Need::Family(..) => assert!(has("{module}"), "{}", o.key()),
        Need::Related(_) => assert!(has("{module}") && has("{related}"), "{}", o.key()),
        Need::JobModule(kind, _) => {
            assert!(has("{job_id}") && o.path.contains(kind), "{}", o.key())
        }
        Need::All(needs) => {
            assert!(needs.len() >= 2, "{}", o.key());
            needs.iter().for_each(|n| check_need(*n, o));
        }
    }
}

/// Where a path reaches records of a second module, the rule names it: a
/// related list's module, a bulk job's module, the module of a mass update.
#[test]
fn side_paths_need_the_scopes_of_what_they_reach() {
    fn leaves(n: Need, out: &mut Vec<String>) {
        match n {
            Need::All(v) => v.iter().for_each(|n| leaves(*n, out)),
            n => out.push(format!("{n:?}")),
        }
    }
    for o in OPERATIONS {
        let mut l = Vec::new();
        leaves(o.need, &mut l);
        let named = |what: &str| l.iter().any(|x| x.starts_with(what));
        if o.path.contains("{related}") && o.method != Method::Post {
            assert!(named("Related") && named("Module"), "{}", o.key());
        }
        if o.path.ends_with("{job_id}/result") {
            assert!(named("JobModule"), "{}", o.key());
        }
        if o.path.ends_with("actions/mass_update") && o.method == Method::Post {
            assert!(named("Module(Update)") && named("Family"), "{}", o.key());
        }
    }
}

#[test]
fn a_filled_template_is_its_own_operation() {
    for o in OPERATIONS {
        let p = concrete(o.path);
        let found = matching(o.method, &p).map(|f| f.key());
        assert_eq!(found, Some(o.key()), "{p}");
        assert!(path_known(&p));
    }
}

#[test]
fn unserved_zoho_paths_match_nothing() {
    for p in [
        "/crm/v8/settings/roles",
        "/crm/v8/settings/roles/1",
        "/crm/v8/Leads/1/photo",
        "/crm/v8/Leads/actions/mass_convert",
        "/crm/v8/Contacts/roles/1",
        "/crm/v8/users/1/territories",
        "/crm/v8/Leads/deleted/1/Notes",
        "/crm/v8/Leads/1/__timeline",
        "/crm/v8/__features",
    ] {
        assert!(!path_known(p), "{p}");
    }
    assert!(matching(Method::Post, "/crm/v8/settings/fields").is_none());
    assert!(path_known("/crm/v8/settings/fields"));
}

fn spec_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/zoho-crm-oas/v8");
    d.is_dir().then_some(d)
}

/// Segments agree, where a placeholder on either side takes anything
/// (Zoho writes `/Leads/{lead_id}/actions/convert`; zcrm serves every module).
fn same_shape(ours: &str, theirs: &str) -> bool {
    let (a, b): (Vec<_>, Vec<_>) = (ours.split('/').collect(), theirs.split('/').collect());
    theirs == "/{download_url}"
        || a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(x, y)| x == y || x.starts_with('{') || y.starts_with('{'))
}

/// Each operation's document and operationId exist in Zoho's v8 OpenAPI set,
/// under the same method and a path of the same shape.
#[test]
fn operation_ids_are_zohos() {
    let Some(dir) = spec_dir() else {
        assert!(
            std::env::var_os("ZCRM_REQUIRE_SPEC").is_none(),
            "ZCRM_REQUIRE_SPEC is set but ../shared/zoho-crm-oas/v8 is missing"
        );
        eprintln!("Zoho's OpenAPI documents not beside the checkout: skipped");
        return;
    };
    for o in OPERATIONS {
        let Source::Spec { doc, id } = o.source else {
            continue;
        };
        let text = std::fs::read_to_string(dir.join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
        let v: serde_json::Value = serde_json::from_str(&text).expect(doc);
        let paths = v["paths"].as_object().expect("paths");
        let found = paths.iter().any(|(p, item)| {
            let m = o.method.as_str().to_ascii_lowercase();
            item[&m]["operationId"] == id && same_shape(o.path, p)
        });
        assert!(found, "{} is not {doc} \"{id}\"", o.key());
    }
}

/// The README's operation list is the table's.
#[test]
fn readme_lists_the_table() {
    const BEGIN: &str = "<!-- ops:begin -->\n";
    const END: &str = "<!-- ops:end -->";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let (head, rest) = readme
        .split_once(BEGIN)
        .expect("README has <!-- ops:begin -->");
    let (listed, tail) = rest.split_once(END).expect("README has <!-- ops:end -->");
    let want = super::doc::markdown();
    if listed != want {
        if std::env::var_os("ZCRM_BLESS").is_some() {
            std::fs::write(&path, format!("{head}{BEGIN}{want}{END}{tail}")).expect("write");
            return;
        }
        panic!(
            "README's operation list is stale: run ZCRM_BLESS=1 cargo test -p zcrm-server readme"
        );
    }
}
