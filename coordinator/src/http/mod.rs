//! The coordinator's HTTP port: the dashboard, `/metrics`, `/healthz` and `/livez`. Handlers
//! read the store and hand plain data to `pages` (pure rendering, everything escaped there).

mod pages;

use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::auth::{self, Role, Tokens};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::model::JobState;
use crate::store::JobStore;
use pages::Page;

#[derive(Clone)]
pub struct HttpState {
    pub store: JobStore,
    pub metrics: Arc<Metrics>,
    /// When set, pages and `/metrics` need the client token (bearer or login cookie).
    pub tokens: Option<Arc<Tokens>>,
    pub figures: Arc<FigureCache>,
}

/// Sweep pages' figures, kept per sweep. Reading and drawing a large sweep's nodes takes
/// about a second (1,000 runs × 100 nodes), and every open page of a running sweep asks
/// again two seconds after each answer. A sweep's figures are redrawn only when its progress
/// changed and the last drawing is older than [`REDRAW_COST_FACTOR`] times what it cost (and
/// [`REDRAW_MIN`]), so however many pages are open, a coordinator spends at most about a
/// fifth of a core drawing one sweep.
#[derive(Default)]
pub struct FigureCache {
    drawn: std::sync::Mutex<std::collections::HashMap<Uuid, Drawn>>,
}

#[derive(Clone)]
struct Drawn {
    progress: Progress,
    at: std::time::Instant,
    cost: std::time::Duration,
    html: Arc<str>,
}

/// What a sweep's figures depend on, cheaply: its state and its runs' counters.
#[derive(Clone, PartialEq, Eq)]
struct Progress {
    state: String,
    counters: Vec<(u32, u32, u32, u32, String)>,
}

impl Progress {
    fn of(sweep: &crate::store::SweepRecord, runs: &[crate::store::SweepRunCounts]) -> Progress {
        Progress {
            state: sweep.state.clone(),
            counters: runs
                .iter()
                .map(|r| (r.ok, r.buggy, r.succeeded, r.failed, r.state.clone()))
                .collect(),
        }
    }
}

const REDRAW_COST_FACTOR: u32 = 5;
const REDRAW_MIN: std::time::Duration = std::time::Duration::from_secs(2);
/// Sweeps whose figures are kept; the least recently drawn goes first.
const FIGURE_CACHE_SWEEPS: usize = 32;

impl FigureCache {
    /// The figures of `sweep` at `progress`: kept ones when they are still current or too
    /// fresh to redraw, otherwise `draw`n now; and how long ago kept ones that are behind
    /// the sweep were drawn.
    async fn get_or_draw<F>(
        &self,
        sweep: Uuid,
        progress: Progress,
        draw: impl FnOnce() -> F,
    ) -> Result<(Arc<str>, Option<std::time::Duration>), Error>
    where
        F: Future<Output = Result<String, Error>>,
    {
        let kept = self.lock().get(&sweep).cloned();
        if let Some(d) = kept {
            let redraw_after = (d.cost * REDRAW_COST_FACTOR).max(REDRAW_MIN);
            if d.progress == progress {
                return Ok((d.html, None));
            }
            if d.at.elapsed() < redraw_after {
                return Ok((d.html, Some(d.at.elapsed())));
            }
        }
        let started = std::time::Instant::now();
        let html: Arc<str> = draw().await?.into();
        let mut drawn = self.lock();
        if drawn.len() >= FIGURE_CACHE_SWEEPS && !drawn.contains_key(&sweep) {
            let oldest = drawn.iter().min_by_key(|(_, d)| d.at).map(|(id, _)| *id);
            drawn.remove(&oldest.expect("the cache is full"));
        }
        drawn.insert(
            sweep,
            Drawn {
                progress,
                at: started,
                cost: started.elapsed(),
                html: html.clone(),
            },
        );
        Ok((html, None))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Uuid, Drawn>> {
        // A panic while holding the map leaves nothing half-written worth refusing.
        self.drawn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The cookie the login form sets.
const TOKEN_COOKIE: &str = "randori_token";

pub fn router(state: HttpState) -> Router {
    let guarded = Router::new()
        .route("/", get(sweeps))
        .route("/sweeps/{id}", get(sweep))
        .route("/runs/{id}", get(run))
        .route("/compare", get(compare))
        .route("/nodes/{id}", get(node))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_client,
        ));
    Router::new()
        .merge(guarded)
        .route("/login", get(login_form).post(login))
        .route("/healthz", get(healthz))
        .route("/livez", get(livez))
        .route("/static/dashboard.css", get(stylesheet))
        .route("/static/live.js", get(script))
        .fallback(|| async { html(StatusCode::NOT_FOUND, &pages::not_found("page"), false) })
        .with_state(state)
}

/// The token a browser or a scraper presents: `Authorization: Bearer`, else the login cookie.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::bearer);
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(name, _)| *name == TOKEN_COOKIE)
            .map(|(_, value)| value)
    })
}

