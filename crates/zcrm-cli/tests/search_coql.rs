//! Search (`/{module}/search`, `/{module}/actions/count`) and COQL (`/coql`)
//! over HTTP: operators per field type, lookups, aggregates, pagination edges,
//! errors, scopes and injection attempts.

mod common;
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn names(r: &Resp, key: &str) -> BTreeSet<String> {
    r.body["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d[key].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn search(srv: &TestServer, t: &str, module: &str, criteria: &str) -> Resp {
    srv.get(
        &format!("/crm/v8/{module}/search?criteria={}", enc(criteria)),
        t,
    )
    .await
}

async fn coql(srv: &TestServer, t: &str, q: &str) -> Resp {
    srv.post("/crm/v8/coql", t, json!({ "select_query": q }))
        .await
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn seed_leads(srv: &TestServer, t: &str) {
    srv.create(
        "Leads",
        t,
        vec![
            json!({"Last_Name": "Alpha", "Company": "Acme (East), Inc: 1", "Email": "a@acme.example",
                   "Phone": "555-0101", "Annual_Revenue": 1000.0, "No_of_Employees": 10,
                   "Lead_Status": "Contacted", "Email_Opt_Out": true}),
            json!({"Last_Name": "Bravo", "Company": "Acme West", "Email": "b@acme.example",
                   "Phone": "555-0202", "Annual_Revenue": 2000.0, "No_of_Employees": 20,
                   "Lead_Status": "Contacted"}),
            json!({"Last_Name": "Charlie", "Company": "Globex", "Annual_Revenue": 3000.0,
                   "No_of_Employees": 30, "Lead_Status": "Not Contacted"}),
            json!({"Last_Name": "delta_%", "Company": "Initech"}),
        ],
    )
    .await;
}

#[tokio::test]
async fn search_operators_by_field_type() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    seed_leads(&srv, &t).await;
    let cases: &[(&str, &[&str])] = &[
        ("(Last_Name:equals:alpha)", &["Alpha"]),
        (
            "(Last_Name:not_equal:Alpha)",
            &["Bravo", "Charlie", "delta_%"],
        ),
        ("(Company:starts_with:Acme)", &["Alpha", "Bravo"]),
        ("(Company:ends_with:West)", &["Bravo"]),
        ("(Company:contains:lob)", &["Charlie"]),
        ("(Company:not_contains:Acme)", &["Charlie", "delta_%"]),
        (r"(Company:equals:Acme \(East\)\, Inc\: 1)", &["Alpha"]),
        ("(Last_Name:in:Alpha,Charlie)", &["Alpha", "Charlie"]),
        ("(Last_Name:not_in:Alpha,Charlie)", &["Bravo", "delta_%"]),
        ("(Last_Name:starts_with:delta_)", &["delta_%"]),
        ("(Last_Name:ends_with:_%)", &["delta_%"]),
        ("(Email:is_empty:true)", &["Charlie", "delta_%"]),
        ("(Email:is_not_empty:true)", &["Alpha", "Bravo"]),
        ("(Lead_Status:equals:Contacted)", &["Alpha", "Bravo"]),
        ("(Annual_Revenue:greater_than:1000)", &["Bravo", "Charlie"]),
        ("(Annual_Revenue:greater_equal:2000)", &["Bravo", "Charlie"]),
        ("(Annual_Revenue:less_than:2000)", &["Alpha"]),
        ("(Annual_Revenue:less_equal:2000)", &["Alpha", "Bravo"]),
        ("(Annual_Revenue:between:1500,3000)", &["Bravo", "Charlie"]),
        ("(No_of_Employees:in:10,30)", &["Alpha", "Charlie"]),
        ("(No_of_Employees:equals:20)", &["Bravo"]),
        ("(No_of_Employees:is_empty:true)", &["delta_%"]),
        ("(Email_Opt_Out:equals:true)", &["Alpha"]),
        (
            "(Email_Opt_Out:not_equal:true)",
            &["Bravo", "Charlie", "delta_%"],
        ),
        (
            "((Company:starts_with:Acme)and(Annual_Revenue:greater_than:1500))",
            &["Bravo"],
        ),
        (
            "((Last_Name:equals:Alpha)or((Company:equals:Globex)and(No_of_Employees:equals:30)))",
            &["Alpha", "Charlie"],
        ),
        (
            "(Created_Time:greater_than:2000-01-01T00:00:00+00:00)",
            &["Alpha", "Bravo", "Charlie", "delta_%"],
        ),
        ("(Created_Time:less_than:2000-01-01T00:00:00+00:00)", &[]),
    ];
    for (criteria, want) in cases {
        let r = search(&srv, &t, "Leads", criteria).await;
        if want.is_empty() {
            assert_eq!(r.status, 204, "{criteria}: {}", r.body);
            continue;
        }
        assert_eq!(r.status, 200, "{criteria}: {}", r.body);
        assert_eq!(names(&r, "Last_Name"), set(want), "{criteria}");
        assert_eq!(r.body["info"]["count"], want.len(), "{criteria}");
    }
    // count takes the same filters
    let r = srv
        .get(
            &format!(
                "/crm/v8/Leads/actions/count?criteria={}",
                enc("(Company:starts_with:Acme)")
            ),
            &t,
        )
        .await;
    assert_eq!(r.body, json!({"count": 2}));
    let r = srv.get("/crm/v8/Leads/actions/count", &t).await;
    assert_eq!(r.body, json!({"count": 4}));
    // email, phone, word
    let r = srv
        .get("/crm/v8/Leads/search?email=B%40ACME.example", &t)
        .await;
    assert_eq!(names(&r, "Last_Name"), set(&["Bravo"]), "{}", r.body);
    let r = srv.get("/crm/v8/Leads/search?phone=0101", &t).await;
    assert_eq!(names(&r, "Last_Name"), set(&["Alpha"]));
    let r = srv.get("/crm/v8/Leads/search?word=globex", &t).await;
    assert_eq!(names(&r, "Last_Name"), set(&["Charlie"]));
    let r = srv
        .get(
            "/crm/v8/Leads/search?word=acme&fields=Last_Name&per_page=1&page=2",
            &t,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["data"][0].as_object().unwrap().len(),
        2,
        "{}",
        r.body
    );
    assert_eq!(r.body["info"]["more_records"], false);
    assert_eq!(r.body["info"]["page"], 2);
    let r = srv
        .get("/crm/v8/Leads/search?word=acme&per_page=1&page=3", &t)
        .await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn search_errors() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    seed_leads(&srv, &t).await;
    let r = srv.get("/crm/v8/Leads/search", &t).await;
    assert_error(&r, 400, "EXPECTED_PARAM_MISSING");
    assert_eq!(
        r.body["details"]["param_names"],
        json!(["criteria", "email", "phone", "word"])
    );
    for bad in [
        "Last_Name:equals:x",
        "(Last_Name:equals:x",
        "((Last_Name:equals:x)",
        "(Last_Name:equals:x)xor(Last_Name:equals:y)",
    ] {
        let r = search(&srv, &t, "Leads", bad).await;
        assert_error(&r, 400, "INVALID_QUERY");
    }
    let r = search(&srv, &t, "Leads", "(Nope:equals:x)").await;
    assert_error(&r, 400, "INVALID_QUERY");
    assert_eq!(r.body["details"]["api_name"], "Nope");
    let r = search(&srv, &t, "Leads", "(Last_Name:greater_than:x)").await;
    assert_error(&r, 400, "INVALID_QUERY");
    assert_eq!(r.body["details"]["operator"], "greater_than");
    let r = search(&srv, &t, "Leads", "(Email_Opt_Out:starts_with:t)").await;
    assert_error(&r, 400, "INVALID_QUERY");
    let r = search(&srv, &t, "Leads", "(Annual_Revenue:equals:lots)").await;
    assert_error(&r, 400, "INVALID_QUERY");
    let many = vec!["(Last_Name:equals:x)"; 16].join("and");
    let r = search(&srv, &t, "Leads", &format!("({many})")).await;
    assert_error(&r, 400, "CRITERIA_LIMIT_EXCEEDED");
    let vals: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    let r = search(
        &srv,
        &t,
        "Leads",
        &format!("(Last_Name:in:{})", vals.join(",")),
    )
    .await;
    assert_error(&r, 400, "INVALID_QUERY");
    let r = srv
        .get("/crm/v8/Leads/search?word=acme&per_page=200&page=11", &t)
        .await;
    assert_error(&r, 400, "LIMIT_REACHED");
    assert_eq!(r.body["details"]["limit"], "2000");
    let r = srv.get("/crm/v8/Leads/search?word=a", &t).await;
    assert_error(&r, 400, "INVALID_DATA");
    // a module without email fields finds nothing rather than failing
    let r = srv
        .get("/crm/v8/Solutions/search?email=a%40b.example", &t)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = srv.get("/crm/v8/Nope/search?word=abc", &t).await;
    assert_error(&r, 400, "INVALID_MODULE");
    let r = srv
        .get("/crm/v8/Leads/actions/count?cvid=1&word=abc", &t)
        .await;
    assert_error(&r, 400, "AMBIGUITY_DURING_PROCESSING");
    // scopes: module READ, or ZohoSearch.securesearch.READ
    let other = srv.token("ZohoCRM.modules.contacts.READ").await;
    let r = srv.get("/crm/v8/Leads/search?word=acme", &other).await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
    let ss = srv.token("ZohoSearch.securesearch.READ").await;
    let r = srv.get("/crm/v8/Leads/search?word=acme", &ss).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn coql_queries_lookups_aggregates_and_pages() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    seed_leads(&srv, &t).await;
    let acc = srv
        .create(
            "Accounts",
            &t,
            vec![
                json!({"Account_Name": "Zylker"}),
                json!({"Account_Name": "Globex"}),
            ],
        )
        .await;
    srv.create(
        "Contacts",
        &t,
        vec![
            json!({"Last_Name": "Boyle", "Account_Name": {"id": acc[0]}, "Date_of_Birth": "1990-02-28"}),
            json!({"Last_Name": "Kent", "Account_Name": {"id": acc[1]}, "Date_of_Birth": "1985-06-01"}),
            json!({"Last_Name": "Lane"}),
        ],
    )
    .await;

    let r = coql(&srv, &t, "select Last_Name, Account_Name, Account_Name.Account_Name, Owner.last_name from Contacts where Account_Name.Account_Name = 'zylker'").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"][0];
    assert_eq!(d["Last_Name"], "Boyle");
    assert_eq!(d["Account_Name"], json!({"id": acc[0]}));
    assert_eq!(d["Account_Name.Account_Name"], "Zylker");
    assert!(d["Owner.last_name"].is_string(), "{d}");
    assert!(d["id"].is_string());
    assert_eq!(r.body["info"], json!({"count": 1, "more_records": false}));

    let cases: &[(&str, &[&str])] = &[
        ("Last_Name = 'Boyle'", &["Boyle"]),
        ("Last_Name != 'Boyle'", &["Kent", "Lane"]),
        ("Last_Name like 'K%'", &["Kent"]),
        ("Last_Name like '%ne'", &["Lane"]),
        ("Last_Name like '%oyl%'", &["Boyle"]),
        ("Last_Name not like '%oyl%'", &["Kent", "Lane"]),
        ("Last_Name in ('Kent', 'Lane')", &["Kent", "Lane"]),
        ("Last_Name not in ('Kent', 'Lane')", &["Boyle"]),
        ("Date_of_Birth > '1986-01-01'", &["Boyle"]),
        ("Date_of_Birth <= '1990-02-28'", &["Boyle", "Kent"]),
        ("Date_of_Birth between '1980-01-01' and '1989-12-31'", &["Kent"]),
        ("Date_of_Birth is null", &["Lane"]),
        ("Account_Name is not null", &["Boyle", "Kent"]),
        ("Account_Name = '__ACC0__'", &["Boyle"]),
        ("Account_Name in ('__ACC0__', '__ACC1__')", &["Boyle", "Kent"]),
        ("(Last_Name = 'Lane' or (Account_Name.Account_Name like 'Glo%' and Date_of_Birth < '2000-01-01'))", &["Kent", "Lane"]),
        ("Created_Time >= '2000-01-01T00:00:00+05:30'", &["Boyle", "Kent", "Lane"]),
        ("Email_Opt_Out = false", &["Boyle", "Kent", "Lane"]),
    ];
    for (cond, want) in cases {
        let cond = cond
            .replace("__ACC0__", &acc[0])
            .replace("__ACC1__", &acc[1]);
        let r = coql(
            &srv,
            &t,
            &format!("select Last_Name from Contacts where {cond}"),
        )
        .await;
        assert_eq!(r.status, 200, "{cond}: {}", r.body);
        assert_eq!(names(&r, "Last_Name"), set(want), "{cond}");
    }

    // numbers on Leads, order by several, alias, limit forms
    let r = coql(&srv, &t, "select Last_Name as 'ln', Annual_Revenue from Leads where Annual_Revenue >= 1000 order by Lead_Status desc, ln asc limit 2").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["ln"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["Charlie", "Alpha"]);
    assert_eq!(r.body["data"][0]["Annual_Revenue"], 3000.0);
    assert_eq!(r.body["info"]["more_records"], true);
    let r = coql(
        &srv,
        &t,
        "select Last_Name from Leads where Annual_Revenue > 0 order by Last_Name limit 1, 2",
    )
    .await;
    let got: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["Last_Name"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["Bravo", "Charlie"]);
    assert_eq!(r.body["info"]["more_records"], false);
    let r = coql(
        &srv,
        &t,
        "select Last_Name from Leads where Annual_Revenue > 0 limit 2 offset 2",
    )
    .await;
    assert_eq!(r.body["info"]["count"], 1, "{}", r.body);
    let r = coql(
        &srv,
        &t,
        "select Last_Name from Leads where Annual_Revenue > 0 limit 200 offset 3",
    )
    .await;
    assert_eq!(r.status, 204);

    // aggregates
    let r = coql(&srv, &t, "select Lead_Status, COUNT(id), SUM(Annual_Revenue), MAX(No_of_Employees), AVG(Annual_Revenue), MIN(Annual_Revenue) from Leads where Annual_Revenue is not null group by Lead_Status order by Lead_Status asc").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"],
        json!([
            {"Lead_Status": "Contacted", "COUNT(id)": 2, "SUM(Annual_Revenue)": 3000.0, "MAX(No_of_Employees)": 20,
             "AVG(Annual_Revenue)": 1500.0, "MIN(Annual_Revenue)": 1000.0},
            {"Lead_Status": "Not Contacted", "COUNT(id)": 1, "SUM(Annual_Revenue)": 3000.0, "MAX(No_of_Employees)": 30,
             "AVG(Annual_Revenue)": 3000.0, "MIN(Annual_Revenue)": 3000.0},
        ])
    );
    let r = coql(&srv, &t, "select COUNT(id) from Leads").await;
    assert_eq!(r.body["data"], json!([{"COUNT(id)": 4}]), "{}", r.body);
    let r = coql(&srv, &t, "select Account_Name.Account_Name, COUNT(id) as 'n' from Contacts group by Account_Name.Account_Name order by n desc, Account_Name.Account_Name asc").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn coql_errors_and_scopes() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    seed_leads(&srv, &t).await;
    let cases: &[(&str, &str)] = &[
        ("select Last_Name", "SYNTAX_ERROR"),
        (
            "select Last_Name from Leads wher Last_Name = 'x'",
            "SYNTAX_ERROR",
        ),
        ("select Nope from Leads", "INVALID_QUERY"),
        ("select Last_Name from Nope", "INVALID_MODULE"),
        (
            "select Last_Name from Leads where Last_Name > 'x'",
            "SYNTAX_ERROR",
        ),
        (
            "select Last_Name from Leads where Annual_Revenue = 'abc'",
            "INVALID_QUERY",
        ),
        (
            "select Last_Name from Leads where Created_Time > 'yesterday'",
            "INVALID_QUERY",
        ),
        ("select Last_Name from Leads limit 2001", "LIMIT_EXCEEDED"),
        (
            "select Last_Name from Leads limit 99999, 2",
            "LIMIT_EXCEEDED",
        ),
        ("select Last_Name from Leads limit 0", "INVALID_DATA"),
        (
            "select Last_Name as 'a', Company as 'a' from Leads",
            "DUPLICATE_ALIAS",
        ),
        (
            "select id from Leads where id is not null order by id, id",
            "DUPLICATE_DATA",
        ),
        ("select Last_Name, COUNT(id) from Leads", "INVALID_QUERY"),
        ("select SUM(Last_Name) from Leads", "INVALID_QUERY"),
        ("select Owner.Nope from Leads", "INVALID_QUERY"),
        ("delete from Leads", "SYNTAX_ERROR"),
    ];
    for (q, code) in cases {
        let r = coql(&srv, &t, q).await;
        assert_error(&r, 400, code);
    }
    let r = coql(&srv, &t, "select Last_Name form Leads").await;
    assert!(r.body["details"]["near"].is_string(), "{}", r.body);
    let r = srv.post("/crm/v8/coql", &t, json!({})).await;
    assert_error(&r, 400, "MANDATORY_NOT_FOUND");
    let too_many: Vec<String> = (0..26).map(|i| format!("Last_Name = '{i}'")).collect();
    let r = coql(
        &srv,
        &t,
        &format!(
            "select Last_Name from Leads where {}",
            too_many.join(" or ")
        ),
    )
    .await;
    assert_error(&r, 400, "LIMIT_EXCEEDED");
    // scopes: coql.READ, and READ on every module touched
    let no_coql = srv.token(ALL_SCOPES).await;
    let r = coql(&srv, &no_coql, "select Last_Name from Leads").await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
    let leads_only = srv
        .token("ZohoCRM.coql.READ,ZohoCRM.modules.leads.READ")
        .await;
    let r = coql(&srv, &leads_only, "select Last_Name from Leads").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = coql(&srv, &leads_only, "select Last_Name from Contacts").await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
    let contacts_only = srv
        .token("ZohoCRM.coql.READ,ZohoCRM.modules.contacts.READ")
        .await;
    let r = coql(
        &srv,
        &contacts_only,
        "select Account_Name.Account_Name from Contacts",
    )
    .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
}

