//! `netoopsd serve`: a web view of the fleet's crashes, read from the report store.
//!
//! Every page has a JSON twin under `/api/...` built from the same data ([`pages`]): the
//! HTML is that JSON rendered through a template ([`templates`]), with SVG charts drawn
//! server-side ([`svg`]). No script, font or style is fetched from anywhere: the CSS is in
//! the templates.
//!
//! Routes: `/` and `/api/buckets` (buckets, filtered by query parameters),
//! `/bucket/{id}`, `/report/{id}`, `/report/{id}/log` (the raw log, as an attachment),
//! `/machine/{name}`, each page with `/api/` before it for JSON. Unknown paths and ids give
//! 404, bad filter values 400 naming the parameter. Beside `listen`, `/metrics` too
//! ([`crate::metrics`]).

pub mod pages;
pub mod svg;
pub mod templates;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query as QueryParams, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::store::Store;
use crate::symbolize::Symbolizer;

/// Options of `netoopsd serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The report database.
    pub db: PathBuf,
    /// Address to serve on (port 0: any free port).
    pub addr: SocketAddr,
    /// "Now" for time windows and sparklines (Unix seconds); `None`: the clock.
    pub now: Option<i64>,
    /// Symbolizer for report pages.
    pub symbolizer: Symbolizer,
    /// Create the database if there is none (when serving beside `listen`).
    pub create: bool,
    /// Also serve these metrics at `/metrics` (beside `listen`).
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// What the handlers share.
pub struct App {
    store: Mutex<Box<dyn Store + Send>>,
    symbolizer: Symbolizer,
    now: Option<i64>,
    templates: minijinja::Environment<'static>,
}

impl App {
    /// An app over `store`.
    pub fn new(store: Box<dyn Store + Send>, symbolizer: Symbolizer, now: Option<i64>) -> Self {
        App {
            store: Mutex::new(store),
            symbolizer,
            now,
            templates: templates::environment(),
        }
    }

    /// "Now" in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self.now {
            Some(s) => s * 1000,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        }
    }
}

/// Why a page could not be made.
#[derive(Debug, Clone, PartialEq)]
pub enum WebError {
    /// 404: what was not found.
    NotFound(String),
    /// 400: a query parameter and its bad value, and why.
    BadParam {
        /// Parameter.
        name: String,
        /// Its value.
        value: String,
        /// Why it is refused.
        why: String,
    },
    /// 500: the store failed.
    Internal(String),
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadParam { .. } => StatusCode::BAD_REQUEST,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> String {
        match self {
            WebError::NotFound(s) | WebError::Internal(s) => s.clone(),
            WebError::BadParam { name, value, why } => {
                format!("bad value for parameter {name}: {value:?}: {why}")
            }
        }
    }

    fn json(&self) -> Value {
        let mut v = json!({"status": self.status().as_u16(), "error": self.message()});
        if let WebError::BadParam { name, value, .. } = self {
            v["parameter"] = json!(name);
            v["value"] = json!(value);
        }
        v
    }
}

impl From<String> for WebError {
    fn from(s: String) -> Self {
        WebError::Internal(s)
    }
}

/// A page as HTML or JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
enum As {
    Html,
    Json,
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{v:#}\n"),
    )
        .into_response()
}

fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn error_response(app: &App, e: &WebError, how: As) -> Response {
    if how == As::Json {
        return json_response(e.status(), &e.json());
    }
    let ctx = json!({
        "title": format!("{} {}", e.status().as_u16(), e.status().canonical_reason().unwrap_or("")),
        "error": e.json(),
        "message": e.message(),
    });
    let body = templates::render(&app.templates, "error.html", &ctx)
        .unwrap_or_else(|t| format!("<!doctype html><title>error</title><pre>{t}</pre>"));
    html_response(e.status(), body)
}

/// Renders a page's data as HTML (`template`) or JSON.
fn respond(app: &App, r: Result<Value, WebError>, template: &str, how: As) -> Response {
    match r {
        Err(e) => error_response(app, &e, how),
        Ok(v) if how == As::Json => json_response(StatusCode::OK, &v),
        Ok(v) => {
            let ctx = svg::decorate(template, v);
            match templates::render(&app.templates, template, &ctx) {
                Ok(body) => html_response(StatusCode::OK, body),
                Err(e) => error_response(app, &WebError::Internal(e), As::Html),
            }
        }
    }
}