async fn require_client(
    State(s): State<HttpState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let Some(tokens) = &s.tokens else {
        return next.run(request).await;
    };
    match auth::check(tokens, Role::Client, presented(request.headers())) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::warn!(?refusal, path = %request.uri().path(), "HTTP request refused");
            let status = match refusal {
                auth::Refusal::WrongRole => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            html(
                status,
                &pages::login(refusal != auth::Refusal::Missing),
                false,
            )
        }
    }
}

async fn login_form() -> Response {
    html(StatusCode::OK, &pages::login(false), false)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    token: String,
}

/// A valid client token becomes an HttpOnly, same-site cookie; anything else is refused.
async fn login(State(s): State<HttpState>, Form(form): Form<LoginForm>) -> Response {
    let token = form.token.trim();
    let accepted = match &s.tokens {
        None => true,
        Some(tokens) => auth::check(tokens, Role::Client, Some(token)).is_ok(),
    };
    if !accepted || !token.chars().all(|c| c.is_ascii_graphic() && c != ';') {
        tracing::warn!("dashboard login refused");
        return html(StatusCode::UNAUTHORIZED, &pages::login(true), false);
    }
    let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    match HeaderValue::from_str(&cookie) {
        Ok(cookie) => (
            StatusCode::SEE_OTHER,
            [
                (header::SET_COOKIE, cookie),
                (header::LOCATION, HeaderValue::from_static("/")),
            ],
        )
            .into_response(),
        Err(_) => html(StatusCode::UNAUTHORIZED, &pages::login(true), false),
    }
}

pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await
}

/// How much of a running job's output its node page shows.
const LIVE_TAIL_BYTES: u64 = 16 << 10;

/// The browser may load nothing but this origin's own files: even markup that escaped
/// escaping could neither run inline script nor load any from elsewhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// A page, or only its `<main>` when the live-update script asks for it.
fn html(status: StatusCode, page: &Page, fragment: bool) -> Response {
    let body = if fragment {
        page.body.clone()
    } else {
        pages::document(page)
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if page.live {
        headers.insert("x-randori-live", HeaderValue::from_static("1"));
    }
    response
}

fn wants_fragment(headers: &HeaderMap) -> bool {
    headers.contains_key("x-randori-fragment")
}

/// A failed read as a page: unknown ids are 404, the rest 500 (and logged).
fn error_page(what: &str, e: Error, fragment: bool) -> Response {
    match e {
        Error::NotFound(_) => html(StatusCode::NOT_FOUND, &pages::not_found(what), fragment),
        e => {
            tracing::warn!(error = %e, what, "dashboard page failed");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                &pages::failure(&e.to_string()),
                fragment,
            )
        }
    }
}

/// A page about one stored thing: a malformed id is 400, an unknown one 404.
async fn page_of<Fut>(
    what: &str,
    id: &str,
    headers: &HeaderMap,
    read: impl FnOnce(Uuid) -> Fut,
) -> Response
where
    Fut: Future<Output = Result<Page, Error>>,
{
    let fragment = wants_fragment(headers);
    let Ok(id) = Uuid::parse_str(id) else {
        return html(StatusCode::BAD_REQUEST, &pages::bad_id(what, id), fragment);
    };
    match read(id).await {
        Ok(page) => html(StatusCode::OK, &page, fragment),
        Err(e) => error_page(what, e, fragment),
    }
}