/// Injection attempts against both grammars: each is either refused or taken
/// as a literal value, and the tables are intact afterwards.
#[tokio::test]
async fn injection_attempts_stay_values() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    seed_leads(&srv, &t).await;
    let evil = [
        "x') OR 1=1 --",
        "x\" OR \"1\"=\"1",
        "'; DROP TABLE m_leads; --",
        "%' OR '%'='",
        "x\\') OR (1=1",
    ];
    for e in evil {
        let r = search(&srv, &t, "Leads", &format!("(Last_Name:equals:{e})")).await;
        assert!(
            r.status == 204 || r.code() == "INVALID_QUERY",
            "{e}: {} {}",
            r.status,
            r.body
        );
        let r = srv
            .get(&format!("/crm/v8/Leads/search?word={}", enc(e)), &t)
            .await;
        assert!(r.status == 204 || r.status == 400, "{e}: {}", r.body);
        // Quoted as SQL quotes it; a backslash still escapes (MySQL rules), so
        // the last attempt is refused rather than matched.
        let quoted = e.replace('\'', "''");
        let r = coql(
            &srv,
            &t,
            &format!("select Last_Name from Leads where Last_Name = '{quoted}'"),
        )
        .await;
        assert!(
            r.status == 204 || r.code() == "SYNTAX_ERROR",
            "{e}: {}",
            r.body
        );
        let r = coql(
            &srv,
            &t,
            &format!("select Last_Name from Leads where Last_Name = '{e}'"),
        )
        .await;
        assert!(r.status == 204 || r.status == 400, "{e}: {}", r.body);
    }
    for q in [
        "select Last_Name from Leads; drop table m_leads",
        "select Last_Name from m_leads",
        "select \"Last_Name\" from Leads union select id from Contacts",
        "select Last_Name from Leads where Last_Name in (select Last_Name from Contacts)",
        "select Last_Name from Leads where 1 = 1",
    ] {
        let r = coql(&srv, &t, q).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
    }
    let r = srv.get("/crm/v8/Leads/actions/count", &t).await;
    assert_eq!(r.body, json!({"count": 4}));
    let _: Value = r.body;
}

