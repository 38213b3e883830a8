//! The web-app side of the accounts server: the consent page at
//! `/oauth/v2/auth`, the codes it hands out, the admin's password, and the
//! Self Client's client-credentials grant. A browser is played by a client
//! that does not follow redirects, so each Location can be read.

mod common;
use common::consent::*;
use common::*;

#[tokio::test]
async fn consent_page_shows_client_scopes_and_sign_in_escaped() {
    let (srv, id, _) = setup().await;
    let evil = r#""><script>alert(1)</script>"#;
    let p = get_auth(&srv, &auth_params(&id, &[("state", evil)])).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let h = |k: &str| p.headers[k].to_str().unwrap().to_string();
    assert!(h("content-type").starts_with("text/html"));
    assert_eq!(h("x-frame-options"), "DENY");
    assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(h("cache-control"), "no-store");
    for needle in [
        "Zylker Sync",
        "ZohoCRM.modules.ALL",
        "ZohoCRM.org.READ",
        "name=\"password\"",
        "name=\"email\"",
        "value=\"accept\"",
        "value=\"reject\"",
        "refresh token",
        &format!("name=\"client_id\" value=\"{id}\""),
    ] {
        assert!(p.body.contains(needle), "{needle:?} in {}", p.body);
    }
    assert!(!p.body.contains("<script>"), "state is escaped: {}", p.body);
    assert!(p
        .body
        .contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));

    // A client named with markup is shown as text.
    let (id2, _) = srv.web_client(CB, "<b>Bold & Co</b>");
    let p = get_auth(&srv, &auth_params(&id2, &[])).await;
    assert!(
        p.body.contains("&lt;b&gt;Bold &amp; Co&lt;/b&gt;"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("<b>Bold"));
    // Online access says so.
    let p = get_auth(&srv, &auth_params(&id, &[("access_type", "online")])).await;
    assert!(p.body.contains("one hour") && !p.body.contains("refresh token"));
}

#[tokio::test]
async fn offline_consent_yields_code_then_access_and_refresh_tokens() {
    let (srv, id, secret) = setup().await;
    let params = auth_params(&id, &[]);
    assert_eq!(get_auth(&srv, &params).await.status, 200);
    let (target, q) = redirect_parts(&accept(&srv, &params).await);
    assert_eq!(target, CB);
    assert_eq!(q["state"], "st-123", "state is echoed");
    assert_eq!(q["location"], "us");
    assert_eq!(
        q["accounts-server"], srv.url,
        "accounts-server is our public URL"
    );
    let code = &q["code"];
    assert!(code.starts_with("1000."), "{code}");

    let r = exchange(&srv, &id, &secret, code, Some(CB)).await;
    assert_eq!(r.status, 200);
    let access = r.body["access_token"].as_str().expect("access_token");
    let refresh = r.body["refresh_token"]
        .as_str()
        .expect("offline gives a refresh token");
    assert_eq!(r.body["api_domain"], srv.url.as_str());
    let scope = r.body["scope"].as_str().unwrap();
    assert!(scope.contains("ZohoCRM.modules.ALL") && scope.contains("ZohoCRM.org.READ"));

    // The token acts as the admin who consented, with the scopes consented to.
    let org = srv.get("/crm/v8/org", access).await;
    assert_eq!(org.status, 200, "{}", org.body);
    let leads = srv.get("/crm/v8/Leads?fields=Last_Name", access).await;
    assert!(matches!(leads.status, 200 | 204), "{}", leads.body);
    let users = srv.get("/crm/v8/users?type=CurrentUser", access).await;
    assert_error(&users, 401, "OAUTH_SCOPE_MISMATCH");

    let again = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("refresh_token", refresh),
        ])
        .await;
    assert!(again.body["access_token"].is_string(), "{}", again.body);

    // The second registered URI works too, and keeps its own query.
    let (target, q) =
        redirect_parts(&accept(&srv, &auth_params(&id, &[("redirect_uri", CB2)])).await);
    assert_eq!(target, "https://other.example/cb");
    assert_eq!(q["tenant"], "7");
    assert_eq!(q["state"], "st-123");
    let r = exchange(&srv, &id, &secret, &q["code"], Some(CB2)).await;
    assert!(r.body["access_token"].is_string(), "{}", r.body);
}