async fn sweeps(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    let fragment = wants_fragment(&headers);
    let read = async {
        let mut rows = Vec::new();
        for sweep in s.store.sweep_list().await? {
            let runs = s.store.sweep_run_counts(sweep.id).await?;
            rows.push((sweep, runs));
        }
        Ok::<_, Error>(rows)
    };
    match read.await {
        Ok(rows) => html(StatusCode::OK, &pages::sweeps(&rows), fragment),
        Err(e) => error_page("sweeps", e, fragment),
    }
}

async fn sweep(State(s): State<HttpState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    page_of("sweep", &id, &headers, |id| {
        sweep_page(&s.store, Some(&s.figures), id)
    })
    .await
}

/// The sweep page: its runs and the report read for each request, the figures drawn when
/// `figures` has none current (or always, without a cache).
async fn sweep_page(
    store: &JobStore,
    figures: Option<&FigureCache>,
    id: Uuid,
) -> Result<Page, Error> {
    let sweep = store.sweep_get(id).await?;
    let runs = store.sweep_run_counts(id).await?;
    let report = store.sweep_report(&sweep).await?;
    let draw = || async {
        Ok(pages::sweep_figures(
            &report,
            &store.sweep_figure_runs(id).await?,
        ))
    };
    let (drawn, behind) = match figures {
        Some(cache) => {
            cache
                .get_or_draw(id, Progress::of(&sweep, &runs), draw)
                .await?
        }
        None => (draw().await?.into(), None),
    };
    Ok(pages::sweep(&sweep, &runs, &report, &drawn, behind))
}

/// The sweep page's whole HTML document as the dashboard serves it, its figures from
/// `figures` when it holds current ones, otherwise drawn afresh (for `bench scale`).
pub async fn sweep_page_html(
    store: &JobStore,
    figures: Option<&FigureCache>,
    id: Uuid,
) -> Result<String, Error> {
    Ok(pages::document(&sweep_page(store, figures, id).await?))
}

/// `/compare?sweep=A&sweep=B…`: the picked sweeps' arms compared as `sweep compare` does
/// (the same resamples and seed, so the page and the command agree).
async fn compare(
    State(s): State<HttpState>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let fragment = wants_fragment(&headers);
    let mut picked: Vec<Uuid> = Vec::new();
    for (key, value) in query.iter().filter(|(k, _)| k == "sweep") {
        match Uuid::parse_str(value) {
            Ok(id) if !picked.contains(&id) => picked.push(id),
            Ok(_) => {}
            Err(_) => {
                return html(
                    StatusCode::BAD_REQUEST,
                    &pages::bad_id(key, value),
                    fragment,
                );
            }
        }
    }
    match compare_page(&s.store, &picked).await {
        Ok(page) => html(StatusCode::OK, &page, fragment),
        Err(e) => error_page("sweep", e, fragment),
    }
}

/// The compare page of the `picked` sweeps (the first is the baseline).
async fn compare_page(store: &JobStore, picked: &[Uuid]) -> Result<Page, Error> {
    use randori_report::compare;
    let all = store.sweep_list().await?;
    let mut reports = Vec::with_capacity(picked.len());
    for id in picked {
        let sweep = store.sweep_get(*id).await?;
        reports.push(store.sweep_report(&sweep).await?);
    }
    let arms = compare::arms_of(&reports);
    let comparison = (arms.len() >= 2)
        .then(|| compare::compare(&arms, compare::DEFAULT_RESAMPLES, compare::DEFAULT_SEED));
    Ok(pages::compare(&all, picked, comparison.as_ref()))
}

/// The compare page's whole HTML document (for `bench scale`).
pub async fn compare_page_html(store: &JobStore, picked: &[Uuid]) -> Result<String, Error> {
    Ok(pages::document(&compare_page(store, picked).await?))
}

async fn run(State(s): State<HttpState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    page_of("run", &id, &headers, |id| run_page(&s.store, id)).await
}