#[tokio::test]
async fn dates_lookups_and_picklists_on_deals() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    let acc = srv
        .create(
            "Accounts",
            &t,
            vec![
                json!({"Account_Name": "Zylker"}),
                json!({"Account_Name": "Initech"}),
            ],
        )
        .await;
    srv.create(
        "Deals",
        &t,
        vec![
            json!({"Deal_Name": "D1", "Stage": "Qualification", "Closing_Date": "2026-01-15",
                   "Amount": 100.0, "Probability": 10, "Account_Name": {"id": acc[0]}}),
            json!({"Deal_Name": "D2", "Stage": "Closed Won", "Closing_Date": "2026-03-01",
                   "Amount": 250.5, "Probability": 100, "Account_Name": {"id": acc[0]}}),
            json!({"Deal_Name": "D3", "Stage": "Closed Lost", "Closing_Date": "2026-06-30",
                   "Amount": 75.0, "Probability": 0, "Account_Name": {"id": acc[1]}}),
        ],
    )
    .await;
    let a0 = acc[0].as_str();
    let cases: Vec<(String, &[&str])> = vec![
        ("(Closing_Date:equals:2026-03-01)".into(), &["D2"]),
        ("(Closing_Date:not_equal:2026-03-01)".into(), &["D1", "D3"]),
        ("(Closing_Date:greater_than:2026-03-01)".into(), &["D3"]),
        (
            "(Closing_Date:greater_equal:2026-03-01)".into(),
            &["D2", "D3"],
        ),
        ("(Closing_Date:less_than:2026-03-01)".into(), &["D1"]),
        ("(Closing_Date:less_equal:2026-03-01)".into(), &["D1", "D2"]),
        (
            "(Closing_Date:between:2026-02-01,2026-07-01)".into(),
            &["D2", "D3"],
        ),
        (
            "(Closing_Date:in:2026-01-15,2026-06-30)".into(),
            &["D1", "D3"],
        ),
        (format!("(Account_Name:equals:{a0})"), &["D1", "D2"]),
        (format!("(Account_Name:not_equal:{a0})"), &["D3"]),
        (
            format!("(Account_Name:in:{a0},{})", acc[1]),
            &["D1", "D2", "D3"],
        ),
        (format!("(Account_Name:not_in:{a0})"), &["D3"]),
        (
            "(Account_Name:is_not_empty:true)".into(),
            &["D1", "D2", "D3"],
        ),
        ("(Stage:in:Closed Won,Closed Lost)".into(), &["D2", "D3"]),
        ("(Stage:not_in:Closed Won,Closed Lost)".into(), &["D1"]),
        ("(Stage:starts_with:closed)".into(), &["D2", "D3"]),
        ("(Probability:between:1,100)".into(), &["D1", "D2"]),
        ("(Amount:greater_than:99.99)".into(), &["D1", "D2"]),
    ];
    for (criteria, want) in &cases {
        let r = search(&srv, &t, "Deals", criteria).await;
        assert_eq!(r.status, 200, "{criteria}: {}", r.body);
        assert_eq!(names(&r, "Deal_Name"), set(want), "{criteria}");
    }
    // lookups: wrong id type, and a date that is not a date
    let r = search(&srv, &t, "Deals", "(Account_Name:equals:zylker)").await;
    assert_error(&r, 400, "INVALID_QUERY");
    let r = search(&srv, &t, "Deals", "(Closing_Date:equals:2026-13-01)").await;
    assert_error(&r, 400, "INVALID_QUERY");
    let r = search(&srv, &t, "Deals", "(Account_Name:starts_with:1)").await;
    assert_error(&r, 400, "INVALID_QUERY");

    let cases: &[(&str, &[&str])] = &[
        ("Amount < 100", &["D3"]),
        ("Amount != 100", &["D2", "D3"]),
        ("Amount not between 80 and 200", &["D2", "D3"]),
        ("Probability in (0, 100)", &["D2", "D3"]),
        ("Probability not in (0, 100)", &["D1"]),
        ("Closing_Date >= '2026-03-01'", &["D2", "D3"]),
        ("Stage = 'closed won'", &["D2"]),
        ("Stage in ('Qualification', 'Closed Lost')", &["D1", "D3"]),
        ("Account_Name.Account_Name = 'Initech'", &["D3"]),
        ("Account_Name.Account_Name like 'Zyl%'", &["D1", "D2"]),
        ("Owner.full_name is not null", &["D1", "D2", "D3"]),
    ];
    for (cond, want) in cases {
        let r = coql(
            &srv,
            &t,
            &format!("select Deal_Name from Deals where {cond}"),
        )
        .await;
        assert_eq!(r.status, 200, "{cond}: {}", r.body);
        assert_eq!(names(&r, "Deal_Name"), set(want), "{cond}");
    }
    let r = coql(&srv, &t, "select Deal_Name, Closing_Date, Amount, Probability, Account_Name.Account_Name from Deals where Deal_Name = 'D2'").await;
    assert_eq!(
        r.body["data"][0],
        json!({"Deal_Name": "D2", "Closing_Date": "2026-03-01", "Amount": 250.5, "Probability": 100,
               "Account_Name.Account_Name": "Zylker", "id": r.body["data"][0]["id"]})
    );
    let r = coql(&srv, &t, "select Account_Name.Account_Name as 'acc', SUM(Amount), MIN(Closing_Date), MAX(Closing_Date) from Deals group by Account_Name.Account_Name order by acc").await;
    assert_eq!(
        r.body["data"],
        json!([
            {"acc": "Initech", "SUM(Amount)": 75.0, "MIN(Closing_Date)": "2026-06-30", "MAX(Closing_Date)": "2026-06-30"},
            {"acc": "Zylker", "SUM(Amount)": 350.5, "MIN(Closing_Date)": "2026-01-15", "MAX(Closing_Date)": "2026-03-01"},
        ]),
        "{}",
        r.body
    );
    // search paging: the last page says no more records
    let r = srv
        .get(
            "/crm/v8/Deals/search?criteria=(Amount:greater_than:0)&per_page=2&page=2",
            &t,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["info"]["count"], 1);
    assert_eq!(r.body["info"]["more_records"], false);
    let r = srv
        .get(
            "/crm/v8/Deals/search?criteria=(Amount:greater_than:0)&per_page=2&page=1",
            &t,
        )
        .await;
    assert_eq!(r.body["info"]["more_records"], true);
}

