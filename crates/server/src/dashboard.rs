//! The live sprint dashboard: `GET /` serves a single-page app (`crates/server/ui/`: plain ES
//! modules, uPlot for charts and the graphql-ws client, both vendored) that reads everything
//! through `/graphql` like any other client — queries over HTTP with the signed-in person's
//! token, `sprintBoard` and `podMetrics` over graphql-transport-ws. Every file is embedded in
//! the binary: no CDN, no Node at build time, nothing to install beside `podledger`.
//!
//! With `--demo`, `GET /ui/demo-people` lists the demo organisation's key people with a token
//! each (the tokens `serve --demo` prints), so the sign-in page offers them in one click.
//! Without `--demo` it is a 404: the page then asks for a token.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, guard, web};
use podledger_api::AuthConfig;

/// One embedded file.
struct Asset {
    name: &'static str,
    media: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $media:literal) => {
        Asset {
            name: $name,
            media: $media,
            body: include_bytes!(concat!("../ui/", $name)),
        }
    };
}

/// Everything the page loads (`index.html` at `/`, the rest under `/ui/`).
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("charts.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    asset!("vendor/uPlot.min.css", "text/css; charset=utf-8"),
    asset!("vendor/graphql-ws.min.js", "text/javascript; charset=utf-8"),
    asset!("vendor/LICENSE-uPlot", "text/plain; charset=utf-8"),
    asset!("vendor/LICENSE-graphql-ws.md", "text/plain; charset=utf-8"),
];

/// The page's Content-Security-Policy: nothing but this server's own scripts, styles and
/// connections (`'self'` covers the same-origin WebSocket), no framing, no inline script.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// Total bytes of everything the page loads (the budget is 300 KB).
pub fn page_weight() -> usize {
    ASSETS
        .iter()
        .filter(|a| !a.name.starts_with("vendor/LICENSE"))
        .map(|a| a.body.len())
        .sum()
}

/// A strong validator for an embedded file (FNV-1a of its bytes).
fn etag(body: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in body {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{hash:016x}\"")
}

fn serve_asset(http: &HttpRequest, asset: &Asset) -> HttpResponse {
    let tag = etag(asset.body);
    let fresh = http
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, tag))
        // Revalidated on every load: names carry no hash, and a new binary changes them.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if asset.name == "index.html" {
        response
            .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    if fresh {
        return response.finish();
    }
    response.content_type(asset.media).body(asset.body)
}

async fn index(http: HttpRequest) -> HttpResponse {
    serve_asset(&http, &ASSETS[0])
}

async fn file(http: HttpRequest, name: web::Path<String>) -> HttpResponse {
    match ASSETS
        .iter()
        .find(|a| a.name == name.as_str() && a.name != "index.html")
    {
        Some(asset) => serve_asset(&http, asset),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    }
}

/// The demo's key people with a fresh 24-hour token each (only with `--demo`).
async fn demo_people(auth: web::Data<AuthConfig>, demo: web::Data<DemoPeople>) -> HttpResponse {
    if !demo.0 {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("the demo organisation is not served (start with --demo)");
    }
    let org = crate::demo::org_id();
    let people: Vec<_> = crate::demo::key_people()
        .into_iter()
        .map(|(role, name, person)| {
            serde_json::json!({
                "role": role,
                "name": name,
                "token": auth.mint_member(org, person, chrono::Duration::hours(24)),
            })
        })
        .collect();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(people)
}

/// Whether the demo's one-click sign-in is offered.
#[derive(Clone, Copy, Debug)]
struct DemoPeople(bool);

/// The dashboard's routes: `/`, `/ui/{file}`, `/ui/demo-people`.
pub fn routes(auth: AuthConfig, demo: bool) -> impl Fn(&mut web::ServiceConfig) + Clone {
    let auth = web::Data::new(auth);
    let demo = web::Data::new(DemoPeople(demo));
    move |cfg: &mut web::ServiceConfig| {
        // GET, and HEAD for checkers and caches (actix sends no body for HEAD).
        let read = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
        cfg.route("/", read().to(index))
            .service(
                web::resource("/ui/demo-people")
                    .app_data(auth.clone())
                    .app_data(demo.clone())
                    .route(web::get().to(demo_people)),
            )
            .route("/ui/{name:.*}", read().to(file));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn everything_the_page_loads_weighs_under_300_kb() {
        let weight = super::page_weight();
        assert!(weight < 300 * 1024, "{weight} bytes");
    }
}
