//! A stored file as a download: always `Content-Disposition: attachment`
//! (with the name in RFC 6266's `filename*` when it is not plain ASCII), so
//! an uploaded HTML or SVG file is saved, never shown by a browser as a page
//! of this origin. `X-Content-Type-Options: nosniff` comes from the router.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::Bytes;

/// Characters kept as they are in `filename*` (RFC 5987 attr-char).
fn attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

fn disposition(name: &str) -> HeaderValue {
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut value = format!("attachment; filename=\"{plain}\"");
    if plain != name {
        value.push_str("; filename*=UTF-8''");
        for b in name.bytes() {
            if attr_char(b) {
                value.push(b as char);
            } else {
                value.push_str(&format!("%{b:02X}"));
            }
        }
    }
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

/// `data` as an attachment named `name`, typed `content_type` when that is
/// a valid header value (else `application/octet-stream`).
pub fn attachment(data: Bytes, content_type: &str, name: &str) -> Response {
    let mut r = Response::new(Body::from(data));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition(name));
    r
}

#[cfg(test)]
mod tests {
    use super::disposition;

    #[test]
    fn names_are_always_an_attachment() {
        assert_eq!(
            disposition("report.pdf"),
            "attachment; filename=\"report.pdf\""
        );
        assert_eq!(
            disposition("résumé \"x\".html"),
            "attachment; filename=\"r_sum_ _x_.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22.html"
        );
        assert_eq!(
            disposition("a\r\nSet-Cookie: x"),
            "attachment; filename=\"a__Set-Cookie: x\"; filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x"
        );
    }
}
