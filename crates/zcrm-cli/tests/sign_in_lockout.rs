//! The consent page's sign-in locks an email after repeated wrong passwords.

mod common;
use common::consent::*;

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_sign_in_for_a_while() {
    let (srv, id, _) = setup().await;
    let params = auth_params(&id, &[]);
    let email = srv.admin.0.clone();
    let try_with = |pw: String| {
        let form = [
            ("email".to_string(), email.clone()),
            ("password".to_string(), pw),
            ("action".to_string(), "accept".to_string()),
        ];
        let (srv, params) = (&srv, &params);
        async move {
            let form: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            post_auth(srv, params, &form).await
        }
    };
    for i in 0..5 {
        let p = try_with(format!("guess-{i}")).await;
        assert!(p.body.contains("Wrong email or password"), "{}", p.body);
    }
    // Locked: even the right password gets no code.
    let p = try_with(srv.admin.1.clone()).await;
    assert!(p.location.is_none(), "no code while locked");
    assert!(p.body.contains("Too many failed sign-ins"), "{}", p.body);
    srv.advance_clock(15 * 60 + 1).await;
    let p = try_with(srv.admin.1.clone()).await;
    assert!(redirect_parts(&p).1.contains_key("code"), "{}", p.body);
}
