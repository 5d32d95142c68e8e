//! The addresses the view answers, each read in a blocking task on a store opened to read
//! only; what goes wrong (no such run, a damaged store) is an error page with its status
//! code, never a crash.

use super::{Config, auth, pages, pages_detail, queries, sse};
use crate::state::{Answer, AnswerRefused, StateError, Store};
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use maud::Markup;
use std::path::PathBuf;
use std::sync::Arc;

/// What every handler shares.
#[derive(Clone)]
pub(super) struct App {
    /// The state database.
    pub(super) state: Arc<PathBuf>,
    /// Whether a token guards the view (approvals are answered only then).
    pub(super) can_answer: bool,
}

/// Why a page is not shown: its status code and what to say.
pub(super) struct PageError(pub(super) StatusCode, pub(super) String);

impl From<StateError> for PageError {
    fn from(e: StateError) -> PageError {
        let status = match &e {
            StateError::NoRun(_) => StatusCode::NOT_FOUND,
            StateError::Ambiguous(..) => StatusCode::BAD_REQUEST,
            StateError::Open { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        PageError(status, e.to_string())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        pages::error_page(self.0, &self.1)
    }
}

/// Runs `f` on the store, opened to read only, in a blocking task.
pub(super) async fn read<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&Store) -> Result<T, PageError> + Send + 'static,
) -> Result<T, PageError> {
    let path = app.state.clone();
    tokio::task::spawn_blocking(move || f(&Store::open_read_only(&path)?))
        .await
        .unwrap_or_else(|e| {
            Err(PageError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("[serve-internal] the page failed: {e}"),
            ))
        })
}

fn page(m: Markup) -> Html<String> {
    Html(m.into_string())
}

/// The view's routes.
pub(super) fn router(config: Config) -> Router {
    let app = App {
        state: Arc::new(config.state),
        can_answer: config.token.is_some(),
    };
    Router::new()
        .route("/", get(list))
        .route("/parts/runs", get(runs_part))
        .route("/runs/{id}", get(run))
        .route("/runs/{id}/ops", get(ops))
        .route("/runs/{id}/parts/{part}", get(part))
        .route("/runs/{id}/steps/{*key}", get(step))
        .route("/runs/{id}/events", get(sse::events))
        .route("/runs/{id}/approvals/{*target}", post(answer))
        .route("/assets/style.css", get(style))
        .route("/assets/app.js", get(script))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            Arc::new(config.token),
            auth::guard,
        ))
        .with_state(app)
}

async fn list(State(app): State<App>) -> Result<Html<String>, PageError> {
    let runs = read(&app, |s| Ok(queries::runs(s)?)).await?;
    Ok(page(pages::run_list(&runs)))
}

/// The run list's table, redrawn by the list page while it is shown.
async fn runs_part(State(app): State<App>) -> Result<Html<String>, PageError> {
    let runs = read(&app, |s| Ok(queries::runs(s)?)).await?;
    Ok(page(pages::runs_table(&runs)))
}

async fn run(State(app): State<App>, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let can_answer = app.can_answer;
    read(&app, move |s| {
        Ok(page(pages::run_page(&queries::run(s, &id)?, can_answer)))
    })
    .await
}

/// A part of a run's page, redrawn: `flow` (the workflow's graph), `timeline` or
/// `approvals`.
async fn part(
    State(app): State<App>,
    Path((id, part)): Path<(String, String)>,
) -> Result<Html<String>, PageError> {
    if part == "approvals" {
        let can_answer = app.can_answer;
        return read(&app, move |s| {
            Ok(page(pages::approvals_part(
                &queries::run(s, &id)?,
                can_answer,
            )))
        })
        .await;
    }
    let draw = match part.as_str() {
        "flow" => pages::flow_part,
        "timeline" => pages::timeline_part,
        _ => {
            return Err(PageError(
                StatusCode::NOT_FOUND,
                format!("no part `{part}`"),
            ));
        }
    };
    read(&app, move |s| Ok(page(draw(&queries::run(s, &id)?)))).await
}

async fn ops(State(app): State<App>, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    read(&app, move |s| {
        let v = queries::run(s, &id)?;
        let o = super::ops::ops(&v.log, &v.kinds, std::path::Path::new(&v.info.workspace));
        Ok(page(pages_detail::ops_page(&v, &o)))
    })
    .await
}

async fn step(
    State(app): State<App>,
    Path((id, key)): Path<(String, String)>,
) -> Result<Html<String>, PageError> {
    read(&app, move |s| {
        let v = queries::run(s, &id)?;
        let starts: Vec<_> = s
            .step_starts(&v.info.id)?
            .into_iter()
            .filter(|st| st.key == key)
            .collect();
        // Its own and those of the steps inside it (a loop's attempts, a for-each's stories).
        let inside = format!("{key}/");
        let transcripts: Vec<_> = s
            .transcripts(&v.info.id, Some(&key), 0)?
            .into_iter()
            .filter(|t| t.step == key || t.step.starts_with(&inside))
            .collect();
        if starts.is_empty() && !v.tasks.iter().any(|t| t.step == key) && transcripts.is_empty() {
            return Err(PageError(
                StatusCode::NOT_FOUND,
                format!("run {} has no step `{key}`", v.info.id),
            ));
        }
        Ok(page(pages_detail::step_page(
            &v,
            &key,
            &starts,
            &transcripts,
        )))
    })
    .await
}

/// An answer from the approval form.
#[derive(serde::Deserialize)]
struct AnswerForm {
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    by: String,
}

async fn answer(
    State(app): State<App>,
    Path((id, target)): Path<(String, String)>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let approved = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(PageError(
                StatusCode::BAD_REQUEST,
                format!("[serve-decision] `{other}` is neither approve nor reject"),
            ));
        }
    };
    let nonempty = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let answer = Answer {
        approved,
        reason: nonempty(form.reason),
        by: nonempty(form.by),
    };
    let path = app.state.clone();
    let run = tokio::task::spawn_blocking(move || {
        // Opened to write only for this; the file must be there (nothing is created).
        if !path.is_file() {
            return Err(PageError(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("no state file at `{}`", path.display()),
            ));
        }
        let mut store = Store::open(&path)?;
        let run = store.run(&id)?.id;
        store
            .answer_approval(&run, &target, &answer)
            .map_err(|e| match e {
                AnswerRefused::State(e) => PageError::from(e),
                refused => PageError(StatusCode::CONFLICT, refused.to_string()),
            })?;
        Ok(run)
    })
    .await
    .unwrap_or_else(|e| {
        Err(PageError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("[serve-internal] {e}"),
        ))
    })?;
    Ok(Redirect::to(&format!("/runs/{}", super::gantt::escape(&run))).into_response())
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        pages::STYLE,
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        pages::SCRIPT,
    )
}

async fn not_found() -> Response {
    pages::error_page(StatusCode::NOT_FOUND, "no such page")
}