#[tokio::test]
async fn online_or_default_access_gives_no_refresh_token() {
    let (srv, id, secret) = setup().await;
    for access_type in ["online", ""] {
        let params = auth_params(&id, &[("access_type", access_type), ("state", "")]);
        let p = accept(&srv, &params).await;
        let (_, q) = redirect_parts(&p);
        assert!(!q.contains_key("state"), "no state asked, none echoed");
        let r = exchange(&srv, &id, &secret, &q["code"], Some(CB)).await;
        assert!(r.body["access_token"].is_string(), "{}", r.body);
        assert!(
            r.body.get("refresh_token").is_none(),
            "access_type={access_type:?}: {}",
            r.body
        );
    }
    // Anything else is the client's mistake, reported to it.
    let p = accept(&srv, &auth_params(&id, &[("access_type", "forever")])).await;
    let (_, q) = redirect_parts(&p);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "st-123");
}

#[tokio::test]
async fn wrong_password_shows_the_page_again_without_a_code() {
    let (srv, id, _) = setup().await;
    let params = auth_params(&id, &[]);
    let email = srv.admin.0.clone();
    for (e, pw) in [
        (email.as_str(), "not-the-password"),
        ("nobody@zylker.example", srv.admin.1.as_str()),
        (email.as_str(), ""),
    ] {
        let p = post_auth(
            &srv,
            &params,
            &[("email", e), ("password", pw), ("action", "accept")],
        )
        .await;
        assert_eq!(p.status, 200, "{}", p.body);
        assert!(p.location.is_none(), "no redirect, so no code");
        assert!(p.body.contains("Wrong email or password"), "{}", p.body);
        assert!(p.body.contains(&format!("value=\"{e}\"")), "email kept");
        assert!(
            p.body.contains("value=\"accept\""),
            "the form is shown again"
        );
    }
    // The email is matched without regard to case.
    let upper = email.to_uppercase();
    let p = post_auth(
        &srv,
        &params,
        &[
            ("email", &upper),
            ("password", &srv.admin.1),
            ("action", "accept"),
        ],
    )
    .await;
    assert!(redirect_parts(&p).1.contains_key("code"));
}

#[tokio::test]
async fn reject_sends_access_denied_with_state() {
    let (srv, id, _) = setup().await;
    // No sign-in is needed to say no.
    let p = post_auth(&srv, &auth_params(&id, &[]), &[("action", "reject")]).await;
    let (target, q) = redirect_parts(&p);
    assert_eq!(target, CB);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert!(!q.contains_key("code"));
    // Neither Accept nor Reject: a plain error page.
    let p = post_auth(&srv, &auth_params(&id, &[]), &[("action", "maybe")]).await;
    assert_html_error(&p, "Accept or Reject");
}

#[tokio::test]
async fn unknown_client_or_unregistered_redirect_uri_gets_an_error_page() {
    let (srv, id, _) = setup().await;
    let p = get_auth(&srv, &auth_params("1000.NOSUCHCLIENT", &[])).await;
    assert_html_error(&p, "Invalid client");
    let p = get_auth(&srv, &auth_params("", &[])).await;
    assert_html_error(&p, "Invalid client");
    for bad in [
        "https://evil.example/cb",
        "https://app.example/oauth/callback/extra",
        "https://app.example/oauth/callback?x=1",
        "",
    ] {
        let p = get_auth(&srv, &auth_params(&id, &[("redirect_uri", bad)])).await;
        assert_html_error(&p, "Invalid redirect URI");
    }
    // A Self Client has no redirect URI, so it cannot use the consent page.
    let self_id = srv.boot_client.0.clone();
    let p = get_auth(&srv, &auth_params(&self_id, &[])).await;
    assert_html_error(&p, "Invalid redirect URI");
    // The POST is checked again: a tampered form gets no code either.
    let p = accept(
        &srv,
        &auth_params(&id, &[("redirect_uri", "https://evil.example/cb")]),
    )
    .await;
    assert_html_error(&p, "Invalid redirect URI");
}

