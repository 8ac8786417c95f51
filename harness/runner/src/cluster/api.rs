//! The cluster target's client of the API server. Requests go through kube's client as raw
//! HTTP (`Client::send`), because kube's typed API drops the `Warning` headers that carry
//! PSA's warnings and keeps only part of a refusal. On top of it: a client-side rate limit
//! (a token bucket shared by every request of the run) and retries, with backoff, for
//! transient failures only (429, 500, 502, 503, 504, a reset or refused connection).

use std::time::{Duration, Instant};

use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

/// A failure to get an answer from the API server; the text names the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("API server {endpoint}: {message}")]
pub struct ApiError {
    pub endpoint: String,
    pub message: String,
}

/// An API server's answer: the status code, its `Warning` texts and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub code: u16,
    pub warnings: Vec<String>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The body as `T`, or a message saying what it was instead.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("unexpected answer ({e}): {}", snippet(&self.body)))
    }

    /// The refusal (`Status`) in the body, when the answer is one.
    pub fn status(&self) -> Option<ApiStatus> {
        let status: ApiStatus = serde_json::from_slice(&self.body).ok()?;
        (status.kind == "Status").then_some(status)
    }
}

/// The fields of a `meta/v1` `Status` the harness reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct ApiStatus {
    pub kind: String,
    pub code: u16,
    pub reason: String,
    pub message: String,
}

/// How often to retry and how fast to send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pacing {
    /// Requests per second across the run (0: unlimited).
    pub qps: f64,
    /// Requests that may go at once before the rate applies.
    pub burst: u32,
    /// Retries of a transient failure (so at most `retries + 1` attempts).
    pub retries: u32,
    /// The first backoff; it doubles per retry (capped at 5 s) unless the server sends
    /// `Retry-After`.
    pub backoff: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            qps: 100.0,
            burst: 20,
            retries: 4,
            backoff: Duration::from_millis(200),
        }
    }
}

/// The API server client of one run.
pub struct Api {
    client: kube::Client,
    endpoint: String,
    pacing: Pacing,
    bucket: tokio::sync::Mutex<Bucket>,
}

impl Api {
    /// A client for `config` (its `default_retry` is turned off: retries are ours).
    pub fn new(mut config: kube::Config, pacing: Pacing) -> Result<Api, ApiError> {
        let endpoint = config.cluster_url.to_string();
        config.default_retry = false;
        if config.read_timeout.is_none() {
            config.read_timeout = Some(Duration::from_secs(60));
        }
        let client = kube::Client::try_from(config).map_err(|e| ApiError {
            endpoint: endpoint.clone(),
            message: format!("cannot build a client: {e}"),
        })?;
        Ok(Api {
            client,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            pacing,
            bucket: tokio::sync::Mutex::new(Bucket::new(pacing)),
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn error(&self, message: impl Into<String>) -> ApiError {
        ApiError {
            endpoint: self.endpoint.clone(),
            message: message.into(),
        }
    }

    /// Send a request (JSON body, if any) and read the whole answer. Transient failures are
    /// retried; what is still failing after the retries is returned as it came (an HTTP
    /// answer) or as an error (no answer at all).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&str, String)],
    ) -> Result<ApiResponse, ApiError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| self.error(format!("cannot encode the request: {e}")))?;
        let mut attempt = 0;
        loop {
            self.wait_for_slot().await;
            let result = self
                .send_once(&method, path, body.as_deref(), headers)
                .await;
            let delay = match &result {
                Ok((response, retry_after)) if is_transient_status(response.code) => {
                    retry_after.unwrap_or_else(|| self.backoff(attempt))
                }
                Err(e) if e.transient => self.backoff(attempt),
                _ => Duration::ZERO,
            };
            if delay.is_zero() || attempt >= self.pacing.retries {
                return result
                    .map(|(r, _)| r)
                    .map_err(|e| self.error(format!("{method} {path}: {}", e.message)));
            }
            attempt += 1;
            tokio::time::sleep(delay).await;
        }
    }