type Params = QueryParams<Vec<(String, String)>>;
/// A path segment; one that is not UTF-8 names nothing (404).
type PathArg = Result<Path<String>, PathRejection>;

fn seg(p: PathArg) -> String {
    p.map(|Path(s)| s).unwrap_or_else(|_| "\u{fffd}".into())
}
type Shared = State<Arc<App>>;

fn store(app: &App) -> std::sync::MutexGuard<'_, Box<dyn Store + Send>> {
    // A panic while holding the lock cannot leave the store inconsistent (reads only).
    app.store.lock().unwrap_or_else(|p| p.into_inner())
}

async fn buckets_page(State(app): Shared, QueryParams(p): Params) -> Response {
    let r = pages::buckets(&**store(&app), &p, app.now_ms());
    respond(&app, r, "buckets.html", As::Html)
}

async fn buckets_api(State(app): Shared, QueryParams(p): Params) -> Response {
    let r = pages::buckets(&**store(&app), &p, app.now_ms());
    respond(&app, r, "buckets.html", As::Json)
}

async fn bucket_page(State(app): Shared, id: PathArg, QueryParams(p): Params) -> Response {
    let r = pages::bucket(&**store(&app), &seg(id), &p, app.now_ms());
    respond(&app, r, "bucket.html", As::Html)
}

async fn bucket_api(State(app): Shared, id: PathArg, QueryParams(p): Params) -> Response {
    let r = pages::bucket(&**store(&app), &seg(id), &p, app.now_ms());
    respond(&app, r, "bucket.html", As::Json)
}

async fn report_page(State(app): Shared, id: PathArg) -> Response {
    let r = pages::report(&**store(&app), &app.symbolizer, &seg(id));
    respond(&app, r, "report.html", As::Html)
}

async fn report_api(State(app): Shared, id: PathArg) -> Response {
    let r = pages::report(&**store(&app), &app.symbolizer, &seg(id));
    respond(&app, r, "report.html", As::Json)
}

async fn report_log(State(app): Shared, id: PathArg) -> Response {
    match pages::raw_log(&**store(&app), &seg(id)) {
        Ok((n, text)) => (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"netoops-report-{n}.log\""),
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => error_response(&app, &e, As::Html),
    }
}

async fn machine_page(State(app): Shared, name: PathArg) -> Response {
    let r = pages::machine(&**store(&app), &seg(name));
    respond(&app, r, "machine.html", As::Html)
}

async fn machine_api(State(app): Shared, name: PathArg) -> Response {
    let r = pages::machine(&**store(&app), &seg(name));
    respond(&app, r, "machine.html", As::Json)
}

async fn not_found(State(app): Shared, uri: Uri) -> Response {
    let how = if uri.path().starts_with("/api/") {
        As::Json
    } else {
        As::Html
    };
    let e = WebError::NotFound(format!("{}: no such page", uri.path()));
    error_response(&app, &e, how)
}

/// The router of the web view.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(buckets_page))
        .route("/api/buckets", get(buckets_api))
        .route("/bucket/{id}", get(bucket_page))
        .route("/api/bucket/{id}", get(bucket_api))
        .route("/report/{id}", get(report_page))
        .route("/report/{id}/log", get(report_log))
        .route("/api/report/{id}", get(report_api))
        .route("/machine/{name}", get(machine_page))
        .route("/api/machine/{name}", get(machine_api))
        .fallback(not_found)
        .with_state(app)
}

/// Serves until killed; `ready` is called with the bound address once connections are
/// accepted.
pub fn serve(opts: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
    let store = if opts.create {
        crate::store::open(&opts.db.to_string_lossy())?
    } else {
        crate::store::open_existing(&opts.db.to_string_lossy())?
    };
    let app = Arc::new(App::new(store, opts.symbolizer, opts.now));
    let listener = std::net::TcpListener::bind(opts.addr)
        .map_err(|e| format!("--http {}: cannot listen: {e}", opts.addr))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("--http {}: {e}", opts.addr))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("--http {}: {e}", opts.addr))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the web server: {e}"))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("--http {addr}: {e}"))?;
        ready(addr);
        let mut routes = router(app);
        if let Some(m) = opts.metrics {
            routes = crate::metrics::router(m).merge(routes);
        }
        axum::serve(listener, routes)
            .await
            .map_err(|e| format!("web server: {e}"))
    })
}