#[tokio::test]
async fn bad_scope_or_response_type_is_redirected_as_an_error() {
    let (srv, id, _) = setup().await;
    for scope in [
        "ZohoCRM.modules",
        "ZohoCRM.modules.FLY",
        "Nope.things.READ",
        "ZohoCRM.modules.ALL,bogus",
        "",
    ] {
        let p = get_auth(&srv, &auth_params(&id, &[("scope", scope)])).await;
        let (target, q) = redirect_parts(&p);
        assert_eq!(target, CB);
        assert_eq!(q["error"], "invalid_scope", "scope {scope:?}");
        assert_eq!(q["state"], "st-123");
        // Re-checked on POST, even with a good password.
        let (_, q) = redirect_parts(&accept(&srv, &auth_params(&id, &[("scope", scope)])).await);
        assert_eq!(q["error"], "invalid_scope");
        assert!(!q.contains_key("code"));
    }
    for rt in ["token", "CODE", ""] {
        let p = get_auth(&srv, &auth_params(&id, &[("response_type", rt)])).await;
        let (_, q) = redirect_parts(&p);
        assert_eq!(q["error"], "unsupported_response_type", "{rt:?}");
        assert_eq!(q["state"], "st-123");
    }
}

#[tokio::test]
async fn consent_codes_are_single_use_bound_to_the_uri_and_live_two_minutes() {
    let (srv, id, secret) = setup().await;
    let params = auth_params(&id, &[]);
    let code = code_for(&srv, &params).await;
    let wrong = exchange(&srv, &id, &secret, &code, Some(CB2)).await;
    assert_eq!(
        wrong.body,
        serde_json::json!({"error": "invalid_redirect_uri"})
    );
    let missing = exchange(&srv, &id, &secret, &code, None).await;
    assert_eq!(missing.body["error"], "invalid_redirect_uri");
    let (other_id, other_secret) = srv.web_client(CB, "Another");
    let stolen = exchange(&srv, &other_id, &other_secret, &code, Some(CB)).await;
    assert_eq!(
        stolen.body["error"], "invalid_code",
        "a code is its client's"
    );
    let ok = exchange(&srv, &id, &secret, &code, Some(CB)).await;
    assert!(ok.body["access_token"].is_string(), "{}", ok.body);
    let reused = exchange(&srv, &id, &secret, &code, Some(CB)).await;
    assert_eq!(reused.status, 200);
    assert_eq!(reused.body, serde_json::json!({"error": "invalid_code"}));

    let early = code_for(&srv, &params).await;
    let late = code_for(&srv, &params).await;
    srv.advance_clock(110).await;
    let r = exchange(&srv, &id, &secret, &early, Some(CB)).await;
    assert!(
        r.body["access_token"].is_string(),
        "valid at 110 s: {}",
        r.body
    );
    srv.advance_clock(11).await;
    let r = exchange(&srv, &id, &secret, &late, Some(CB)).await;
    assert_eq!(
        r.body,
        serde_json::json!({"error": "invalid_code"}),
        "expired at 121 s"
    );
}

#[tokio::test]
async fn client_credentials_give_a_self_client_an_access_token_only() {
    let srv = TestServer::start().await;
    let org = srv
        .get("/crm/v8/org", &srv.token("ZohoCRM.org.READ").await)
        .await;
    let org_id = org.body["org"][0]["id"].as_str().unwrap().to_string();
    let zgid = org.body["org"][0]["zgid"].as_str().unwrap().to_string();
    let (id, secret) = (srv.boot_client.0.clone(), srv.boot_client.1.clone());
    let grant = |scope: &str, soid: &str| {
        let mut p = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", id.clone()),
            ("client_secret", secret.clone()),
        ];
        if !scope.is_empty() {
            p.push(("scope", scope.to_string()));
        }
        if !soid.is_empty() {
            p.push(("soid", soid.to_string()));
        }
        p
    };
    let send = |p: Vec<(&'static str, String)>| {
        let srv = &srv;
        async move {
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
            srv.oauth(&p).await
        }
    };

    let soid = format!("ZohoCRM.{org_id}");
    let r = send(grant("ZohoCRM.org.READ,ZohoCRM.modules.leads.READ", &soid)).await;
    assert_eq!(r.status, 200);
    let access = r.body["access_token"].as_str().expect("access_token");
    assert!(r.body.get("refresh_token").is_none(), "{}", r.body);
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(
        r.body["scope"], "ZohoCRM.org.READ ZohoCRM.modules.leads.READ",
        "scopes as requested"
    );
    assert_eq!(srv.get("/crm/v8/org", access).await.status, 200);
    let r = srv.get("/crm/v8/Contacts?fields=Last_Name", access).await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
    // The org's zgid names it as well.
    let r = send(grant("ZohoCRM.org.READ", &format!("ZohoCRM.{zgid}"))).await;
    assert!(r.body["access_token"].is_string(), "{}", r.body);

    let recruit = format!("ZohoRecruit.{org_id}");
    for (scope, soid, error) in [
        ("ZohoCRM.org.READ", "ZohoCRM.12345", "invalid_client"),
        ("ZohoCRM.org.READ", recruit.as_str(), "invalid_client"),
        ("ZohoCRM.org.READ", "", "missing_org_info"),
        ("ZohoCRM.org", soid.as_str(), "invalid_scope"),
        ("Nope.things.READ", soid.as_str(), "invalid_scope"),
        ("", soid.as_str(), "invalid_scope"),
    ] {
        let r = send(grant(scope, soid)).await;
        assert_eq!(r.status, 200, "errors are HTTP 200 like Zoho's");
        assert_eq!(
            r.body,
            serde_json::json!({"error": error}),
            "{scope:?} {soid:?}"
        );
    }
    let mut bad_secret = grant("ZohoCRM.org.READ", &soid);
    bad_secret[2].1 = "wrong".into();
    assert_eq!(
        send(bad_secret).await.body["error"],
        "invalid_client_secret"
    );
    let mut bad_client = grant("ZohoCRM.org.READ", &soid);
    bad_client[1].1 = "1000.NOPE".into();
    assert_eq!(send(bad_client).await.body["error"], "invalid_client");

    // Only Self Clients have this grant.
    let (web_id, web_secret) = srv.web_client(CB, "Web");
    let r = srv
        .oauth(&[
            ("grant_type", "client_credentials"),
            ("client_id", &web_id),
            ("client_secret", &web_secret),
            ("scope", "ZohoCRM.org.READ"),
            ("soid", &soid),
        ])
        .await;
    assert_eq!(r.body, serde_json::json!({"error": "unauthorized_client"}));
}