    /// GET a JSON document.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let response = self.send(Method::GET, path, None, &[]).await?;
        if !response.is_success() {
            return Err(self.error(format!(
                "GET {path}: HTTP {}: {}",
                response.code,
                refusal_text(&response)
            )));
        }
        response
            .json()
            .map_err(|e| self.error(format!("GET {path}: {e}")))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt);
        (self.pacing.backoff * factor).min(Duration::from_secs(5))
    }

    async fn wait_for_slot(&self) {
        let wait = self.bucket.lock().await.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, String)],
    ) -> Result<(ApiResponse, Option<Duration>), SendError> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(http::header::ACCEPT, "application/json");
        let typed = headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !typed {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        let request = builder
            .body(kube::client::Body::from(body.unwrap_or_default().to_vec()))
            .map_err(|e| SendError::fatal(format!("cannot build the request: {e}")))?;
        let response = self
            .client
            .send(request)
            .await
            .map_err(SendError::of_kube)?;
        let code = response.status().as_u16();
        let warnings = warning_texts(response.headers().get_all(http::header::WARNING).iter());
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(10)));
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| SendError::transient(format!("reading the answer: {e}")))?
            .to_bytes()
            .to_vec();
        Ok((
            ApiResponse {
                code,
                warnings,
                body,
            },
            retry_after,
        ))
    }
}

/// A failed attempt, and whether another may succeed.
struct SendError {
    message: String,
    transient: bool,
}

impl SendError {
    fn fatal(message: String) -> Self {
        SendError {
            message,
            transient: false,
        }
    }

    fn transient(message: String) -> Self {
        SendError {
            message,
            transient: true,
        }
    }

    /// kube's error: hyper and service (connection) errors may pass; others will not.
    fn of_kube(e: kube::Error) -> Self {
        let message = error_chain(&e);
        let transient = matches!(e, kube::Error::HyperError(_) | kube::Error::Service(_))
            && !message.contains("certificate")
            && !message.contains("InvalidCertificate");
        SendError { message, transient }
    }
}

/// Whether an HTTP status is worth another attempt.
pub fn is_transient_status(code: u16) -> bool {
    matches!(
        StatusCode::from_u16(code),
        Ok(StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT)
    )
}

/// A refusal's message, else the start of the body.
pub fn refusal_text(response: &ApiResponse) -> String {
    match response.status() {
        Some(s) if !s.message.is_empty() => s.message,
        _ => snippet(&response.body),
    }
}

/// An error and its sources, `a: b: c`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The start of a body for an error message.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None if text.is_empty() => "(empty body)".to_owned(),
        None => text.to_owned(),
    }
}

/// A token bucket: `burst` requests at once, then one per `1/qps` seconds.
#[derive(Debug)]
struct Bucket {
    interval: Duration,
    burst: Duration,
    /// When the next request would go if the bucket were empty (GCRA's theoretical
    /// arrival time).
    next: Option<Instant>,
}

impl Bucket {
    fn new(pacing: Pacing) -> Self {
        let interval = match pacing.qps > 0.0 {
            true => Duration::from_secs_f64(1.0 / pacing.qps),
            false => Duration::ZERO,
        };
        Bucket {
            interval,
            burst: interval * pacing.burst.saturating_sub(1),
            next: None,
        }
    }

    /// Reserve a slot at `now`; how long to wait for it.
    fn reserve(&mut self, now: Instant) -> Duration {
        if self.interval.is_zero() {
            return Duration::ZERO;
        }
        let floor = now.checked_sub(self.burst).unwrap_or(now);
        let next = self.next.map_or(floor, |n| n.max(floor));
        self.next = Some(next + self.interval);
        next.saturating_duration_since(now)
    }
}