/// The run page: its tree, its pick over time and its nodes.
async fn run_page(store: &JobStore, id: Uuid) -> Result<Page, Error> {
    let run = store.run_get(id).await?;
    let nodes = store.run_nodes(id).await?;
    let figure_runs = store.run_figure_runs(id).await?;
    Ok(pages::run(&run, &nodes, &figure_runs))
}

/// The run page's whole HTML document (for `bench scale`).
pub async fn run_page_html(store: &JobStore, id: Uuid) -> Result<String, Error> {
    Ok(pages::document(&run_page(store, id).await?))
}

async fn node(State(s): State<HttpState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    page_of("node", &id, &headers, |id| async move {
        let (node, run_id, job_id) = s.store.node_get(id).await?;
        let job = s.store.job_get(job_id).await?;
        let live = match job.state {
            JobState::Leased => Some(s.store.job_live_output(job_id, LIVE_TAIL_BYTES).await?),
            _ => None,
        };
        Ok(pages::node(&node, run_id, &job, live))
    })
    .await
}

async fn metrics(State(s): State<HttpState>) -> Response {
    match s.store.metrics_snapshot().await {
        Ok(snapshot) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            crate::metrics::render(&s.metrics, &snapshot),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "reading metrics");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("reading metrics: {e}\n"),
            )
                .into_response()
        }
    }
}

/// Ready when the database answers.
/// Alive: the process answers. Unlike `/healthz` it does not ask the database, so a liveness
/// probe on it does not restart every coordinator while Postgres is down (they would come
/// back to the same outage); readiness is `/healthz`.
async fn livez() -> &'static str {
    "ok\n"
}

/// Ready: the database answers.
async fn healthz(State(s): State<HttpState>) -> Response {
    match sqlx::query("SELECT 1").execute(s.store.pool()).await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}\n")).into_response(),
    }
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/dashboard.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/live.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(ok: u32) -> Progress {
        Progress {
            state: "running".into(),
            counters: vec![(ok, 0, ok, 0, "running".into())],
        }
    }

    #[tokio::test]
    async fn figures_are_redrawn_only_when_the_sweep_moved_on_and_they_are_old_enough() {
        let cache = FigureCache::default();
        let sweep = Uuid::now_v7();
        let draws = std::sync::atomic::AtomicU32::new(0);
        let draw = || async {
            let n = draws.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            Ok(format!("drawing {n}"))
        };
        let (html, behind) = cache.get_or_draw(sweep, progress(1), draw).await.unwrap();
        assert_eq!((&*html, behind), ("drawing 1", None));
        // Nothing changed: the same drawing, current.
        let (html, behind) = cache.get_or_draw(sweep, progress(1), draw).await.unwrap();
        assert_eq!((&*html, behind), ("drawing 1", None));
        // The sweep moved on, but the drawing is younger than REDRAW_MIN: kept, and said to
        // be behind.
        let (html, behind) = cache.get_or_draw(sweep, progress(2), draw).await.unwrap();
        assert_eq!(&*html, "drawing 1");
        assert!(behind.is_some_and(|age| age < REDRAW_MIN));
        // Another sweep has its own drawing.
        let (html, _) = cache
            .get_or_draw(Uuid::now_v7(), progress(1), draw)
            .await
            .unwrap();
        assert_eq!(&*html, "drawing 2");
        // Once old enough, the moved-on sweep is drawn again.
        cache.lock().get_mut(&sweep).unwrap().at -= REDRAW_MIN;
        let (html, behind) = cache.get_or_draw(sweep, progress(2), draw).await.unwrap();
        assert_eq!((&*html, behind), ("drawing 3", None));
    }

    #[tokio::test]
    async fn the_cache_keeps_a_bounded_number_of_sweeps() {
        let cache = FigureCache::default();
        for _ in 0..FIGURE_CACHE_SWEEPS + 5 {
            let draw = || async { Ok(String::from("figures")) };
            cache
                .get_or_draw(Uuid::now_v7(), progress(0), draw)
                .await
                .unwrap();
        }
        assert_eq!(cache.lock().len(), FIGURE_CACHE_SWEEPS);
    }
}