/// Every byte the control data is held in (SQLite files or a PostgreSQL dump).
fn control_db_bytes(srv: &TestServer) -> Vec<u8> {
    srv.stored_bytes()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn admin_password_is_stored_hashed_and_can_be_reset() {
    let (srv, id, _) = setup().await;
    let old = srv.admin.1.clone();
    assert!(old.len() >= 16, "a strong generated password: {old}");
    let db = control_db_bytes(&srv);
    assert!(!contains(&db, &old), "the password is not stored in clear");
    assert!(contains(&db, "$argon2id$"), "an Argon2id hash is stored");

    let out = srv.admin_cmd(&["password"]).expect("admin password");
    let new = out
        .lines()
        .find_map(|l| l.strip_prefix("admin password:"))
        .map(|p| p.trim().to_string())
        .expect("prints the new password");
    assert!(out.contains(&srv.admin.0), "{out}");
    assert_ne!(new, old);
    assert!(!contains(&control_db_bytes(&srv), &new));

    let params = auth_params(&id, &[]);
    let email = srv.admin.0.clone();
    let p = post_auth(
        &srv,
        &params,
        &[("email", &email), ("password", &old), ("action", "accept")],
    )
    .await;
    assert_eq!(p.status, 200, "the old password no longer signs in");
    assert!(p.location.is_none());
    let p = post_auth(
        &srv,
        &params,
        &[("email", &email), ("password", &new), ("action", "accept")],
    )
    .await;
    assert!(redirect_parts(&p).1.contains_key("code"));

    let by_email = srv.admin_cmd(&["password", "--email", &email.to_uppercase()]);
    assert!(by_email.is_ok(), "{by_email:?}");
    let unknown = srv.admin_cmd(&["password", "--email", "nobody@zylker.example"]);
    assert!(unknown.unwrap_err().contains("no user"));
}

#[tokio::test]
async fn admin_client_checks_its_redirect_uris() {
    let srv = TestServer::start().await;
    for bad in [
        "ftp://x.example/cb",
        "app.example/cb",
        "https://",
        "https://x.example/cb#frag",
    ] {
        let r = srv.admin_cmd(&["client", "--redirect-uri", bad, "--json"]);
        assert!(r.is_err(), "{bad} must be refused");
    }
    let out = srv
        .admin_cmd(&[
            "client",
            "--redirect-uri",
            "http://localhost:3000/cb, https://a.example/cb",
            "--json",
        ])
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = v["client_id"].as_str().unwrap();
    assert!(id.starts_with("1000.") && v["client_secret"].is_string());
    let p = get_auth(
        &srv,
        &auth_params(id, &[("redirect_uri", "http://localhost:3000/cb")]),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
}