/// The texts of `Warning` header values (`299 - "text"`, possibly several per value,
/// comma-separated, RFC 7234 section 5.5). A value that does not parse is kept whole.
pub fn warning_texts<'a>(values: impl Iterator<Item = &'a http::HeaderValue>) -> Vec<String> {
    let mut out = Vec::new();
    for value in values {
        let text = String::from_utf8_lossy(value.as_bytes());
        match parse_warning_value(&text) {
            Some(texts) => out.extend(texts),
            None => out.push(text.into_owned()),
        }
    }
    out
}

/// `code SP agent SP "text" [SP "date"]`, comma-separated; `None` if it is not that.
fn parse_warning_value(value: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = value.trim_start();
    loop {
        let (code, after) = rest.split_once(' ')?;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (_agent, after) = after.split_once(' ')?;
        let (text, after) = quoted(after)?;
        out.push(text);
        rest = after.trim_start();
        if let Some(date) = rest.strip_prefix('"') {
            rest = &date[date.find('"')? + 1..];
            rest = rest.trim_start();
        }
        match rest.strip_prefix(',') {
            Some(next) => rest = next.trim_start(),
            None if rest.is_empty() => return Some(out),
            None => return None,
        }
    }
}

/// A quoted string at the start of `text` (backslash escapes undone), and what follows.
fn quoted(text: &str) -> Option<(String, &str)> {
    let inner = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &inner[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain(r#"299 - "would violate PodSecurity \"baseline:latest\": privileged""#,
        &[r#"would violate PodSecurity "baseline:latest": privileged"#])]
    #[case::two(r#"299 - "a", 299 - "b, c""#, &["a", "b, c"])]
    #[case::dated(r#"299 kube "a" "Sat, 06 Dec 2026 10:00:00 GMT", 199 - "b""#, &["a", "b"])]
    #[case::garbage("not a warning", &["not a warning"])]
    #[case::unterminated(r#"299 - "open"#, &[r#"299 - "open"#])]
    fn warning_headers_are_unquoted(#[case] value: &str, #[case] expected: &[&str]) {
        let header = http::HeaderValue::from_str(value).unwrap();
        assert_eq!(warning_texts([&header].into_iter()), expected);
    }

    #[test]
    fn the_bucket_lets_a_burst_through_then_paces() {
        let mut bucket = Bucket::new(Pacing {
            qps: 10.0,
            burst: 3,
            ..Pacing::default()
        });
        let now = Instant::now();
        let waits: Vec<Duration> = (0..5).map(|_| bucket.reserve(now)).collect();
        assert_eq!(&waits[..3], [Duration::ZERO; 3]);
        assert_eq!(waits[3], Duration::from_millis(100));
        assert_eq!(waits[4], Duration::from_millis(200));
        let later = now + Duration::from_secs(10);
        assert_eq!(
            bucket.reserve(later),
            Duration::ZERO,
            "a rested bucket refills"
        );
    }

    #[test]
    fn an_unlimited_bucket_never_waits() {
        let mut bucket = Bucket::new(Pacing {
            qps: 0.0,
            ..Pacing::default()
        });
        let now = Instant::now();
        assert!((0..1000).all(|_| bucket.reserve(now).is_zero()));
    }

    #[rstest]
    #[case(429, true)]
    #[case(500, true)]
    #[case(503, true)]
    #[case(504, true)]
    #[case(400, false)]
    #[case(403, false)]
    #[case(422, false)]
    #[case(409, false)]
    fn only_transient_statuses_are_retried(#[case] code: u16, #[case] transient: bool) {
        assert_eq!(is_transient_status(code), transient);
    }

    #[test]
    fn a_status_body_is_read_and_other_bodies_are_not() {
        let forbidden = ApiResponse {
            code: 403,
            warnings: vec![],
            body: br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"m","reason":"Forbidden","code":403}"#.to_vec(),
        };
        let status = forbidden.status().unwrap();
        assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
        assert_eq!(refusal_text(&forbidden), "m");
        let html = ApiResponse {
            code: 502,
            warnings: vec![],
            body: b"<html>bad gateway</html>".to_vec(),
        };
        assert_eq!(html.status(), None);
        assert_eq!(refusal_text(&html), "<html>bad gateway</html>");
    }
}
