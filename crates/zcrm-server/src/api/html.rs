//! The accounts server's few HTML pages: the consent page and its error page.
//! Everything that came from a request or the database goes through `esc`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text for an HTML element body or a double- or single-quoted attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}\
main{max-width:28rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.25rem}code{background:#eef;padding:0 .2rem}label{display:block;margin:.75rem 0}\
input[type=email],input[type=password]{display:block;width:100%;box-sizing:border-box;padding:.4rem}\
.error{color:#b00020;font-weight:600}.buttons{display:flex;gap:1rem;margin-top:1rem}button{padding:.5rem 1.25rem}";

/// A page with the headers every accounts page carries: never cached (it may
/// echo a `state`), never framed (clickjacking the Accept button), no scripts,
/// and no Referer leaking the request's query string to other sites.
pub fn page(status: u16, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\n<body><main>\n{body}</main></body></html>\n",
        esc(title)
    );
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        html,
    )
        .into_response();
    let h = r.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        // No `form-action`: browsers apply it to the redirect that follows the
        // POST, which must go to the client's (foreign) redirect URI.
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    r
}

/// A request the accounts server cannot send back to the client (unknown
/// client, unregistered redirect URI): the person sees why instead.
pub fn error_page(status: u16, title: &str, message: &str) -> Response {
    page(
        status,
        title,
        &format!("<h1>{}</h1>\n<p>{}</p>\n", esc(title), esc(message)),
    )
}

/// What the consent page shows and carries forward.
pub struct Consent<'a> {
    pub client_name: &'a str,
    pub company: &'a str,
    pub scopes: &'a [String],
    pub offline: bool,
    pub redirect_uri: &'a str,
    /// The authorization request, posted back as hidden fields.
    pub hidden: &'a [(&'a str, &'a str)],
    /// Pre-filled after a failed sign-in.
    pub email: &'a str,
    pub error: Option<&'a str>,
}

pub fn consent_page(c: &Consent) -> Response {
    let mut b = String::new();
    b.push_str(&format!(
        "<h1>{} would like to access {}'s zcrm data</h1>\n",
        esc(c.client_name),
        esc(c.company)
    ));
    b.push_str("<p>It asks for:</p>\n<ul>\n");
    for s in c.scopes {
        b.push_str(&format!("<li><code>{}</code></li>\n", esc(s)));
    }
    b.push_str("</ul>\n");
    b.push_str(if c.offline {
        "<p>It may keep this access until you revoke it (a refresh token).</p>\n"
    } else {
        "<p>Its access lasts one hour.</p>\n"
    });
    b.push_str(&format!(
        "<p>You will be sent back to <code>{}</code>.</p>\n",
        esc(c.redirect_uri)
    ));
    if let Some(e) = c.error {
        b.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n",
            esc(e)
        ));
    }
    // Relative action: resolves to this same path behind any proxy prefix.
    b.push_str("<form method=\"post\" action=\"auth\">\n");
    for (name, value) in c.hidden {
        b.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            esc(name),
            esc(value)
        ));
    }
    b.push_str(&format!(
        "<label>Email <input type=\"email\" name=\"email\" value=\"{}\" autocomplete=\"username\" required></label>\n",
        esc(c.email)
    ));
    b.push_str("<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n");
    b.push_str(
        "<div class=\"buttons\"><button type=\"submit\" name=\"action\" value=\"accept\">Accept</button>\
         <button type=\"submit\" name=\"action\" value=\"reject\" formnovalidate>Reject</button></div>\n</form>\n",
    );
    page(200, &format!("Authorize {}", c.client_name), &b)
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