#[tokio::test]
async fn coql_multi_module_lookup() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    let lead = srv
        .create(
            "Leads",
            &t,
            vec![json!({"Last_Name": "Boyle", "Company": "Z"})],
        )
        .await;
    let acc = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "Boyle Inc"})])
        .await;
    srv.create(
        "Tasks",
        &t,
        vec![
            json!({"Subject": "Call lead", "What_Id": {"id": lead[0]}, "$se_module": "Leads"}),
            json!({"Subject": "Visit account", "What_Id": {"id": acc[0]}, "$se_module": "Accounts"}),
        ],
    )
    .await;
    let r = coql(
        &srv,
        &t,
        "select Subject, What_Id->Leads.Last_Name, What_Id->Accounts.Account_Name from Tasks where What_Id->Leads.Last_Name like 'Boy%' or What_Id->Accounts.Account_Name is not null order by Subject",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(d[0]["Subject"], "Call lead");
    assert_eq!(d[0]["What_Id->Leads.Last_Name"], "Boyle");
    assert_eq!(d[0]["What_Id->Accounts.Account_Name"], Value::Null);
    assert_eq!(d[1]["What_Id->Accounts.Account_Name"], "Boyle Inc");
    assert_eq!(d[1]["What_Id->Leads.Last_Name"], Value::Null);
    let r = coql(
        &srv,
        &t,
        "select Subject from Tasks where What_Id->Users.Last_Name = 'x'",
    )
    .await;
    assert_error(&r, 400, "INVALID_QUERY");
    let leads_only = srv
        .token("ZohoCRM.coql.READ,ZohoCRM.modules.tasks.READ")
        .await;
    let r = coql(
        &srv,
        &leads_only,
        "select What_Id->Leads.Last_Name from Tasks",
    )
    .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
}
